/**
 * Scenario 4: a slow sink. A timer offers items at a fixed rate (default 100 000 items/s for 3 s,
 * fed every 10 ms and catching up on late ticks, so exactly rate × seconds items are offered),
 * every flush takes 20 ms, batch size 512, at most 100 000 items held. After the last item is
 * offered, everything held is flushed. Reports what was delivered, what was refused or dropped,
 * and the peak number of items held (pending + in flight), sampled after every tick's inserts,
 * which is when it peaks.
 */
import { makeItem, type Item } from '../common/item';
import { createBuffer, libraryAvailable, libraryError, type BenchBuffer } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { Sink, isBufferFull } from '../common/sink';
import { fmtInt, fmtPct } from '../common/stats';
import { fullGc } from '../common/trials';
import type { BenchConfig } from '../common/config';
import { BareArrayBatcher } from '../baselines/bare-array';
import { createLogProcessor, createSpanProcessor, queuedLogs, queuedSpans } from '../baselines/otel';

const BATCH = 512;
const PARTITIONS = 4;
const CAPACITY = 100_000;
const FLUSH_MS = 20;
const TICK_MS = 10;
const INTERVAL = 5000;

interface Outcome {
  offered: number;
  /** refused by insert (BufferFullError) */
  rejected: number;
  /** silently dropped (offered - rejected - delivered after the final flush) */
  dropped: number;
  delivered: number;
  peakHeld: number;
  /** ms from the last offered item until everything was flushed */
  drainMs: number;
  /** handler calls */
  flushes: number;
  /** the library's own stats at the end */
  stats?: unknown;
}

interface Subject {
  /** offer one item; false when refused */
  offer(item: Item): boolean;
  held(): number;
  finish(): Promise<void>;
  close(): Promise<void>;
  stats?(): unknown;
}

function offerAtRate(subject: Subject, rate: number, seconds: number): Promise<{ offered: number; rejected: number; peakHeld: number }> {
  const total = rate * seconds;
  return new Promise((resolve) => {
    let offered = 0;
    let rejected = 0;
    let peakHeld = 0;
    const t0 = performance.now();
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
      for (; offered < due; offered++) {
        if (!subject.offer(makeItem(offered))) rejected++;
      }
      const held = subject.held();
      if (held > peakHeld) peakHeld = held;
      if (offered >= total) {
        clearInterval(timer);
        resolve({ offered, rejected, peakHeld });
      }
    };
    const timer = setInterval(tick, TICK_MS);
  });
}

async function runOne(subject: Subject, sink: Sink, config: BenchConfig): Promise<Outcome> {
  const { offered, rejected, peakHeld } = await offerAtRate(subject, config.slowRate, config.slowSeconds);
  const t0 = performance.now();
  await subject.finish();
  const drainMs = Math.round(performance.now() - t0);
  const stats = subject.stats?.();
  await subject.close();
  return {
    offered,
    rejected,
    dropped: offered - rejected - sink.delivered,
    delivered: sink.delivered,
    peakHeld,
    drainMs,
    flushes: sink.calls,
    stats,
  };
}

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const otelConfig = { maxExportBatchSize: BATCH, scheduledDelayMillis: INTERVAL, maxQueueSize: CAPACITY, exportTimeoutMillis: 30_000 };

  const contenders: { name: string; make: (sink: Sink) => Subject }[] = [];
  if (haveLib) {
    contenders.push({
      name: `DataBuffer (partitions ${PARTITIONS})`,
      make: (sink) => {
        const buffer: BenchBuffer<Item> = createBuffer<Item>(
          { partitions: PARTITIONS, maxSize: BATCH, interval: INTERVAL, capacity: CAPACITY, overflow: 'reject' },
          { onFlush: sink.slow(FLUSH_MS) },
        );
        return {
          offer: (item) => {
            try {
              buffer.insert(item);
              return true;
            } catch (err) {
              if (isBufferFull(err)) return false;
              throw err;
            }
          },
          held: () => {
            const s = buffer.stats();
            return s.pending + s.inFlight;
          },
          finish: async () => {
            await buffer.flush();
          },
          close: async () => {
            await buffer.close(5000);
          },
          stats: () => buffer.stats(),
        };
      },
    });
  }
  contenders.push(
    {
      name: 'OTel BatchLogRecordProcessor',
      make: (sink) => {
        const p = createLogProcessor(otelConfig, sink.slow(FLUSH_MS));
        return {
          offer: (item) => {
            p.onEmit(item as never);
            return true;
          },
          held: () => queuedLogs(p) + sink.inFlight,
          finish: () => p.forceFlush(),
          close: () => p.shutdown(),
        };
      },
    },
    {
      name: 'OTel BatchSpanProcessor',
      make: (sink) => {
        const p = createSpanProcessor(otelConfig, sink.slow(FLUSH_MS));
        return {
          offer: (item) => {
            p.onEnd(item as never);
            return true;
          },
          held: () => queuedSpans(p) + sink.inFlight,
          finish: () => p.forceFlush(),
          close: () => p.shutdown(),
        };
      },
    },
    {
      name: 'bare array (no flush concurrency limit)',
      make: (sink) => {
        const bare = new BareArrayBatcher<Item>(BATCH, INTERVAL, CAPACITY, sink.slow(FLUSH_MS));
        return {
          offer: (item) => {
            try {
              bare.insert(item);
              return true;
            } catch (err) {
              if (isBufferFull(err)) return false;
              throw err;
            }
          },
          held: () => bare.size,
          finish: () => bare.flush(),
          close: async () => undefined,
        };
      },
    },
  );

  const outcomes = new Map<string, Outcome[]>(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < config.slowRuns; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) {
      fullGc();
      const sink = new Sink();
      const outcome = await runOne(c.make(sink), sink, config);
      outcomes.get(c.name)!.push(outcome);
      const { stats: _stats, ...shown } = outcome;
      log(`  run ${r + 1}/${config.slowRuns} ${c.name}: ${JSON.stringify(shown)}`);
    }
  }

  const rows: string[][] = [];
  const targets: TargetResult[] = [];
  for (const [name, runs] of outcomes) {
    // the worst run is the one that counts for delivery and peak
    const worst = runs.reduce((a, b) => (b.delivered / b.offered < a.delivered / a.offered || b.peakHeld > a.peakHeld ? b : a));
    rows.push([
      name,
      fmtInt(worst.offered),
      `${fmtInt(worst.delivered)} (${fmtPct(worst.delivered, worst.offered)})`,
      fmtInt(worst.rejected),
      fmtInt(worst.dropped),
      fmtInt(worst.peakHeld),
      `${fmtInt(worst.drainMs)} ms`,
      fmtInt(worst.flushes),
    ]);
    if (name.startsWith('DataBuffer')) {
      targets.push({
        target: `4. slow sink: 100% delivered and peak held ≤ capacity (${fmtInt(CAPACITY)})`,
        measured: `${fmtPct(worst.delivered, worst.offered)} delivered, peak held ${fmtInt(worst.peakHeld)}`,
        met: worst.delivered === worst.offered && worst.peakHeld <= CAPACITY,
      });
    }
  }
  if (!haveLib) targets.push({ target: `4. slow sink: 100% delivered and peak held ≤ capacity (${fmtInt(CAPACITY)})`, measured: 'n/a', met: null });

  return {
    id: 'slow-sink',
    title: '4. Slow sink',
    setup:
      `${fmtInt(config.slowRate)} items/s offered for ${config.slowSeconds} s by a ${TICK_MS} ms timer ` +
      `(${fmtInt(config.slowRate * config.slowSeconds)} items); every flush awaits a ${FLUSH_MS} ms timer; batch size ${BATCH}; ` +
      `at most ${fmtInt(CAPACITY)} items held (\`capacity\`, OTel \`maxQueueSize\`, the bare array's limit), ` +
      `\`overflow: 'reject'\` (a BufferFullError counts as rejected); DataBuffer with partitions ${PARTITIONS}. ` +
      `Peak held = pending + in flight (\`stats()\` for DataBuffer; queue + exporting for OTel), sampled after every tick. ` +
      `Then a final flush; "drain" is its duration. OTel drops silently when its queue is full: "dropped" = offered − delivered. ` +
      `With ${PARTITIONS} lanes of one 20 ms flush each, the most a batch size of ${BATCH} can carry is ` +
      `${fmtInt((PARTITIONS * BATCH * 1000) / FLUSH_MS)} items/s; OTel exports one batch at a time (${fmtInt((BATCH * 1000) / FLUSH_MS)} items/s). ` +
      `${config.slowRuns} run(s) per contender; the worst is shown.`,
    columns: ['contender', 'offered', 'delivered', 'rejected', 'dropped', 'peak held', 'drain', 'flushes'],
    rows,
    targets,
    notes: haveLib ? [] : [`DataBuffer not measured: ${libraryError()}`],
    data: { rate: config.slowRate, seconds: config.slowSeconds, outcomes: Object.fromEntries(outcomes) },
  };
}
