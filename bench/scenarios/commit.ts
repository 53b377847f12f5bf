/**
 * Scenario 3: commit() throughput against a bare per-item-promise batcher. N fresh items per
 * trial, committed in windows of 2048 (4 partitions × batch size 512, so every window fills
 * every batch), each window awaited with Promise.all before the next; timed until the last
 * promise has resolved.
 */
import { Item, makeItem } from '../common/item';
import { createBuffer, libraryAvailable, libraryError, type BenchBuffer } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { Sink } from '../common/sink';
import { fmtInt, fmtPct, fmtRate, fmtRatio, fmtTarget, max, median, min, pairedRatio, cpuMsSince } from '../common/stats';
import { interleaved, type Contender } from '../common/trials';
import * as profiler from '../common/profiler';
import type { BenchConfig } from '../common/config';
import { BarePromiseBatcher, BareSharedPromiseBatcher } from '../baselines/bare-commit';

const BATCH = 512;
/** The library runs with 1 lane (the shape of the single-array baselines) and with 4. */
const PARTITION_COUNTS = [1, 4];
const WINDOW = BATCH * 4;
const INTERVAL = 5000;
const LIMIT = 100_000;

interface Measure {
  ms: number;
  rate: number;
  /** items per second of this process's CPU time (user + system) */
  cpuRate: number;
  offered: number;
  delivered: number;
  resolved: number;
}

async function driveBuffer(buffer: BenchBuffer<Item>, n: number, sink: Sink): Promise<Measure> {
  let resolved = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const window: Promise<void>[] = new Array(WINDOW);
  for (let i = 0; i < n; ) {
    const end = Math.min(i + WINDOW, n);
    let w = 0;
    for (; i < end; i++) window[w++] = buffer.commit(makeItem(i));
    if (w < WINDOW) window.length = w;
    await Promise.all(window);
    resolved += w;
  }
  const ms = performance.now() - t0;
  const cpu = cpuMsSince(c0);
  await profiler.end('commit-databuffer');
  return { ms: Math.round(ms * 10) / 10, rate: Math.round((n / ms) * 1000), cpuRate: Math.round((n / cpu) * 1000), offered: n, delivered: sink.delivered, resolved };
}

async function driveBare(bare: BarePromiseBatcher<Item>, n: number, sink: Sink): Promise<Measure> {
  let resolved = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const window: Promise<void>[] = new Array(WINDOW);
  for (let i = 0; i < n; ) {
    const end = Math.min(i + WINDOW, n);
    let w = 0;
    for (; i < end; i++) window[w++] = bare.commit(makeItem(i));
    if (w < WINDOW) window.length = w;
    await Promise.all(window);
    resolved += w;
  }
  const ms = performance.now() - t0;
  const cpu = cpuMsSince(c0);
  await profiler.end('commit-bare');
  return { ms: Math.round(ms * 10) / 10, rate: Math.round((n / ms) * 1000), cpuRate: Math.round((n / cpu) * 1000), offered: n, delivered: sink.delivered, resolved };
}

async function driveShared(bare: BareSharedPromiseBatcher<Item>, n: number, sink: Sink): Promise<Measure> {
  let resolved = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const window: Promise<void>[] = new Array(WINDOW);
  for (let i = 0; i < n; ) {
    const end = Math.min(i + WINDOW, n);
    let w = 0;
    for (; i < end; i++) window[w++] = bare.commit(makeItem(i));
    if (w < WINDOW) window.length = w;
    await Promise.all(window);
    resolved += w;
  }
  const ms = performance.now() - t0;
  const cpu = cpuMsSince(c0);
  await profiler.end('commit-bare-shared');
  return { ms: Math.round(ms * 10) / 10, rate: Math.round((n / ms) * 1000), cpuRate: Math.round((n / cpu) * 1000), offered: n, delivered: sink.delivered, resolved };
}

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  // a whole number of windows, so no trial ends waiting for the interval
  const n = Math.max(WINDOW, Math.floor(config.commitItems / WINDOW) * WINDOW);
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const contenders: Contender<Measure>[] = [];
  if (haveLib) {
    for (const partitions of PARTITION_COUNTS) {
      contenders.push({
        name: `DataBuffer.commit (partitions ${partitions})`,
        run: async () => {
          const sink = new Sink();
          const buffer = createBuffer<Item>(
            { partitions, maxSize: BATCH, interval: INTERVAL, capacity: LIMIT, overflow: 'reject' },
            { onFlush: sink.handle },
          );
          const m = await driveBuffer(buffer, n, sink);
          await buffer.close(5000);
          return m;
        },
      });
    }
  }
  contenders.push({
    name: 'bare per-item-promise batcher',
    run: async () => {
      const sink = new Sink();
      const bare = new BarePromiseBatcher<Item>(BATCH, INTERVAL, LIMIT, sink.handle);
      return driveBare(bare, n, sink);
    },
  });
  contenders.push({
    name: 'reference: bare shared-promise batcher',
    run: async () => {
      const sink = new Sink();
      const bare = new BareSharedPromiseBatcher<Item>(BATCH, INTERVAL, LIMIT, sink.handle);
      return driveShared(bare, n, sink);
    },
  });

  const results = await interleaved(contenders, config.warmup, config.trials, log);
  const summary = new Map<
    string,
    { median: number; min: number; max: number; cpuMedian: number; delivered: number; resolved: number; offered: number }
  >();
  for (const [name, ms] of results) {
    summary.set(name, {
      median: median(ms.map((m) => m.rate)),
      min: min(ms.map((m) => m.rate)),
      max: max(ms.map((m) => m.rate)),
      cpuMedian: median(ms.map((m) => m.cpuRate)),
      delivered: ms.reduce((s, m) => s + m.delivered, 0),
      resolved: ms.reduce((s, m) => s + m.resolved, 0),
      offered: ms.reduce((s, m) => s + m.offered, 0),
    });
  }
  const bare = summary.get('bare per-item-promise batcher') ?? { median: NaN, cpuMedian: NaN };
  const rates = (name: string): number[] | undefined => results.get(name)?.map((m) => m.rate);
  const rows = [...summary].map(([name, s]) => [
    name,
    fmtRate(s.median),
    `${fmtRate(s.min)} – ${fmtRate(s.max)}`,
    fmtPct(s.delivered, s.offered),
    fmtRatio(s.median / bare.median),
    fmtRatio(s.cpuMedian / bare.cpuMedian),
  ]);
  const targets: TargetResult[] = PARTITION_COUNTS.map((partitions) => {
    const name = `DataBuffer.commit (partitions ${partitions})`;
    const lib = summary.get(name);
    return {
      target: `3. commit(), partitions ${partitions}: ≥ 1.5× the per-item-promise baseline`,
      measured: lib
        ? `${fmtTarget(lib.median / bare.median)} (per-round ${fmtTarget(pairedRatio(rates(name), rates('bare per-item-promise batcher')))}; CPU time ${fmtTarget(lib.cpuMedian / bare.cpuMedian)}), ${fmtPct(lib.delivered, lib.offered)} delivered`
        : 'n/a',
      met: lib ? lib.median / bare.median >= 1.5 && lib.delivered === lib.offered && lib.resolved === lib.offered : null,
    };
  });
  return {
    id: 'commit',
    title: '3. commit() throughput',
    setup:
      `${fmtInt(n)} fresh 3-field objects per trial, committed in windows of ${WINDOW} ` +
      `(4 batches of ${BATCH}: with 4 partitions each window fills every lane's batch), each window awaited ` +
      `with \`Promise.all\` before the next; at most ${fmtInt(LIMIT)} items held; no-op async handler; timed until the ` +
      `last promise resolved. The baseline allocates one promise per item and settles them after its batch's ` +
      `handler resolved. The reference row is the same bare batcher with one promise shared by a batch's items: ` +
      `what the shared-promise design can reach when every caller still awaits its own commit (not a target). ${config.warmup} warm-up + ${config.trials} interleaved trials per contender, median.`,
    columns: ['contender', 'items/s (median)', 'range', 'delivered', 'vs per-item promises', 'CPU time: vs per-item promises'],
    rows,
    targets,
    notes: haveLib ? [] : [`DataBuffer not measured: ${libraryError()}`],
    data: { items: n, trials: Object.fromEntries(results), summary: Object.fromEntries(summary) },
  };
}
