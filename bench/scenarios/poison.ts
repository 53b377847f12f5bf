/**
 * Scenario 9: poison items. A batch of 1,000 items with one poison item (the sink refuses every
 * call that holds it) under `splitOnFailure`, with the poison at several places in the batch:
 * handler attempts until every item is settled, items delivered (999) and what reached the error
 * handler (the poison item alone). Then the same batch with the sink down (every call fails):
 * attempts until the stop rule hands everything to the error handler. References: the same
 * buffer without `splitOnFailure`, and a bare bisection without a stop rule (Lambda's
 * `BisectBatchOnFunctionError`).
 */
import { Item, makeItems } from '../common/item';
import { createBuffer, libraryAvailable, libraryError, optionRefusal, type BenchOptions } from '../common/library';
import type { ScenarioResult, TargetResult } from '../common/result';
import { fmtInt, fmtMs, max, median, min } from '../common/stats';
import { interleaved, type Contender } from '../common/trials';
import type { BenchConfig } from '../common/config';
import { bareBisect } from '../baselines/bare-bisect';

const N = 1000;
const RETRIES = 3;
const POSITIONS = [0, 499, 500, 637, 999];
/** the place of the poison item in the reference rows */
const REFERENCE_POSITION = 637;
const SETTLE_TIMEOUT_MS = 30_000;

interface Measure {
  /** handler calls until every item was settled */
  attempts: number;
  delivered: number;
  /** items handed to the error handler, and in how many calls */
  failed: number;
  errorCalls: number;
  /** the error handler received exactly the poison item (poison runs) or every item (sink down) */
  rightFailures: boolean;
  ms: number;
}

/** `poison`: the id the sink refuses, or 'down' (it refuses everything). */
type Poison = number | 'down';

class PoisonSink {
  attempts = 0;
  delivered = 0;
  failedIds: number[] = [];
  errorCalls = 0;
  constructor(private readonly poison: Poison) {}

  readonly handle = async (items: readonly Item[]): Promise<void> => {
    this.attempts++;
    if (this.poison === 'down') throw new Error('sink down');
    for (let i = 0; i < items.length; i++) {
      if (items[i].id === this.poison) throw new Error(`item ${this.poison} refused`);
    }
    this.delivered += items.length;
  };

  readonly onError = (_error: unknown, items: readonly Item[]): void => {
    this.errorCalls++;
    for (const item of items) this.failedIds.push(item.id);
  };

  rightFailures(): boolean {
    if (this.poison === 'down') return this.failedIds.length === N && new Set(this.failedIds).size === N;
    return this.failedIds.length === 1 && this.failedIds[0] === this.poison;
  }
}

async function runBuffer(poison: Poison, splitOnFailure: boolean): Promise<Measure> {
  const sink = new PoisonSink(poison);
  let settled!: () => void;
  const done = new Promise<void>((resolve) => (settled = resolve));
  const check = (): void => {
    if (sink.delivered + sink.failedIds.length >= N) settled();
  };
  const options: BenchOptions<Item> = { maxSize: N, capacity: N, interval: 60_000, retries: RETRIES, retryDelay: 0 };
  if (splitOnFailure) options.splitOnFailure = true;
  const buffer = createBuffer<Item>(options, {
    onFlush: async (items) => {
      await sink.handle(items);
      check();
    },
    onFlushError: (error, items) => {
      sink.onError(error, items);
      check();
    },
  });
  const items = makeItems(N);
  const t0 = performance.now();
  buffer.insertMany(items); // the 1,000th item seals the batch (reason 'size')
  const timeout = setTimeout(settled, SETTLE_TIMEOUT_MS);
  await done;
  const ms = performance.now() - t0;
  clearTimeout(timeout);
  await buffer.close(5000);
  return {
    attempts: sink.attempts,
    delivered: sink.delivered,
    failed: sink.failedIds.length,
    errorCalls: sink.errorCalls,
    rightFailures: sink.rightFailures(),
    ms: Math.round(ms * 100) / 100,
  };
}

async function runBare(poison: Poison): Promise<Measure> {
  const sink = new PoisonSink(poison);
  const t0 = performance.now();
  await bareBisect(makeItems(N), RETRIES, sink.handle, sink.onError);
  const ms = performance.now() - t0;
  return {
    attempts: sink.attempts,
    delivered: sink.delivered,
    failed: sink.failedIds.length,
    errorCalls: sink.errorCalls,
    rightFailures: sink.rightFailures(),
    ms: Math.round(ms * 100) / 100,
  };
}

const names = {
  poison: (at: number) => `DataBuffer splitOnFailure, poison at ${at}`,
  down: 'DataBuffer splitOnFailure, sink down',
  plain: `reference: DataBuffer without splitOnFailure, poison at ${REFERENCE_POSITION}`,
  barePoison: `reference: bare bisection (no stop rule), poison at ${REFERENCE_POSITION}`,
  bareDown: 'reference: bare bisection (no stop rule), sink down',
};

export async function run(config: BenchConfig, log: (line: string) => void): Promise<ScenarioResult> {
  const haveLib = libraryAvailable();
  if (!haveLib) log(`  library skipped: ${libraryError()}`);
  const refusal = haveLib ? await optionRefusal<Item>({ splitOnFailure: true }) : libraryError();
  if (haveLib && refusal) log(`  splitOnFailure not available: ${refusal}`);

  const contenders: Contender<Measure>[] = [];
  if (refusal === null) {
    for (const at of POSITIONS) contenders.push({ name: names.poison(at), run: () => runBuffer(at, true) });
    contenders.push({ name: names.down, run: () => runBuffer('down', true) });
  }
  if (haveLib) contenders.push({ name: names.plain, run: () => runBuffer(REFERENCE_POSITION, false) });
  contenders.push({ name: names.barePoison, run: () => runBare(REFERENCE_POSITION) });
  contenders.push({ name: names.bareDown, run: () => runBare('down') });

  const results = await interleaved(contenders, config.warmup, config.trials, log);
  const summary = new Map<string, { attempts: number; delivered: number; failed: number; errorCalls: number; rightFailures: boolean; ms: number; msMin: number; msMax: number }>();
  for (const [name, ms] of results) {
    // attempts are the same in every trial of a deterministic sink; the worst counts
    summary.set(name, {
      attempts: max(ms.map((m) => m.attempts)),
      delivered: min(ms.map((m) => m.delivered)),
      failed: max(ms.map((m) => m.failed)),
      errorCalls: max(ms.map((m) => m.errorCalls)),
      rightFailures: ms.every((m) => m.rightFailures),
      ms: median(ms.map((m) => m.ms)),
      msMin: min(ms.map((m) => m.ms)),
      msMax: max(ms.map((m) => m.ms)),
    });
  }

  const log2n = Math.log2(N);
  const poisonBound = 2 * log2n + RETRIES + 2;
  const downBound = RETRIES + log2n + 3;
  const rows: string[][] = [];
  const listed = [...POSITIONS.map(names.poison), names.down, names.plain, names.barePoison, names.bareDown];
  for (const name of listed) {
    const s = summary.get(name);
    if (!s) {
      rows.push([name, 'not available', '–', '–', '–', '–', '–']);
      continue;
    }
    rows.push([
      name,
      fmtInt(s.attempts),
      `${fmtInt(s.delivered)} of ${fmtInt(N)}`,
      fmtInt(s.failed),
      fmtInt(s.errorCalls),
      fmtMs(s.ms),
      `${fmtMs(s.msMin)} – ${fmtMs(s.msMax)}`,
    ]);
  }

  const targets: TargetResult[] = [];
  const poisonTarget = `9. poison: one poison item in ${fmtInt(N)}, splitOnFailure: attempts ≤ 2·log2(n) + retries + 2 (${poisonBound.toFixed(1)}), ${fmtInt(N - 1)} delivered`;
  const downTarget = `9. poison, sink down: attempts ≤ retries + log2(n) + 3 (${downBound.toFixed(1)}), everything to the error handler`;
  const poisonRuns = POSITIONS.map((at) => summary.get(names.poison(at))).filter((s) => s !== undefined);
  if (poisonRuns.length === POSITIONS.length) {
    const worst = max(poisonRuns.map((s) => s.attempts));
    const delivered = min(poisonRuns.map((s) => s.delivered));
    const right = poisonRuns.every((s) => s.rightFailures);
    targets.push({
      target: poisonTarget,
      measured:
        `at most ${fmtInt(worst)} attempts (poison at ${POSITIONS.join(', ')}: ${poisonRuns.map((s) => s.attempts).join(', ')}), ` +
        `${fmtInt(delivered)} delivered, ${right ? 'the poison item alone' : 'other items too'} to the error handler`,
      met: worst <= poisonBound && delivered === N - 1 && right,
    });
  } else {
    targets.push({ target: poisonTarget, measured: refusal ?? 'n/a', met: null, unavailable: refusal ?? undefined });
  }
  const down = summary.get(names.down);
  if (down) {
    targets.push({
      target: downTarget,
      measured: `${fmtInt(down.attempts)} attempts, ${fmtInt(down.failed)} items in ${fmtInt(down.errorCalls)} error-handler calls`,
      met: down.attempts <= downBound && down.rightFailures && down.delivered === 0,
    });
  } else {
    targets.push({ target: downTarget, measured: refusal ?? 'n/a', met: null, unavailable: refusal ?? undefined });
  }

  const notes: string[] = [];
  if (!haveLib) notes.push(`DataBuffer not measured: ${libraryError()}`);
  else if (refusal !== null) notes.push(`splitOnFailure not available: ${refusal}`);
  return {
    id: 'poison',
    title: '9. Poison items (splitOnFailure)',
    setup:
      `One batch of ${fmtInt(N)} items (maxSize ${fmtInt(N)}, sealed by its last insert), retries ${RETRIES}, retryDelay 0; ` +
      `the sink fails every call that holds the poison item (at ${POSITIONS.join(', ')} in the batch), or every call ` +
      `("sink down"). "attempts" counts handler calls until every item is settled (delivered or handed to the error handler), ` +
      `"to the error handler" the items it received and in how many calls. References: the same buffer without ` +
      `\`splitOnFailure\`, and a bare bisection without a stop rule. ${config.warmup} warm-up + ${config.trials} interleaved ` +
      `trials per contender; attempts and items are the same in every trial (the worst is shown), time is the median.`,
    columns: ['contender', 'attempts', 'delivered', 'to the error handler', 'error-handler calls', 'time to settle (median)', 'range'],
    rows,
    targets,
    notes,
    data: { items: N, retries: RETRIES, trials: Object.fromEntries(results), summary: Object.fromEntries(summary) },
  };
}
