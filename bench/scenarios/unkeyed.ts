/**
 * Scenario 1: unkeyed insert. N fresh items per trial, inserted in a loop that yields to the
 * event loop every 512 items (so flushes complete), then a final flush; the timed region runs
 * from the first insert until every item has reached the handler. Every contender: batch size
 * 512, interval 5000 ms, a limit of 100 000 items held, the same no-op async handler.
 */
import { Item, makeItem } from '../common/item';
import { createBuffer, libraryAvailable, libraryError, type BenchBuffer } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { Sink, isBufferFull, yieldToLoop } from '../common/sink';
import { fmtInt, fmtPct, fmtRate, fmtRatio, fmtTarget, max, median, min, pairedRatio, cpuMsSince } from '../common/stats';
import { interleaved, type Contender } from '../common/trials';
import * as profiler from '../common/profiler';
import type { BenchConfig } from '../common/config';
import { BareArrayBatcher } from '../baselines/bare-array';
import { createLogProcessor, createSpanProcessor, type LogProcessor, type SpanProcessor } from '../baselines/otel';

const BATCH = 512;
const YIELD_EVERY = 512;
const INTERVAL = 5000;
const LIMIT = 100_000;

export interface Measure {
  ms: number;
  rate: number;
  /** items per second of this process's CPU time (user + system) */
  cpuRate: number;
  offered: number;
  delivered: number;
  rejected: number;
}

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

// One driver per contender (separate functions, so each call site stays monomorphic).

async function driveBuffer(buffer: BenchBuffer<Item>, n: number, sink: Sink): Promise<Measure> {
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
  await profiler.end('unkeyed-databuffer');
  return m;
}

async function driveBare(bare: BareArrayBatcher<Item>, n: number, sink: Sink): Promise<Measure> {
  let rejected = 0;
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) {
      try {
        bare.insert(makeItem(i));
      } catch (err) {
        if (!isBufferFull(err)) throw err;
        rejected++;
      }
    }
    await yieldToLoop();
  }
  await bare.flush();
  const m = measure(t0, c0, n, sink, rejected);
  await profiler.end('unkeyed-bare-array');
  return m;
}

async function driveOtelLog(processor: LogProcessor, n: number, sink: Sink): Promise<Measure> {
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) processor.onEmit(makeItem(i) as never);
    await yieldToLoop();
  }
  await processor.forceFlush();
  const m = measure(t0, c0, n, sink, 0);
  await profiler.end('unkeyed-otel-log');
  return m;
}

async function driveOtelSpan(processor: SpanProcessor, n: number, sink: Sink): Promise<Measure> {
  await profiler.begin();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; ) {
    const end = Math.min(i + YIELD_EVERY, n);
    for (; i < end; i++) processor.onEnd(makeItem(i) as never);
    await yieldToLoop();
  }
  await processor.forceFlush();
  const m = measure(t0, c0, n, sink, 0);
  await profiler.end('unkeyed-otel-span');
  return m;
}

const OTEL = { maxExportBatchSize: BATCH, scheduledDelayMillis: INTERVAL, maxQueueSize: LIMIT, exportTimeoutMillis: 30_000 };

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const n = config.items;
  const contenders: Contender<Measure>[] = [];
  const haveLib = libraryAvailable();
  if (haveLib) {
    for (const partitions of [1, 4]) {
      contenders.push({
        name: `DataBuffer (partitions ${partitions})`,
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
  } else {
    log(`  library skipped: ${libraryError()}`);
  }
  contenders.push(
    {
      name: 'bare array',
      run: async () => {
        const sink = new Sink();
        const bare = new BareArrayBatcher<Item>(BATCH, INTERVAL, LIMIT, sink.handle);
        return driveBare(bare, n, sink);
      },
    },
    {
      name: 'OTel BatchLogRecordProcessor',
      run: async () => {
        const sink = new Sink();
        const processor = createLogProcessor(OTEL, sink.handle);
        const m = await driveOtelLog(processor, n, sink);
        await processor.shutdown();
        return m;
      },
    },
    {
      name: 'OTel BatchSpanProcessor',
      run: async () => {
        const sink = new Sink();
        const processor = createSpanProcessor(OTEL, sink.handle);
        const m = await driveOtelSpan(processor, n, sink);
        await processor.shutdown();
        return m;
      },
    },
  );

  const results = await interleaved(contenders, config.warmup, config.trials, log);
  const summary = new Map<
    string,
    { median: number; min: number; max: number; cpuMedian: number; delivered: number; offered: number; rejected: number }
  >();
  for (const [name, ms] of results) {
    const rates = ms.map((m) => m.rate);
    summary.set(name, {
      median: median(rates),
      min: min(rates),
      max: max(rates),
      cpuMedian: median(ms.map((m) => m.cpuRate)),
      delivered: ms.reduce((s, m) => s + m.delivered, 0),
      offered: ms.reduce((s, m) => s + m.offered, 0),
      rejected: ms.reduce((s, m) => s + m.rejected, 0),
    });
  }
  const nan = { median: NaN, cpuMedian: NaN };
  const bare = summary.get('bare array') ?? nan;
  const otelLog = summary.get('OTel BatchLogRecordProcessor') ?? nan;
  const rates = (name: string): number[] | undefined => results.get(name)?.map((m) => m.rate);
  const rows = [...summary].map(([name, s]) => [
    name,
    fmtRate(s.median),
    `${fmtRate(s.min)} – ${fmtRate(s.max)}`,
    fmtPct(s.delivered, s.offered),
    fmtRatio(s.median / bare.median),
    fmtRatio(s.median / otelLog.median),
    fmtRatio(s.cpuMedian / bare.cpuMedian),
    fmtRatio(s.cpuMedian / otelLog.cpuMedian),
  ]);

  const targets: TargetResult[] = [];
  for (const partitions of [1, 4]) {
    const name = `DataBuffer (partitions ${partitions})`;
    const s = summary.get(name);
    const full = s ? s.delivered === s.offered : false;
    targets.push({
      target: `1. unkeyed insert, partitions ${partitions}: ≥ 0.7× bare array`,
      measured: s
        ? `${fmtTarget(s.median / bare.median)} (per-round ${fmtTarget(pairedRatio(rates(name), rates('bare array')))}; CPU time ${fmtTarget(s.cpuMedian / bare.cpuMedian)})`
        : 'n/a',
      met: s ? s.median / bare.median >= 0.7 && full : null,
    });
    targets.push({
      target: `1. unkeyed insert, partitions ${partitions}: ≥ 1.0× OTel BatchLogRecordProcessor, delivering 100%`,
      measured: s
        ? `${fmtTarget(s.median / otelLog.median)} (per-round ${fmtTarget(pairedRatio(rates(name), rates('OTel BatchLogRecordProcessor')))}; CPU time ${fmtTarget(s.cpuMedian / otelLog.cpuMedian)}), ${fmtPct(s.delivered, s.offered)} delivered`
        : 'n/a',
      met: s ? s.median >= otelLog.median && full : null,
    });
  }

  return {
    id: 'unkeyed',
    title: '1. Unkeyed insert',
    setup:
      `${fmtInt(n)} fresh 3-field objects per trial; batch size ${BATCH}, interval ${INTERVAL} ms, ` +
      `at most ${fmtInt(LIMIT)} items held; no-op async handler; the loop yields to the event loop ` +
      `every ${YIELD_EVERY} items; timed from the first insert until the final flush has delivered ` +
      `everything. ${config.warmup} warm-up + ${config.trials} interleaved trials per contender, median.`,
    columns: ['contender', 'items/s (median)', 'range', 'delivered', 'vs bare array', 'vs OTel log', 'CPU time: vs bare', 'CPU time: vs OTel log'],
    rows,
    targets,
    notes: haveLib ? [] : [`DataBuffer not measured: ${libraryError()}`],
    data: { items: n, trials: Object.fromEntries(results), summary: Object.fromEntries(summary) },
  };
}
