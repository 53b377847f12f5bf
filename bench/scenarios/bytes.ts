/**
 * Scenario 8: the cost of a byte limit. The unkeyed insert of scenario 1 (N fresh items, a yield
 * every 512, a final flush; batch size 512, interval 5000 ms, 100 000 items held) with
 * `maxBatchBytes` and a cheap `sizeOf`, with `maxBatchBytes` and the default `sizeOf` (UTF-8
 * length of `JSON.stringify`), and without `maxBatchBytes`. The limit is set above what 512 items
 * weigh, so every contender gets the same batches and the difference is the cost of measuring.
 * Reported, no target.
 */
import { Item, makeItem } from '../common/item';
import { createBuffer, libraryAvailable, libraryError, optionRefusal, type BenchBuffer, type BenchOptions } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { Sink, isBufferFull, yieldToLoop } from '../common/sink';
import { cpuMsSince, fmtInt, fmtPct, fmtRate, fmtRatio, max, median, min, pairedRatio } from '../common/stats';
import { interleaved, type Contender } from '../common/trials';
import * as profiler from '../common/profiler';
import type { BenchConfig } from '../common/config';
import type { Measure } from './unkeyed';

const BATCH = 512;
const YIELD_EVERY = 512;
const INTERVAL = 5000;
const LIMIT = 100_000;
const PARTITION_COUNTS = [1, 4];
/** 1 MiB: far above 512 items of ~40 bytes, so the count limit seals every batch. */
const MAX_BATCH_BYTES = 1 << 20;
/** A cheap size: fixed fields plus the one string's length. */
const cheapSizeOf = (item: Item): number => 24 + item.tag.length;

type Variant = 'without' | 'cheap' | 'default';
const VARIANTS: Variant[] = ['without', 'cheap', 'default'];

function variantOptions(variant: Variant, partitions: number): BenchOptions<Item> {
  const base: BenchOptions<Item> = { partitions, maxSize: BATCH, interval: INTERVAL, capacity: LIMIT, overflow: 'reject' };
  if (variant === 'cheap') return { ...base, maxBatchBytes: MAX_BATCH_BYTES, sizeOf: cheapSizeOf };
  if (variant === 'default') return { ...base, maxBatchBytes: MAX_BATCH_BYTES };
  return base;
}

const names: Record<Variant, (p: number) => string> = {
  without: (p) => `DataBuffer without maxBatchBytes (partitions ${p})`,
  cheap: (p) => `DataBuffer maxBatchBytes, cheap sizeOf (partitions ${p})`,
  default: (p) => `DataBuffer maxBatchBytes, default sizeOf (partitions ${p})`,
};

function measure(t0: number, c0: NodeJS.CpuUsage, offered: number, sink: Sink, rejected: number): Measure {
  const ms = performance.now() - t0;
  const cpu = cpuMsSince(c0);
  return {
    ms: Math.round(ms * 10) / 10,
    rate: Math.round((offered / ms) * 1000),
    cpuRate: Math.round((offered / cpu) * 1000),
    offered,
    delivered: sink.delivered,
    rejected,
  };
}

// One driver per variant (separate functions, so no call site is shared between them).

async function driveWithout(buffer: BenchBuffer<Item>, n: number, sink: Sink): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      try {
        buffer.insert(makeItem(i));
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  await buffer.flush();
  const m = measure(t0, c0, n, sink, rejected);
  await profiler.end('bytes-without');
  return m;
}

async function driveCheap(buffer: BenchBuffer<Item>, n: number, sink: Sink): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      try {
        buffer.insert(makeItem(i));
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  await buffer.flush();
  const m = measure(t0, c0, n, sink, rejected);
  await profiler.end('bytes-cheap');
  return m;
}

async function driveDefault(buffer: BenchBuffer<Item>, n: number, sink: Sink): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      try {
        buffer.insert(makeItem(i));
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  await buffer.flush();
  const m = measure(t0, c0, n, sink, rejected);
  await profiler.end('bytes-default');
  return m;
}

const DRIVERS: Record<Variant, (buffer: BenchBuffer<Item>, n: number, sink: Sink) => Promise<Measure>> = {
  without: driveWithout,
  cheap: driveCheap,
  default: driveDefault,
};

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const n = config.items;
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const refusal = haveLib ? await optionRefusal<Item>(variantOptions('cheap', 1)) : libraryError();
  if (haveLib && refusal) log(`  maxBatchBytes not available: ${refusal}`);

  const contenders: Contender<Measure>[] = [];
  for (const partitions of PARTITION_COUNTS) {
    for (const variant of VARIANTS) {
      if (!haveLib || (variant !== 'without' && refusal !== null)) continue;
      contenders.push({
        name: names[variant](partitions),
        run: async () => {
          const sink = new Sink();
          const buffer = createBuffer<Item>(variantOptions(variant, partitions), { onFlush: sink.handle });
          const m = await DRIVERS[variant](buffer, n, sink);
          await buffer.close(5000);
          return m;
        },
      });
    }
  }

  const results = await interleaved(contenders, config.warmup, config.trials, log);
  const summary = new Map<string, { median: number; min: number; max: number; cpuMedian: number; delivered: number; offered: number }>();
  for (const [name, ms] of results) {
    summary.set(name, {
      median: median(ms.map((m) => m.rate)),
      min: min(ms.map((m) => m.rate)),
      max: max(ms.map((m) => m.rate)),
      cpuMedian: median(ms.map((m) => m.cpuRate)),
      delivered: ms.reduce((s, m) => s + m.delivered, 0),
      offered: ms.reduce((s, m) => s + m.offered, 0),
    });
  }
  const rates = (name: string): number[] | undefined => results.get(name)?.map((m) => m.rate);
  const rows: string[][] = [];
  for (const partitions of PARTITION_COUNTS) {
    const without = summary.get(names.without(partitions));
    for (const variant of VARIANTS) {
      const name = names[variant](partitions);
      const s = summary.get(name);
      if (!s) {
        rows.push([name, 'not available', '–', '–', '–', '–', '–']);
        continue;
      }
      rows.push([
        name,
        fmtRate(s.median),
        `${fmtRate(s.min)} – ${fmtRate(s.max)}`,
        fmtPct(s.delivered, s.offered),
        without ? fmtRatio(s.median / without.median) : 'n/a',
        without ? fmtRatio(pairedRatio(rates(name), rates(names.without(partitions)))) : 'n/a',
        without ? fmtRatio(s.cpuMedian / without.cpuMedian) : 'n/a',
      ]);
    }
  }
  // reported, not a target: the table carries the cost
  const targets: TargetResult[] = [];
  const notes: string[] = [];
  if (!haveLib) notes.push(`DataBuffer not measured: ${libraryError()}`);
  else if (refusal !== null) notes.push(`maxBatchBytes not available: ${refusal}`);
  return {
    id: 'bytes',
    title: '8. Byte limit (maxBatchBytes)',
    setup:
      `The unkeyed insert of scenario 1: ${fmtInt(n)} fresh 3-field objects per trial, batch size ${BATCH}, interval ${INTERVAL} ms, ` +
      `at most ${fmtInt(LIMIT)} items held, a yield every ${YIELD_EVERY} items, timed until the final flush delivered everything. ` +
      `\`maxBatchBytes\` ${fmtInt(MAX_BATCH_BYTES)} (far above what ${BATCH} items weigh, so every contender gets the same batches ` +
      `and the difference is the cost of measuring), with a cheap \`sizeOf\` (\`24 + item.tag.length\`) and with the default one ` +
      `(UTF-8 length of \`JSON.stringify(item)\`), against the same buffer without \`maxBatchBytes\`. Reported, no target. ` +
      `${config.warmup} warm-up + ${config.trials} interleaved trials per contender, median.`,
    columns: ['contender', 'items/s (median)', 'range', 'delivered', 'vs without', 'per-round vs without', 'CPU time: vs without'],
    rows,
    targets,
    notes,
    data: { items: n, maxBatchBytes: MAX_BATCH_BYTES, trials: Object.fromEntries(results), summary: Object.fromEntries(summary) },
  };
}
