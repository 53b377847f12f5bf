/**
 * Scenario 2: keyed insert, 16 keys and 100 000 keys, against a bare Map of arrays. N fresh items
 * per trial, each with a key drawn from a fixed pseudo-random sequence (the same for every
 * contender), yielding to the event loop every 512 items, then a final flush; timed until every
 * item has reached the handler. Batch size 512 per key, interval 5000 ms, partitions 4, the
 * limit on items held set to N (100 000 keys × ~20 items each stay pending until the end).
 */
import { Item, makeItem } from '../common/item';
import { createBuffer, libraryAvailable, libraryError, type BenchBuffer } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { Sink, isBufferFull, yieldToLoop } from '../common/sink';
import { fmtInt, fmtPct, fmtRate, fmtRatio, fmtTarget, max, median, min, pairedRatio, cpuMsSince } from '../common/stats';
import { interleaved, type Contender } from '../common/trials';
import * as profiler from '../common/profiler';
import type { BenchConfig } from '../common/config';
import { BareMapBatcher } from '../baselines/bare-map';
import { keySequence } from '../common/keys';

const BATCH = 512;
const YIELD_EVERY = 512;
const INTERVAL = 5000;
const PARTITIONS = 4;

interface Measure {
  ms: number;
  rate: number;
  /** items per second of this process's CPU time (user + system) */
  cpuRate: number;
  /** rate of the insert loop alone (before the final flush) */
  insertRate: number;
  offered: number;
  delivered: number;
  rejected: number;
  /** live lane timers after the last insert (library only) */
  timers?: number;
  /** keys pending after the last insert */
  keys?: number;
}

async function driveBuffer(
  buffer: BenchBuffer<Item>,
  n: number,
  keys: string[],
  seq: Uint32Array,
  sink: Sink,
): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      try {
        buffer.insert(makeItem(i), keys[seq[i]]);
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  const t1 = performance.now();
  if (profiler.profiling) {
    await profiler.end('keyed-databuffer-insert');
    await profiler.begin();
  }
  const timers = buffer.timerCount;
  const keyCount = (buffer.stats() as { keys?: number }).keys;
  await buffer.flush();
  const ms = performance.now() - t0;
  const cpu = cpuMsSince(c0);
  await profiler.end('keyed-databuffer-flush');
  return {
    ms: Math.round(ms * 10) / 10,
    rate: Math.round((n / ms) * 1000),
    cpuRate: Math.round((n / cpu) * 1000),
    insertRate: Math.round((n / (t1 - t0)) * 1000),
    offered: n,
    delivered: sink.delivered,
    rejected,
    timers,
    keys: keyCount,
  };
}

async function driveBare(
  bare: BareMapBatcher<Item, string>,
  n: number,
  keys: string[],
  seq: Uint32Array,
  sink: Sink,
): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      try {
        bare.insert(makeItem(i), keys[seq[i]]);
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  const t1 = performance.now();
  if (profiler.profiling) {
    await profiler.end('keyed-bare-map-insert');
    await profiler.begin();
  }
  const keyCount = bare.keys;
  await bare.flush();
  const ms = performance.now() - t0;
  const cpu = cpuMsSince(c0);
  await profiler.end('keyed-bare-map-flush');
  return {
    ms: Math.round(ms * 10) / 10,
    rate: Math.round((n / ms) * 1000),
    cpuRate: Math.round((n / cpu) * 1000),
    insertRate: Math.round((n / (t1 - t0)) * 1000),
    offered: n,
    delivered: sink.delivered,
    rejected,
    keys: keyCount,
  };
}

interface Summary {
  median: number;
  cpuMedian: number;
  min: number;
  max: number;
  insertMedian: number;
  delivered: number;
  offered: number;
  rejected: number;
  timersMax?: number;
  keys?: number;
}

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const n = config.items;
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const rows: string[][] = [];
  const targets: TargetResult[] = [];
  const data: Record<string, unknown> = { items: n };

  for (const [keyCount, threshold] of [
    [16, 0.6],
    [100_000, 0.5],
  ] as const) {
    log(` ${fmtInt(keyCount)} keys`);
    const keys = Array.from({ length: keyCount }, (_, i) => `tenant-${i}`);
    const seq = keySequence(n, keyCount, 0x5eed + keyCount);
    const contenders: Contender<Measure>[] = [];
    if (haveLib) {
      contenders.push({
        name: `DataBuffer (partitions ${PARTITIONS})`,
        run: async () => {
          const sink = new Sink();
          const buffer = createBuffer<Item>(
            { partitions: PARTITIONS, maxSize: BATCH, interval: INTERVAL, capacity: n, overflow: 'reject' },
            { onFlush: sink.handle },
          );
          const m = await driveBuffer(buffer, n, keys, seq, sink);
          await buffer.close(5000);
          return m;
        },
      });
    }
    contenders.push({
      name: 'bare Map of arrays',
      run: async () => {
        const sink = new Sink();
        const bare = new BareMapBatcher<Item, string>(BATCH, INTERVAL, n, sink.handle);
        return driveBare(bare, n, keys, seq, sink);
      },
    });

    const results = await interleaved(contenders, config.warmup, config.trials, log);
    const summary = new Map<string, Summary>();
    for (const [name, ms] of results) {
      const timers = ms.map((m) => m.timers).filter((t): t is number => typeof t === 'number');
      summary.set(name, {
        median: median(ms.map((m) => m.rate)),
        cpuMedian: median(ms.map((m) => m.cpuRate)),
        min: min(ms.map((m) => m.rate)),
        max: max(ms.map((m) => m.rate)),
        insertMedian: median(ms.map((m) => m.insertRate)),
        delivered: ms.reduce((s, m) => s + m.delivered, 0),
        offered: ms.reduce((s, m) => s + m.offered, 0),
        rejected: ms.reduce((s, m) => s + m.rejected, 0),
        timersMax: timers.length ? Math.max(...timers) : undefined,
        keys: ms[ms.length - 1]?.keys,
      });
    }
    const bare = summary.get('bare Map of arrays') ?? { median: NaN, insertMedian: NaN, cpuMedian: NaN };
    const rates = (name: string): number[] | undefined => results.get(name)?.map((m) => m.rate);
    for (const [name, s] of summary) {
      rows.push([
        `${fmtInt(keyCount)} keys: ${name}`,
        fmtRate(s.median),
        `${fmtRate(s.min)} – ${fmtRate(s.max)}`,
        fmtRate(s.insertMedian),
        fmtPct(s.delivered, s.offered),
        fmtRatio(s.median / bare.median),
        fmtRatio(s.insertMedian / bare.insertMedian),
        fmtRatio(s.cpuMedian / bare.cpuMedian),
        s.timersMax === undefined ? '–' : String(s.timersMax),
      ]);
    }
    const lib = summary.get(`DataBuffer (partitions ${PARTITIONS})`);
    targets.push({
      target: `2. keyed insert, ${fmtInt(keyCount)} keys: ≥ ${threshold}× bare Map`,
      measured: lib ? `${fmtTarget(lib.median / bare.median)} (per-round ${fmtTarget(pairedRatio(rates(`DataBuffer (partitions ${PARTITIONS})`), rates('bare Map of arrays')))}; insert loop alone ${fmtTarget(lib.insertMedian / bare.insertMedian)}; CPU time ${fmtTarget(lib.cpuMedian / bare.cpuMedian)}), ${fmtPct(lib.delivered, lib.offered)} delivered` : 'n/a',
      met: lib ? lib.median / bare.median >= threshold && lib.delivered === lib.offered : null,
    });
    if (keyCount === 100_000) {
      targets.push({
        target: `2. live timers at the end of the 100,000-key run ≤ partitions (${PARTITIONS})`,
        measured: lib ? String(lib.timersMax ?? 'n/a') : 'n/a',
        met: lib && lib.timersMax !== undefined ? lib.timersMax <= PARTITIONS : null,
      });
    }
    data[`keys${keyCount}`] = { trials: Object.fromEntries(results), summary: Object.fromEntries(summary) };
  }

  return {
    id: 'keyed',
    title: '2. Keyed insert',
    setup:
      `${fmtInt(n)} fresh 3-field objects per trial, keys \`tenant-<k>\` drawn from a fixed pseudo-random ` +
      `sequence over 16 or 100,000 keys (the same sequence for both contenders); batch size ${BATCH} per key, ` +
      `interval ${INTERVAL} ms, partitions ${PARTITIONS}, at most ${fmtInt(n)} items held; no-op async handler; ` +
      `yield every ${YIELD_EVERY} items; timed from the first insert until the final flush has delivered ` +
      `everything (with 100,000 keys that final flush hands over ~100,000 batches of ~${Math.round(n / 100_000)} items). ` +
      `"insert loop" is the rate of the insert loop alone. Timers: \`timerCount\` after the last insert. ` +
      `${config.warmup} warm-up + ${config.trials} interleaved trials per contender, median.`,
    columns: ['contender', 'items/s (median)', 'range', 'insert loop items/s', 'delivered', 'vs bare Map', 'insert loop vs bare Map', 'CPU time: vs bare Map', 'live timers'],
    rows,
    targets,
    notes: haveLib ? [] : [`DataBuffer not measured: ${libraryError()}`],
    data,
  };
}
