/**
 * Scenario 6: group commit. 64 committers run concurrently, each in a loop that awaits
 * `commit(item)` and starts the next one, for a fixed window of real time; the sink takes 2 ms
 * per call (a real timer). Measured: commits/s completed in the window and the p50 / p99 latency
 * of one commit, for a buffer with `commitDelay: 0`, the same buffer without commitDelay
 * (interval 1000 ms, so a commit waits for its batch's interval), and a bare writer that makes
 * one handler call per commit with at most `partitions` calls at once; partitions 1 and 4.
 */
import { Item, makeItem } from '../common/item';
import { createBuffer, libraryAvailable, libraryError, optionRefusal, type BenchBuffer, type BenchOptions } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { fmtInt, fmtMs, fmtPct, fmtRate, fmtRatio, fmtTarget, max, median, min, pairedRatio, percentile } from '../common/stats';
import { interleaved, type Contender } from '../common/trials';
import type { BenchConfig } from '../common/config';
import { BarePerCommitWriter } from '../baselines/bare-per-commit';

const COMMITTERS = 64;
const SINK_MS = 2;
const PARTITION_COUNTS = [1, 4];
const INTERVAL = 1000;
const BATCH = 512;
const CAPACITY = 100_000;
/** The buffer without commitDelay flushes once per interval: its window covers at least one. */
const SLOW_WINDOW_MS = INTERVAL + 200;

interface Measure {
  windowMs: number;
  /** commits that resolved within the window */
  commits: number;
  /** commits per second of the window */
  rate: number;
  p50: number;
  p99: number;
  /** handler calls in the window, and items per call */
  calls: number;
  itemsPerCall: number;
  /** median duration of one sink call, ms */
  sinkMs: number;
  /** every commit started, and every item the sink received (after the window too) */
  started: number;
  delivered: number;
  errors: number;
}

/** A sink that takes `SINK_MS` per call (a real timer) and records how long each call took. */
class TimedSink {
  calls = 0;
  delivered = 0;
  readonly callMs: number[] = [];
  readonly handle = async (items: readonly unknown[]): Promise<void> => {
    this.calls++;
    const t0 = performance.now();
    await new Promise<void>((resolve) => setTimeout(resolve, SINK_MS));
    this.callMs.push(performance.now() - t0);
    this.delivered += items.length;
  };
}

interface Run {
  commits: number;
  latencies: Float64Array;
  callsInWindow: number;
  itemsInWindow: number;
  started: number;
  errors: number;
}

function measure(windowMs: number, run: Run, sink: TimedSink): Measure {
  const sorted = run.latencies.subarray(0, run.commits).sort();
  return {
    windowMs,
    commits: run.commits,
    rate: Math.round((run.commits / windowMs) * 1000),
    p50: Math.round(percentile(sorted, 50) * 100) / 100,
    p99: Math.round(percentile(sorted, 99) * 100) / 100,
    calls: run.callsInWindow,
    itemsPerCall: run.callsInWindow > 0 ? Math.round((run.itemsInWindow / run.callsInWindow) * 10) / 10 : 0,
    sinkMs: Math.round(median(sink.callMs) * 100) / 100,
    started: run.started,
    delivered: sink.delivered,
    errors: run.errors,
  };
}

// One driver per kind of contender (separate functions, so each call site stays monomorphic).

async function driveBuffer(buffer: BenchBuffer<Item>, windowMs: number, sink: TimedSink): Promise<Measure> {
  const latencies = new Float64Array(1 << 20);
  let commits = 0;
  let started = 0;
  let errors = 0;
  let callsInWindow = 0;
  let itemsInWindow = 0;
  const t0 = performance.now();
  const deadline = t0 + windowMs;
  // at the end of the window: count what the sink has done, then release the commits still waiting
  let marked = false;
  const release = setTimeout(() => {
    marked = true;
    callsInWindow = sink.calls;
    itemsInWindow = sink.delivered;
    void buffer.flush();
  }, windowMs);
  const committer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const s = performance.now();
      try {
        await buffer.commit(makeItem(started++));
      } catch {
        errors++;
        continue;
      }
      const e = performance.now();
      if (e <= deadline && commits < latencies.length) latencies[commits++] = e - s;
    }
  };
  const all: Promise<void>[] = [];
  for (let c = 0; c < COMMITTERS; c++) all.push(committer());
  await Promise.all(all);
  clearTimeout(release);
  // on a busy machine every committer may finish before the timer runs
  if (!marked) {
    callsInWindow = sink.calls;
    itemsInWindow = sink.delivered;
  }
  return measure(windowMs, { commits, latencies, callsInWindow, itemsInWindow, started, errors }, sink);
}

async function driveBare(bare: BarePerCommitWriter<Item>, windowMs: number, sink: TimedSink): Promise<Measure> {
  const latencies = new Float64Array(1 << 20);
  let commits = 0;
  let started = 0;
  let errors = 0;
  let callsInWindow = 0;
  let itemsInWindow = 0;
  const t0 = performance.now();
  const deadline = t0 + windowMs;
  let marked = false;
  const mark = setTimeout(() => {
    marked = true;
    callsInWindow = sink.calls;
    itemsInWindow = sink.delivered;
  }, windowMs);
  const committer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const s = performance.now();
      try {
        await bare.commit(makeItem(started++));
      } catch {
        errors++;
        continue;
      }
      const e = performance.now();
      if (e <= deadline && commits < latencies.length) latencies[commits++] = e - s;
    }
  };
  const all: Promise<void>[] = [];
  for (let c = 0; c < COMMITTERS; c++) all.push(committer());
  await Promise.all(all);
  clearTimeout(mark);
  if (!marked) {
    callsInWindow = sink.calls;
    itemsInWindow = sink.delivered;
  }
  return measure(windowMs, { commits, latencies, callsInWindow, itemsInWindow, started, errors }, sink);
}

const names = {
  grouped: (p: number) => `DataBuffer commitDelay 0 (partitions ${p})`,
  interval: (p: number) => `DataBuffer without commitDelay, interval ${INTERVAL} ms (partitions ${p})`,
  bare: (p: number) => `bare: one handler call per commit, ≤ ${p} at once`,
};

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const windowMs = config.groupMs;
  const slowWindowMs = Math.max(windowMs, SLOW_WINDOW_MS);
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const options = (partitions: number): BenchOptions<Item> => ({ partitions, maxSize: BATCH, interval: INTERVAL, capacity: CAPACITY });
  const refusal = haveLib ? await optionRefusal<Item>({ ...options(1), commitDelay: 0 }) : libraryError();
  if (haveLib && refusal) log(`  commitDelay not available: ${refusal}`);

  const contenders: Contender<Measure>[] = [];
  for (const partitions of PARTITION_COUNTS) {
    if (refusal === null) {
      contenders.push({
        name: names.grouped(partitions),
        run: async () => {
          const sink = new TimedSink();
          const buffer = createBuffer<Item>({ ...options(partitions), commitDelay: 0 }, { onFlush: sink.handle });
          const m = await driveBuffer(buffer, windowMs, sink);
          await buffer.close(5000);
          return m;
        },
      });
    }
    if (haveLib) {
      contenders.push({
        name: names.interval(partitions),
        run: async () => {
          const sink = new TimedSink();
          const buffer = createBuffer<Item>(options(partitions), { onFlush: sink.handle });
          const m = await driveBuffer(buffer, slowWindowMs, sink);
          await buffer.close(5000);
          return m;
        },
      });
    }
    contenders.push({
      name: names.bare(partitions),
      run: async () => {
        const sink = new TimedSink();
        return driveBare(new BarePerCommitWriter<Item>(partitions, sink.handle), windowMs, sink);
      },
    });
  }

  const results = await interleaved(contenders, config.warmup, config.trials, log);
  interface Summary {
    median: number;
    min: number;
    max: number;
    p50: number;
    p99: number;
    itemsPerCall: number;
    sinkMs: number;
    started: number;
    delivered: number;
    errors: number;
  }
  const summary = new Map<string, Summary>();
  for (const [name, ms] of results) {
    summary.set(name, {
      median: median(ms.map((m) => m.rate)),
      min: min(ms.map((m) => m.rate)),
      max: max(ms.map((m) => m.rate)),
      p50: median(ms.map((m) => m.p50)),
      p99: median(ms.map((m) => m.p99)),
      itemsPerCall: median(ms.map((m) => m.itemsPerCall)),
      sinkMs: median(ms.map((m) => m.sinkMs)),
      started: ms.reduce((s, m) => s + m.started, 0),
      delivered: ms.reduce((s, m) => s + m.delivered, 0),
      errors: ms.reduce((s, m) => s + m.errors, 0),
    });
  }
  const rates = (name: string): number[] | undefined => results.get(name)?.map((m) => m.rate);
  const rows: string[][] = [];
  for (const partitions of PARTITION_COUNTS) {
    const bare = summary.get(names.bare(partitions));
    const slow = summary.get(names.interval(partitions));
    for (const name of [names.grouped(partitions), names.interval(partitions), names.bare(partitions)]) {
      const s = summary.get(name);
      if (!s) {
        if (name === names.grouped(partitions) && refusal !== null) rows.push([name, 'not available', '–', '–', '–', '–', '–', '–', '–']);
        continue;
      }
      rows.push([
        name,
        fmtRate(s.median),
        `${fmtRate(s.min)} – ${fmtRate(s.max)}`,
        fmtMs(s.p50),
        fmtMs(s.p99),
        s.itemsPerCall.toFixed(1),
        fmtPct(s.delivered, s.started),
        bare ? fmtRatio(s.median / bare.median) : 'n/a',
        slow ? fmtRatio(s.median / slow.median) : 'n/a',
      ]);
    }
  }

  const targets: TargetResult[] = [];
  for (const partitions of PARTITION_COUNTS) {
    const name = names.grouped(partitions);
    const s = summary.get(name);
    const bare = summary.get(names.bare(partitions));
    const rateTarget = `6. group commit, partitions ${partitions}: commitDelay 0 ≥ 10× the commits/s of one handler call per commit`;
    const p99Target = `6. group commit, partitions ${partitions}: p99 commit latency ≤ 2.5 × sink time + 1 ms`;
    if (!s || !bare) {
      const why = refusal ?? 'not measured';
      targets.push({ target: rateTarget, measured: why, met: null, unavailable: refusal ?? undefined });
      targets.push({ target: p99Target, measured: why, met: null, unavailable: refusal ?? undefined });
      continue;
    }
    const complete = s.delivered === s.started && s.errors === 0;
    targets.push({
      target: rateTarget,
      measured:
        `${fmtTarget(s.median / bare.median)} (per-round ${fmtTarget(pairedRatio(rates(name), rates(names.bare(partitions))))}; ` +
        `${fmtRate(s.median)} vs ${fmtRate(bare.median)}), ${fmtPct(s.delivered, s.started)} delivered`,
      met: s.median / bare.median >= 10 && complete,
    });
    const limit = 2.5 * s.sinkMs + 1;
    targets.push({
      target: p99Target,
      measured: `p99 ${fmtMs(s.p99)} ≤ ${fmtMs(limit)} (sink call measured at ${fmtMs(s.sinkMs)}, median; p50 ${fmtMs(s.p50)})`,
      met: s.p99 <= limit && complete,
    });
  }

  const notes: string[] = [];
  if (!haveLib) notes.push(`DataBuffer not measured: ${libraryError()}`);
  else if (refusal !== null) notes.push(`commitDelay not available: ${refusal}`);
  return {
    id: 'group-commit',
    title: '6. Group commit',
    setup:
      `${COMMITTERS} committers, each awaiting \`commit(item)\` in a loop, for ${fmtInt(windowMs)} ms of real time ` +
      `(${fmtInt(slowWindowMs)} ms for the buffer without commitDelay, so its window holds a whole interval); ` +
      `the sink awaits a ${SINK_MS} ms timer per call. Buffers: batch size ${BATCH}, interval ${INTERVAL} ms, capacity ${fmtInt(CAPACITY)}, ` +
      `with \`commitDelay: 0\` and without it. The bare writer makes one handler call per commit with at most \`partitions\` ` +
      `calls at once (a pool of that size). commits/s counts the commits that resolved within the window; latency is one ` +
      `commit from call to resolution; "items/call" is what one sink call carried; "delivered" is what the sink received ` +
      `of the commits started (the ones still waiting at the end of the window are released by a flush). The p99 target uses ` +
      `the sink call's measured median duration (a ${SINK_MS} ms timer takes a little longer). ` +
      `${config.warmup} warm-up + ${config.trials} interleaved trials per contender, median.`,
    columns: ['contender', 'commits/s (median)', 'range', 'p50 latency', 'p99 latency', 'items/call', 'delivered', 'vs bare', 'vs no commitDelay'],
    rows,
    targets,
    notes,
    data: { windowMs, slowWindowMs, trials: Object.fromEntries(results), summary: Object.fromEntries(summary) },
  };
}
