/**
 * Scenario 7: coalescing. N increments per trial (fresh `{ key, n: 1 }` objects), keys drawn from
 * a fixed pseudo-random sequence over 1,000 and over 100,000 keys, inserted into a coalescing
 * buffer (`coalesce.merge` adds into the pending value) in a loop that yields every 512
 * increments, then a final flush; timed until every value has reached the handler. Against a bare
 * `Map<key, sum>` with the same triggers. A second set of runs measures the heap held by the
 * pending values after N/4 and after N increments (nothing flushes): bytes per key.
 */
import { createBuffer, libraryAvailable, libraryError, optionRefusal, type BenchBuffer, type BenchOptions } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { isBufferFull, yieldToLoop } from '../common/sink';
import { fmtInt, fmtPct, fmtRate, fmtRatio, fmtTarget, max, median, min, pairedRatio, cpuMsSince } from '../common/stats';
import { fullGc, interleaved, type Contender } from '../common/trials';
import * as profiler from '../common/profiler';
import type { BenchConfig } from '../common/config';
import { BareSumMap } from '../baselines/bare-coalesce';
import { keySequence } from '../common/keys';

/** One increment of a counter: a fresh object per call, as an app would create it. */
class Increment {
  key: string;
  n: number;
  constructor(key: string, n: number) {
    this.key = key;
    this.n = n;
  }
}

const KEY_COUNTS = [1_000, 100_000];
const PARTITION_COUNTS = [1, 4];
const YIELD_EVERY = 512;
const MAX_VALUES = 100_000;
const INTERVAL = 5000;
const CAPACITY = 200_000;

/** A counter's merge: add into the value already pending and keep it (no allocation per merge). */
const COALESCE = {
  key: (item: Increment): string => item.key,
  merge: (pending: Increment, next: Increment): Increment => {
    pending.n += next.n;
    return pending;
  },
};

interface Measure {
  ms: number;
  /** increments per second */
  rate: number;
  cpuRate: number;
  offered: number;
  /** the sum of every delivered value: each increment counts once */
  delivered: number;
  /** values handed to the handler */
  values: number;
  rejected: number;
}

/** Counts what reached the handler: values, and the increments they carry. */
class CountingSink {
  values = 0;
  increments = 0;
  calls = 0;
  readonly handleValues = async (values: readonly Increment[]): Promise<void> => {
    this.calls++;
    this.values += values.length;
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[i].n;
    this.increments += sum;
  };
  readonly handleSums = async (sums: Map<string, number>): Promise<void> => {
    this.calls++;
    this.values += sums.size;
    let sum = 0;
    for (const n of sums.values()) sum += n;
    this.increments += sum;
  };
}

function measure(t0: number, c0: NodeJS.CpuUsage, offered: number, sink: CountingSink, rejected: number): Measure {
  const ms = performance.now() - t0;
  const cpu = cpuMsSince(c0);
  return {
    ms: Math.round(ms * 10) / 10,
    rate: Math.round((offered / ms) * 1000),
    cpuRate: Math.round((offered / cpu) * 1000),
    offered,
    delivered: sink.increments,
    values: sink.values,
    rejected,
  };
}

// One driver per contender kind (separate functions, so each call site stays monomorphic).

async function driveBuffer(buffer: BenchBuffer<Increment>, n: number, keys: string[], seq: Uint32Array, sink: CountingSink): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      try {
        buffer.insert(new Increment(keys[seq[i]], 1));
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  await buffer.flush();
  const m = measure(t0, c0, n, sink, rejected);
  await profiler.end('coalesce-databuffer');
  return m;
}

async function driveBare(bare: BareSumMap<string>, n: number, keys: string[], seq: Uint32Array, sink: CountingSink): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      const inc = new Increment(keys[seq[i]], 1);
      try {
        bare.add(inc.key, inc.n);
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  await bare.flush();
  const m = measure(t0, c0, n, sink, rejected);
  await profiler.end('coalesce-bare-map');
  return m;
}

interface HeapMeasure {
  /** keys pending and bytes held per key after a quarter of the increments */
  quarterKeys: number;
  quarterBytesPerKey: number;
  /** the same after all of them */
  keys: number;
  bytesPerKey: number;
  /** bytes held after all increments ÷ increments */
  bytesPerIncrement: number;
}

function heapUsed(): number {
  fullGc();
  return process.memoryUsage().heapUsed;
}

function heapMeasure(before: number, quarter: number, quarterKeys: number, after: number, keys: number, n: number): HeapMeasure {
  const round = (v: number): number => Math.round(v * 10) / 10;
  return {
    quarterKeys,
    quarterBytesPerKey: round((quarter - before) / quarterKeys),
    keys,
    bytesPerKey: round((after - before) / keys),
    bytesPerIncrement: Math.round(((after - before) / n) * 100) / 100,
  };
}

const names = {
  buffer: (keys: number, p: number) => `${fmtInt(keys)} keys: DataBuffer coalesce (partitions ${p})`,
  bare: (keys: number) => `${fmtInt(keys)} keys: bare Map<key, sum>`,
};

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    throw new Error('the coalesce scenario needs node --expose-gc');
  }
  const n = config.coalesceItems;
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const options = (partitions: number): BenchOptions<Increment> => ({
    partitions,
    maxSize: MAX_VALUES,
    interval: INTERVAL,
    capacity: CAPACITY,
    overflow: 'reject',
    coalesce: COALESCE,
  });
  const refusal = haveLib ? await optionRefusal<Increment>(options(1)) : libraryError();
  if (haveLib && refusal) log(`  coalesce not available: ${refusal}`);
  const lib = refusal === null;

  const contenders: Contender<Measure>[] = [];
  const heapContenders: Contender<HeapMeasure>[] = [];
  for (const keyCount of KEY_COUNTS) {
    const keys = Array.from({ length: keyCount }, (_, k) => `page-${k}`);
    const seq = keySequence(n, keyCount, 0xc0a1 + keyCount);
    if (lib) {
      for (const partitions of PARTITION_COUNTS) {
        contenders.push({
          name: names.buffer(keyCount, partitions),
          run: async () => {
            const sink = new CountingSink();
            const buffer = createBuffer<Increment>(options(partitions), { onFlush: sink.handleValues });
            const m = await driveBuffer(buffer, n, keys, seq, sink);
            await buffer.close(5000);
            return m;
          },
        });
      }
      heapContenders.push({
        name: names.buffer(keyCount, 1),
        run: async () => {
          const buffer = createBuffer<Increment>(
            { partitions: 1, maxSize: keyCount * 2, capacity: keyCount * 2, interval: 3_600_000, coalesce: COALESCE },
            { onFlush: () => undefined },
          );
          const quarter = n >> 2;
          const before = heapUsed();
          for (let i = 0; i < quarter; i++) buffer.insert(new Increment(keys[seq[i]], 1));
          const atQuarter = heapUsed();
          const quarterKeys = buffer.stats().pending;
          for (let i = quarter; i < n; i++) buffer.insert(new Increment(keys[seq[i]], 1));
          const after = heapUsed();
          const held = buffer.stats().pending;
          await buffer.close(5000);
          return heapMeasure(before, atQuarter, quarterKeys, after, held, n);
        },
      });
    }
    contenders.push({
      name: names.bare(keyCount),
      run: async () => {
        const sink = new CountingSink();
        const bare = new BareSumMap<string>(MAX_VALUES, INTERVAL, CAPACITY, sink.handleSums);
        return driveBare(bare, n, keys, seq, sink);
      },
    });
    heapContenders.push({
      name: names.bare(keyCount),
      run: async () => {
        const bare = new BareSumMap<string>(keyCount * 2, 3_600_000, keyCount * 2, async () => undefined);
        const quarter = n >> 2;
        const before = heapUsed();
        for (let i = 0; i < quarter; i++) {
          const inc = new Increment(keys[seq[i]], 1);
          bare.add(inc.key, inc.n);
        }
        const atQuarter = heapUsed();
        const quarterKeys = bare.keys;
        for (let i = quarter; i < n; i++) {
          const inc = new Increment(keys[seq[i]], 1);
          bare.add(inc.key, inc.n);
        }
        const after = heapUsed();
        const held = bare.keys;
        await bare.flush();
        return heapMeasure(before, atQuarter, quarterKeys, after, held, n);
      },
    });
  }

  const results = await interleaved(contenders, config.warmup, config.trials, log);
  const heapResults = await interleaved(heapContenders, config.warmup, config.trials, log);

  interface Summary {
    median: number;
    min: number;
    max: number;
    cpuMedian: number;
    offered: number;
    delivered: number;
    values: number;
    rejected: number;
  }
  const summary = new Map<string, Summary>();
  for (const [name, ms] of results) {
    summary.set(name, {
      median: median(ms.map((m) => m.rate)),
      min: min(ms.map((m) => m.rate)),
      max: max(ms.map((m) => m.rate)),
      cpuMedian: median(ms.map((m) => m.cpuRate)),
      offered: ms.reduce((s, m) => s + m.offered, 0),
      delivered: ms.reduce((s, m) => s + m.delivered, 0),
      values: median(ms.map((m) => m.values)),
      rejected: ms.reduce((s, m) => s + m.rejected, 0),
    });
  }
  const heap = new Map<string, HeapMeasure>();
  for (const [name, hs] of heapResults) {
    heap.set(name, {
      quarterKeys: median(hs.map((h) => h.quarterKeys)),
      quarterBytesPerKey: median(hs.map((h) => h.quarterBytesPerKey)),
      keys: median(hs.map((h) => h.keys)),
      bytesPerKey: median(hs.map((h) => h.bytesPerKey)),
      bytesPerIncrement: median(hs.map((h) => h.bytesPerIncrement)),
    });
  }

  const rates = (name: string): number[] | undefined => results.get(name)?.map((m) => m.rate);
  const rows: string[][] = [];
  const targets: TargetResult[] = [];
  for (const keyCount of KEY_COUNTS) {
    const bare = summary.get(names.bare(keyCount));
    const bareName = names.bare(keyCount);
    const listed = [...PARTITION_COUNTS.map((p) => names.buffer(keyCount, p)), bareName];
    for (const name of listed) {
      const s = summary.get(name);
      if (!s) {
        rows.push([name, 'not available', '–', '–', '–', '–', '–', '–', '–']);
        continue;
      }
      const h = heap.get(name);
      rows.push([
        name,
        fmtRate(s.median),
        `${fmtRate(s.min)} – ${fmtRate(s.max)}`,
        fmtPct(s.delivered, s.offered),
        fmtInt(s.values),
        bare ? fmtRatio(s.median / bare.median) : 'n/a',
        bare ? fmtRatio(s.cpuMedian / bare.cpuMedian) : 'n/a',
        h ? `${h.bytesPerKey.toFixed(1)} (${h.quarterBytesPerKey.toFixed(1)} after N/4)` : '–',
        h ? h.bytesPerIncrement.toFixed(2) : '–',
      ]);
    }
    for (const partitions of PARTITION_COUNTS) {
      const name = names.buffer(keyCount, partitions);
      const s = summary.get(name);
      const target = `7. coalescing, ${fmtInt(keyCount)} keys, partitions ${partitions}: ≥ 0.5× the bare Map<key, sum>`;
      if (!s || !bare) {
        targets.push({ target, measured: refusal ?? 'n/a', met: null, unavailable: refusal ?? undefined });
        continue;
      }
      targets.push({
        target,
        measured:
          `${fmtTarget(s.median / bare.median)} (per-round ${fmtTarget(pairedRatio(rates(name), rates(bareName)))}; ` +
          `CPU time ${fmtTarget(s.cpuMedian / bare.cpuMedian)}), ${fmtPct(s.delivered, s.offered)} of increments delivered`,
        met: s.median / bare.median >= 0.5 && s.delivered === s.offered,
      });
    }
    const h = heap.get(names.buffer(keyCount, 1));
    const heapTarget = `7. coalescing, ${fmtInt(keyCount)} keys: heap held grows with keys, not increments (bytes per key after N ≤ 1.25× after N/4)`;
    if (!h) {
      targets.push({ target: heapTarget, measured: refusal ?? 'n/a', met: null, unavailable: refusal ?? undefined });
    } else {
      const bareHeap = heap.get(bareName);
      targets.push({
        target: heapTarget,
        measured:
          `${h.bytesPerKey.toFixed(1)} bytes/key after ${fmtInt(n)} increments (${fmtInt(h.keys)} keys) vs ` +
          `${h.quarterBytesPerKey.toFixed(1)} after ${fmtInt(n >> 2)} (${fmtInt(h.quarterKeys)} keys); ` +
          `${h.bytesPerIncrement.toFixed(2)} bytes/increment; bare Map ${bareHeap ? bareHeap.bytesPerKey.toFixed(1) : 'n/a'} bytes/key`,
        met: h.bytesPerKey <= 1.25 * h.quarterBytesPerKey,
      });
    }
  }

  const notes: string[] = [];
  if (!haveLib) notes.push(`DataBuffer not measured: ${libraryError()}`);
  else if (!lib) notes.push(`coalesce not available: ${refusal}`);
  return {
    id: 'coalesce',
    title: '7. Coalescing',
    setup:
      `${fmtInt(n)} increments per trial (fresh \`{ key, n: 1 }\` objects), keys \`page-<k>\` drawn from a fixed pseudo-random ` +
      `sequence over ${KEY_COUNTS.map(fmtInt).join(' or ')} keys (the same for every contender); a coalescing buffer whose ` +
      `\`merge\` adds into the pending value, batch size ${fmtInt(MAX_VALUES)} values, interval ${INTERVAL} ms, capacity ` +
      `${fmtInt(CAPACITY)} values; the bare \`Map<key, sum>\` has the same triggers (a map of ${fmtInt(MAX_VALUES)} keys is ` +
      `swapped and flushed, one timer, the same limit). The loop yields every ${YIELD_EVERY} increments; timed until the final ` +
      `flush has delivered everything. "delivered" is the sum of the delivered values over the increments offered; "values" ` +
      `what the handler received (median). Heap: a buffer that never flushes (one-hour interval) gets the same increments; ` +
      `bytes per key = heapUsed delta after a full GC ÷ keys pending, after all increments and after a quarter of them; ` +
      `bytes per increment = the same delta ÷ increments. ${config.warmup} warm-up + ${config.trials} interleaved trials per contender, median.`,
    columns: ['contender', 'increments/s (median)', 'range', 'delivered', 'values', 'vs bare Map', 'CPU time: vs bare Map', 'heap bytes/key', 'heap bytes/increment'],
    rows,
    targets,
    notes,
    data: { increments: n, trials: Object.fromEntries(results), heap: Object.fromEntries(heapResults) },
  };
}
