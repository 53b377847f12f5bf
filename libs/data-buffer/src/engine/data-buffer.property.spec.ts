import diagnosticsChannel from 'node:diagnostics_channel';
import fc from 'fast-check';
import {
  BufferClosedError,
  BufferFullError,
  DataBufferError,
  FlushFailedError,
  FlushTimeoutError,
  InvalidBufferOptionsError,
  ShutdownTimeoutError,
} from '../errors';
import type { BufferKey, OverflowStrategy, ResolvedBufferOptions, RetryBackoff } from './buffer-options.interface';
import { DROP_CHANNEL_NAME, type DropMessage } from './channels';
import { DataBuffer } from './data-buffer';
import type { FlushContext, FlushReport } from './flush-context.interface';

/*
 * Model-based property test of the engine: random sequences of inserts, commits, flushes,
 * drains, option changes and clock advances against one `DataBuffer` under fake timers,
 * with a flush handler whose behaviour per attempt (success, throw, reject, hang) is drawn
 * too. After every command the observed world must agree with the public contract: every
 * item is in exactly one place, the stats balance and match what we observed, order per
 * key and per lane holds, no batch is too big, a lane runs one attempt at a time, and
 * every commit() settles the way its item ended.
 *
 * Reproduce a failure with FC_SEED=<seed> (and FC_PATH=<path> printed by fast-check).
 */

const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 0x5eed_da7a;
const RUNS = process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : 2000;
const REPLAY_PATH = process.env.FC_PATH;

type Key = BufferKey | undefined;
/** Keys of both types, with the ones Map semantics keep apart (0 / '' / 1 / '1'). */
const KEYS: readonly BufferKey[] = [0, '', 1, '1', 'a'];

/** Handler delays stay below the smallest flushTimeout we draw, so a slow success is a success. */
const MAX_HANDLER_DELAY = 10;
const MIN_FLUSH_TIMEOUT = 15;
const START_TIME = 1_700_000_000_000;

interface Item {
  readonly id: number;
}

type Behaviour =
  | { kind: 'ok' }
  | { kind: 'okLater'; ms: number }
  | { kind: 'throw' }
  | { kind: 'rejectLater'; ms: number }
  | { kind: 'hang' };

type ErrorBehaviour = { kind: 'ok' } | { kind: 'throw' } | { kind: 'okLater'; ms: number };

type Command =
  | { t: 'insert'; key: Key }
  | { t: 'insertMany'; n: number; key: Key; asIterable: boolean }
  | { t: 'commit'; key: Key }
  | { t: 'flush'; key: Key }
  | { t: 'advance'; ms: number }
  | { t: 'update'; patch: Record<string, unknown>; invalid: Record<string, unknown> | null }
  | { t: 'drain'; key: Key };

interface Scenario {
  options: Record<string, unknown>;
  commands: Command[];
  close: { timeout: number } | null;
  behaviours: Behaviour[];
  errorBehaviours: ErrorBehaviour[];
  randomSeed: number;
}

// ---- arbitraries -----------------------------------------------------------------------

const mutableOptionArbs = {
  interval: fc.integer({ min: 5, max: 100 }),
  jitter: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10 })),
  maxSize: fc.integer({ min: 1, max: 8 }),
  maxSizeJitter: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 })),
  capacity: fc.integer({ min: 1, max: 24 }),
  overflow: fc.constantFrom<OverflowStrategy>('reject', 'drop-oldest', 'drop-newest'),
  waitTimeout: fc.constantFrom(0, 10, 40, 150),
  flushTimeout: fc.integer({ min: MIN_FLUSH_TIMEOUT, max: 60 }),
  retries: fc.integer({ min: 0, max: 2 }),
  retryDelay: fc.integer({ min: 0, max: 20 }),
  retryBackoff: fc.constantFrom<RetryBackoff>('fixed', 'exponential'),
  maxRetryDelay: fc.integer({ min: 0, max: 40 }),
  meta: fc.integer({ min: 0, max: 1000 }),
};

/** One lane half the time: then every pending item's lane is known and drop-oldest can be checked exactly. */
const optionsArb = fc.record(
  { partitions: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4 })), ...mutableOptionArbs },
  { requiredKeys: ['partitions', 'maxSize', 'interval', 'capacity', 'overflow', 'retries', 'retryDelay', 'flushTimeout'] },
);

const keyArb: fc.Arbitrary<Key> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: fc.constantFrom(...KEYS) },
);

/** Patches that must be refused as a whole (merged into an otherwise valid patch). */
const invalidPatchArb = fc.constantFrom<Record<string, unknown>>(
  { maxSize: 0 },
  { interval: 1.5 },
  { capacity: '5' },
  { overflow: 'drop-all' },
  { retries: -1 },
  { flushTimeout: Number.NaN },
  { retryBackoff: 'linear' },
  { partitions: 2 },
  { name: 'renamed' },
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('insert' as const), key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('insertMany' as const),
      n: fc.integer({ min: 0, max: 6 }),
      key: keyArb,
      asIterable: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('commit' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('flush' as const), key: keyArb }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 30, max: 250 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('update' as const),
      patch: fc.record(mutableOptionArbs, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>,
      invalid: fc.option(invalidPatchArb, { freq: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drain' as const), key: keyArb }) },
);

const behaviourArb: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'ok' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('okLater' as const), ms: fc.integer({ min: 0, max: MAX_HANDLER_DELAY }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'throw' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rejectLater' as const), ms: fc.integer({ min: 0, max: MAX_HANDLER_DELAY }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hang' as const }) },
);

const errorBehaviourArb: fc.Arbitrary<ErrorBehaviour> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'ok' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'throw' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('okLater' as const), ms: fc.integer({ min: 0, max: MAX_HANDLER_DELAY }) }) },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  options: optionsArb as fc.Arbitrary<Record<string, unknown>>,
  commands: fc.array(commandArb, { minLength: 1, maxLength: 40, size: 'max' }),
  close: fc.option(fc.record({ timeout: fc.constantFrom(0, 5, 40, 150, 15_000) }), { freq: 2 }),
  behaviours: fc.array(behaviourArb, { minLength: 1, maxLength: 12 }),
  errorBehaviours: fc.array(errorBehaviourArb, { minLength: 1, maxLength: 4 }),
  randomSeed: fc.integer(),
});

// ---- the observer ----------------------------------------------------------------------

/** What we know about one item we handed to the buffer. */
interface ItemInfo {
  id: number;
  key: Key;
  obj: Item;
  /** inserted: counted by the buffer; waiting: a commit() waiting for room; refused: never inserted. */
  status: 'inserted' | 'waiting' | 'refused';
  /** Insertion order is known to lie in [seqLo, seqHi] (a point for direct inserts). */
  seqLo: number;
  seqHi: number;
  /** Index range of the option versions in force at insertion. */
  vLo: number;
  vHi: number;
  /** Time range of the insertion. */
  tLo: number;
  tHi: number;
  commit: CommitRec | null;
}

interface BatchRec {
  id: string;
  ids: number[];
  key: Key;
  partition: number;
  reason: string;
  state: 'attempt' | 'between' | 'success' | 'failed';
  attempts: number;
  lastEnd: number;
  lastError: unknown;
  errorGiven: unknown;
  vRange: [number, number];
}

interface AttemptRec {
  batch: BatchRec;
  attempt: number;
  start: number;
  ended: boolean;
}

interface CommitRec {
  info: ItemInfo;
  calledAt: number;
  waitTimeout: number;
  immediate: boolean;
  state: 'pending' | 'resolved' | 'rejected';
  error: unknown;
  settledAt: number;
}

interface FlushRec {
  key: Key;
  closedAtCall: boolean;
  pendingIds: number[];
  inFlightIds: number[];
  minBatches: number;
  maxBatches: number;
  state: 'pending' | 'resolved' | 'rejected';
}

interface SingleInsertProbe {
  before: number[];
  messages: number;
  evicted: number[];
  message: DropMessage | null;
}

/** Same option values, whatever the key order. */
function sameOptions(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const key of keys) if (!Object.is(x[key], y[key])) return false;
  return true;
}

const idsOf = (items: readonly Item[]): number[] => items.map((item) => item.id);
const showKey = (key: Key): string => (key === undefined ? 'unkeyed' : typeof key === 'string' ? JSON.stringify(key) : String(key));
const describeError = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function retryWait(opts: ResolvedBufferOptions, retry: number): number {
  if (opts.retryBackoff === 'fixed') return opts.retryDelay;
  return Math.min(opts.maxRetryDelay, opts.retryDelay * 2 ** (retry - 1));
}

let runCounter = 0;

class World {
  readonly name = `prop-${++runCounter}`;
  readonly buf: DataBuffer<Item>;
  readonly violations: string[] = [];
  readonly logs: string[] = [];
  readonly versions: ResolvedBufferOptions[] = [];
  readonly items = new Map<number, ItemInfo>();
  readonly success = new Set<number>();
  readonly failed = new Set<number>();
  readonly drained = new Set<number>();
  readonly knownDropped = new Set<number>();
  readonly handedTo = new Map<number, BatchRec>();
  readonly batches = new Map<string, BatchRec>();
  readonly laneAttempt: (AttemptRec | null)[];
  readonly keyLane = new Map<BufferKey, number>();
  readonly streams = new Map<string, number[]>();
  readonly commits: CommitRec[] = [];
  readonly flushes: FlushRec[] = [];
  errorHandlersActive = 0;
  dropMessages = 0;
  /** Once drop-oldest evicted something, a batch's first item may no longer be the one that opened it. */
  evictedSomething = false;
  /**
   * Items pending when updateOptions switched overflow to 'drop-oldest'. The engine keeps the
   * insertion order across a lane's keyed batches only while drop-oldest is in force; for
   * these items it falls back to batch order, and a run of commits that share one promise is
   * evicted together. Evictions touching them are checked for accounting, not exact identity.
   */
  readonly preSwitch = new Set<number>();
  manualFlushes = 0;
  closedAt: number | null = null;
  closeState: 'none' | 'pending' | 'resolved' | 'rejected' = 'none';
  successBatches = 0;
  retryAttempts = 0;
  shutdownFailures = 0;
  insertedCount = 0;
  step = 'setup';
  private nextId = 0;
  private seqClock = 0;
  private behaviourCursor = 0;
  private errorCursor = 0;
  private single: SingleInsertProbe | null = null;
  private readonly onDropMessage = (message: unknown) => this.onDrop(message as DropMessage);

  constructor(private readonly scenario: Scenario) {
    this.buf = new DataBuffer<Item>(
      { name: this.name, ...scenario.options } as never,
      {
        onFlush: (items, ctx) => this.onFlush(items, ctx),
        onFlushError: (error, items, ctx) => this.onFlushError(error, items, ctx),
        logger: {
          error: (message) => this.logs.push(`error: ${message}`),
          warn: (message) => this.logs.push(`warn: ${message}`),
        },
      },
    );
    this.versions.push({ ...this.buf.options });
    this.laneAttempt = Array.from({ length: this.buf.partitions }, () => null);
    diagnosticsChannel.subscribe(DROP_CHANNEL_NAME, this.onDropMessage);
    this.buf.start();
  }

  dispose(): void {
    diagnosticsChannel.unsubscribe(DROP_CHANNEL_NAME, this.onDropMessage);
  }

  get opts(): ResolvedBufferOptions {
    return this.versions[this.versions.length - 1];
  }

  private get version(): number {
    return this.versions.length - 1;
  }

  violation(message: string): void {
    this.violations.push(`[${this.step} @t+${Date.now() - START_TIME}] ${message}`);
  }

  /** Fails the run with everything that went wrong so far. */
  assertClean(): void {
    const internal = this.logs.filter((line) => line.includes('Unexpected error'));
    for (const line of internal) this.violation(`engine logged an internal error: ${line}`);
    if (this.violations.length > 0) {
      throw new Error(`${this.violations.length} violation(s):\n  ${this.violations.slice(0, 12).join('\n  ')}`);
    }
  }

  // ---- items ---------------------------------------------------------------------------

  private newItem(key: Key, status: ItemInfo['status']): ItemInfo {
    const id = this.nextId++;
    const now = Date.now();
    const info: ItemInfo = {
      id,
      key,
      obj: { id },
      status,
      seqLo: this.seqClock + 0.5,
      seqHi: Infinity,
      vLo: this.version,
      vHi: this.version,
      tLo: now,
      tHi: Infinity,
      commit: null,
    };
    this.items.set(id, info);
    return info;
  }

  /** The buffer took the item just now (synchronously, in this command). */
  private markInserted(info: ItemInfo): void {
    const seq = ++this.seqClock;
    info.status = 'inserted';
    info.seqLo = info.seqHi = seq;
    info.vLo = info.vHi = this.version;
    info.tLo = info.tHi = Date.now();
    this.insertedCount++;
  }

  /** A waiting commit's item showed up: it was admitted at some point since its call. */
  private markSeen(info: ItemInfo): void {
    if (info.status !== 'waiting') return;
    if (info.commit !== null && info.commit.state === 'rejected' && info.commit.error instanceof BufferFullError && info.commit.settledAt - info.commit.calledAt === info.commit.waitTimeout) {
      this.violation(`item ${info.id}: its commit() timed out waiting for room, yet the item was inserted`);
    }
    info.status = 'inserted';
    info.seqHi = this.seqClock + 0.5;
    info.vHi = this.version;
    info.tHi = Date.now();
    this.insertedCount++;
  }

  private waitingCommits(): number {
    let count = 0;
    for (const commit of this.commits) if (commit.info.status === 'waiting' && commit.state === 'pending') count++;
    return count;
  }

  private rangeOfBatch(first: ItemInfo): [number, number] {
    return [this.evictedSomething ? 0 : first.vLo, first.vHi];
  }

  private over<R>(range: [number, number], pick: (opts: ResolvedBufferOptions) => R): R[] {
    return this.versions.slice(range[0], range[1] + 1).map(pick);
  }

  private learnLane(key: BufferKey, partition: number, where: string): void {
    const known = this.keyLane.get(key);
    if (known === undefined) this.keyLane.set(key, partition);
    else if (known !== partition) this.violation(`key ${showKey(key)} went to lane ${known} and then to lane ${partition} (${where})`);
  }

  private laneOfItem(info: ItemInfo): number | undefined {
    if (this.buf.partitions === 1) return 0;
    return info.key === undefined ? undefined : this.keyLane.get(info.key);
  }

  private inFlightObserved(): BatchRec[] {
    const out: BatchRec[] = [];
    for (const batch of this.batches.values()) if (batch.state === 'attempt' || batch.state === 'between') out.push(batch);
    return out;
  }

  // ---- the handlers --------------------------------------------------------------------

  /** Checks shared by the first time a batch is seen (first attempt, or error handler of a batch never attempted). */
  private firstAppearance(ids: number[], ctx: FlushContext, via: string): [number, number] {
    const now = Date.now();
    const pendingNow = new Set(idsOf(this.buf.dump()));
    if (ids.length === 0) this.violation(`${via} got an empty batch ${ctx.batchId}`);
    if (new Set(ids).size !== ids.length) this.violation(`${via} got a batch with the same item twice: [${ids.join(',')}]`);
    for (const id of ids) {
      const info = this.items.get(id);
      if (info === undefined) {
        this.violation(`${via} got an item we never inserted (${id})`);
        continue;
      }
      if (info.status === 'refused') this.violation(`${via} got item ${id} whose insert was refused`);
      this.markSeen(info);
      if (pendingNow.has(id)) this.violation(`item ${id} is in a batch handed to ${via} and still pending (dump)`);
      const earlier = this.handedTo.get(id);
      if (earlier !== undefined) this.violation(`item ${id} is in two batches: ${earlier.id} and ${ctx.batchId}`);
      if (this.success.has(id) || this.failed.has(id)) this.violation(`item ${id} handed over again after it settled`);
      if (this.drained.has(id)) this.violation(`item ${id} was drained and later handed to ${via}`);
      if (this.knownDropped.has(id)) this.violation(`item ${id} was dropped and later handed to ${via}`);
      if (!Object.is(info.key, ctx.key)) this.violation(`item ${id} of key ${showKey(info.key)} is in a batch of key ${showKey(ctx.key)}`);
    }
    if (ctx.key !== undefined) this.learnLane(ctx.key, ctx.partition, `${via} ${ctx.batchId}`);

    // Order per key (and per lane for unkeyed items): nothing inserted later may come first.
    const stream = ctx.key === undefined ? `lane ${ctx.partition}` : `key ${showKey(ctx.key)}`;
    const list = this.streams.get(stream) ?? [];
    this.streams.set(stream, list);
    for (const id of ids) {
      const later = this.items.get(id);
      if (later === undefined) continue;
      for (const prev of list) {
        const earlier = this.items.get(prev) as ItemInfo;
        if (later.seqHi < earlier.seqLo) {
          this.violation(`order broken in ${stream}: item ${id} was inserted before item ${prev} but reached the handler after it`);
        }
      }
      list.push(id);
    }

    const first = this.items.get(ids[0]);
    const range: [number, number] = first === undefined ? [0, this.version] : this.rangeOfBatch(first);
    const bound = Math.max(...this.over(range, (o) => o.maxSize + o.maxSizeJitter));
    if (ids.length > bound) this.violation(`${via} got ${ids.length} items in batch ${ctx.batchId}: more than maxSize + maxSizeJitter (${bound})`);
    const reasons = ['size', 'interval', 'manual', 'shutdown'];
    if (!reasons.includes(ctx.reason)) this.violation(`unknown flush reason ${String(ctx.reason)}`);
    if (ctx.reason === 'size') {
      const least = Math.min(...this.over(range, (o) => o.maxSize));
      if (ids.length < least) this.violation(`batch ${ctx.batchId} of ${ids.length} items has reason 'size' but maxSize was ≥ ${least}`);
    }
    if (ctx.reason === 'manual' && this.manualFlushes === 0) this.violation(`reason 'manual' without any flush() call`);
    if (ctx.reason === 'shutdown' && this.closedAt === null) this.violation(`reason 'shutdown' before close()`);
    if (ctx.reason === 'interval' && first !== undefined && !this.evictedSomething) {
      const least = Math.min(...this.over(range, (o) => o.interval));
      if (now - first.tLo < least) this.violation(`batch ${ctx.batchId} flushed for 'interval' after ${now - first.tLo} ms, interval was ≥ ${least}`);
    }
    const metas = this.over(range, (o) => o.meta);
    if (!metas.some((meta) => Object.is(meta, ctx.meta))) this.violation(`ctx.meta ${String(ctx.meta)} is none of the metas in force (${metas.join(',')})`);
    return range;
  }

  private onFlush(items: Item[], ctx: FlushContext): unknown {
    const now = Date.now();
    const ids = idsOf(items);
    let batch = this.batches.get(ctx.batchId);
    try {
      if (ctx.buffer !== this.name) this.violation(`ctx.buffer is ${ctx.buffer}`);
      if (!Number.isInteger(ctx.partition) || ctx.partition < 0 || ctx.partition >= this.buf.partitions) {
        this.violation(`ctx.partition ${ctx.partition} is out of range`);
      }
      const running = this.laneAttempt[ctx.partition];
      if (running !== null && running !== undefined) {
        this.violation(`lane ${ctx.partition} started ${ctx.batchId}#${ctx.attempt} while ${running.batch.id}#${running.attempt} was still running`);
      }
      for (const other of this.inFlightObserved()) {
        if (other.partition === ctx.partition && other !== batch) {
          this.violation(`lane ${ctx.partition} started batch ${ctx.batchId} before batch ${other.id} finished its attempts`);
        }
      }
      if (batch === undefined) {
        if (ctx.attempt !== 1) this.violation(`new batch ${ctx.batchId} starts at attempt ${ctx.attempt}`);
        const vRange = this.firstAppearance(ids, ctx, 'onFlush');
        batch = {
          id: ctx.batchId,
          ids,
          key: ctx.key,
          partition: ctx.partition,
          reason: ctx.reason,
          state: 'attempt',
          attempts: 0,
          lastEnd: now,
          lastError: undefined,
          errorGiven: undefined,
          vRange,
        };
        this.batches.set(ctx.batchId, batch);
        for (const id of ids) this.handedTo.set(id, batch);
      } else {
        if (batch.state !== 'between') this.violation(`batch ${batch.id} attempted again while ${batch.state}`);
        if (ctx.attempt !== batch.attempts + 1) this.violation(`batch ${batch.id}: attempt ${ctx.attempt} follows attempt ${batch.attempts}`);
        if (ids.length !== batch.ids.length || ids.some((id, i) => id !== batch?.ids[i])) {
          this.violation(`batch ${batch.id}: attempt ${ctx.attempt} got [${ids.join(',')}], attempt 1 got [${batch.ids.join(',')}]`);
        }
        if (!Object.is(ctx.key, batch.key) || ctx.partition !== batch.partition || ctx.reason !== batch.reason) {
          this.violation(`batch ${batch.id}: key/partition/reason changed between attempts`);
        }
        const maxAttempts = Math.max(...this.over(batch.vRange, (o) => o.retries + 1));
        if (ctx.attempt > maxAttempts) this.violation(`batch ${batch.id}: attempt ${ctx.attempt} > retries + 1 (${maxAttempts})`);
        const waits = this.over(batch.vRange, (o) => retryWait(o, batch?.attempts ?? 0));
        if (!waits.includes(now - batch.lastEnd)) {
          this.violation(`batch ${batch.id}: retry ${batch.attempts} started ${now - batch.lastEnd} ms after the failure, expected ${[...new Set(waits)].join(' or ')}`);
        }
        this.retryAttempts++;
      }
    } catch (error) {
      this.violation(`observer error in onFlush: ${describeError(error)}`);
    }
    if (batch === undefined) return undefined;
    const rec = batch;
    rec.attempts = ctx.attempt;
    rec.state = 'attempt';
    const attempt: AttemptRec = { batch: rec, attempt: ctx.attempt, start: now, ended: false };
    this.laneAttempt[ctx.partition] = attempt;
    const end = (failed: boolean, error: unknown) => {
      if (attempt.ended) return;
      attempt.ended = true;
      if (this.laneAttempt[ctx.partition] === attempt) this.laneAttempt[ctx.partition] = null;
      rec.lastEnd = Date.now();
      if (failed) {
        rec.lastError = error;
        rec.state = 'between';
        return;
      }
      rec.state = 'success';
      this.successBatches++;
      for (const id of rec.ids) this.success.add(id);
    };
    ctx.signal.addEventListener(
      'abort',
      () => {
        const reason: unknown = ctx.signal.reason;
        if (attempt.ended) {
          if (!(reason instanceof ShutdownTimeoutError)) this.violation(`signal of ${rec.id}#${attempt.attempt} aborted after the attempt ended (${describeError(reason)})`);
          return;
        }
        if (reason instanceof FlushTimeoutError) {
          const took = Date.now() - attempt.start;
          const limits = this.over(rec.vRange, (o) => o.flushTimeout);
          if (!limits.includes(took)) this.violation(`attempt ${rec.id}#${attempt.attempt} timed out after ${took} ms, flushTimeout was ${limits.join(' or ')}`);
        } else if (!(reason instanceof ShutdownTimeoutError)) {
          this.violation(`signal of ${rec.id}#${attempt.attempt} aborted with ${describeError(reason)}`);
        }
        end(true, reason);
      },
      { once: true },
    );

    const behaviour = this.scenario.behaviours[this.behaviourCursor++ % this.scenario.behaviours.length];
    switch (behaviour.kind) {
      case 'ok':
        end(false, undefined);
        return undefined;
      case 'throw': {
        const error = new Error(`thrown by ${rec.id}#${attempt.attempt}`);
        end(true, error);
        throw error;
      }
      case 'okLater':
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            if (!ctx.signal.aborted) end(false, undefined);
            resolve();
          }, behaviour.ms),
        );
      case 'rejectLater':
        return new Promise<void>((_, reject) =>
          setTimeout(() => {
            const error = new Error(`rejected by ${rec.id}#${attempt.attempt}`);
            if (!ctx.signal.aborted) end(true, error);
            reject(error);
          }, behaviour.ms),
        );
      case 'hang':
        return new Promise<void>(() => undefined);
    }
  }

  private onFlushError(error: unknown, items: Item[], ctx: FlushContext): unknown {
    const ids = idsOf(items);
    try {
      let batch = this.batches.get(ctx.batchId);
      if (batch === undefined) {
        if (!(error instanceof ShutdownTimeoutError)) {
          this.violation(`onFlushError for batch ${ctx.batchId} that was never attempted, with ${describeError(error)}`);
        }
        const vRange = this.firstAppearance(ids, ctx, 'onFlushError');
        batch = {
          id: ctx.batchId,
          ids,
          key: ctx.key,
          partition: ctx.partition,
          reason: ctx.reason,
          state: 'failed',
          attempts: 0,
          lastEnd: Date.now(),
          lastError: undefined,
          errorGiven: error,
          vRange,
        };
        this.batches.set(ctx.batchId, batch);
        for (const id of ids) this.handedTo.set(id, batch);
      } else {
        if (batch.state === 'success' || batch.state === 'failed') this.violation(`onFlushError for batch ${batch.id} that already ended (${batch.state})`);
        if (ids.length !== batch.ids.length || ids.some((id, i) => id !== batch?.ids[i])) {
          this.violation(`onFlushError for ${batch.id} got [${ids.join(',')}], the handler got [${batch.ids.join(',')}]`);
        }
        if (!Object.is(ctx.key, batch.key) || ctx.partition !== batch.partition) this.violation(`onFlushError ctx of ${batch.id} has another key/partition`);
        if (!(error instanceof ShutdownTimeoutError)) {
          if (batch.state !== 'between') this.violation(`onFlushError for ${batch.id} while its attempt is still running`);
          if (error !== batch.lastError) {
            this.violation(`onFlushError for ${batch.id} got ${describeError(error)}, the last attempt failed with ${describeError(batch.lastError)}`);
          }
          const allowed = this.over(batch.vRange, (o) => o.retries + 1);
          if (!allowed.includes(batch.attempts)) this.violation(`batch ${batch.id} gave up after ${batch.attempts} attempts, retries + 1 was ${allowed.join(' or ')}`);
          if (ctx.attempt !== batch.attempts) this.violation(`onFlushError ctx.attempt ${ctx.attempt}, last attempt was ${batch.attempts}`);
        }
        batch.state = 'failed';
        batch.errorGiven = error;
      }
      if (error instanceof ShutdownTimeoutError) {
        this.shutdownFailures++;
        if (this.closedAt === null) this.violation(`ShutdownTimeoutError before close()`);
      }
      for (const id of ids) this.failed.add(id);
    } catch (caught) {
      this.violation(`observer error in onFlushError: ${describeError(caught)}`);
    }
    const behaviour = this.scenario.errorBehaviours[this.errorCursor++ % this.scenario.errorBehaviours.length];
    if (behaviour.kind === 'throw') throw new Error('dead-letter store is down');
    if (behaviour.kind === 'okLater') {
      this.errorHandlersActive++;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          this.errorHandlersActive--;
          resolve();
        }, behaviour.ms),
      );
    }
    return undefined;
  }

  private onDrop(message: DropMessage): void {
    if (message.buffer !== this.name) return;
    this.dropMessages++;
    const fields = Object.keys(message).sort().join(',');
    if (fields !== 'buffer,key,overflow,partition') this.violation(`drop message has fields ${fields}`);
    if (message.overflow !== this.opts.overflow) this.violation(`drop message says ${message.overflow}, overflow is ${this.opts.overflow}`);
    if (message.overflow === 'drop-oldest') this.evictedSomething = true;
    if (!Number.isInteger(message.partition) || message.partition < 0 || message.partition >= this.buf.partitions) {
      this.violation(`drop message partition ${message.partition} out of range`);
    } else if (message.key !== undefined) {
      this.learnLane(message.key, message.partition, 'drop message');
    }
    const probe = this.single;
    if (probe !== null) {
      probe.messages++;
      if (probe.messages === 1) {
        const now = new Set(idsOf(this.buf.dump()));
        probe.evicted = probe.before.filter((id) => !now.has(id));
        probe.message = message;
      }
    }
  }

  // ---- commands ------------------------------------------------------------------------

  insert(key: Key): void {
    const info = this.newItem(key, 'refused');
    const stats = this.buf.stats();
    const held = stats.pending + stats.inFlight;
    const full = held >= this.opts.capacity;
    const policy = this.opts.overflow;
    const probe: SingleInsertProbe = { before: idsOf(this.buf.dump()), messages: 0, evicted: [], message: null };
    this.single = probe;
    let thrown: unknown = null;
    try {
      this.buf.insert(info.obj, key);
    } catch (error) {
      thrown = error ?? new Error('undefined thrown');
    } finally {
      this.single = null;
    }
    if (thrown !== null) {
      if (!(policy === 'reject' && full && thrown instanceof BufferFullError)) {
        this.violation(`insert (${showKey(key)}) threw ${describeError(thrown)} holding ${held}/${this.opts.capacity} under ${policy}`);
      }
      if (probe.messages > 0) this.violation(`a refused insert published ${probe.messages} drop(s)`);
      return;
    }
    if (policy === 'reject' && full) this.violation(`insert at capacity (${held}/${this.opts.capacity}) under 'reject' did not throw`);
    this.markInserted(info);
    const expectedDrops = full && policy !== 'reject' ? 1 : 0;
    const approximate = policy === 'drop-oldest' && probe.evicted.some((id) => this.preSwitch.has(id));
    if (probe.messages !== expectedDrops && !(approximate && probe.messages > expectedDrops)) {
      this.violation(`insert holding ${held}/${this.opts.capacity} under ${policy} dropped ${probe.messages} item(s), expected ${expectedDrops}`);
    }
    if (probe.messages === 0 || probe.message === null) return;
    const message = probe.message;
    if (policy === 'drop-newest' || probe.evicted.length === 0) {
      // The new item itself was dropped.
      if (probe.evicted.length > 0) this.violation(`drop-newest removed pending items [${probe.evicted.join(',')}]`);
      if (!Object.is(message.key, key)) this.violation(`drop of the new item names key ${showKey(message.key)}, not ${showKey(key)}`);
      this.knownDropped.add(info.id);
      if (policy === 'drop-oldest') {
        const laneItems = this.itemsOfLane(probe.before, message.partition);
        if (laneItems !== null && laneItems.length > 0) {
          this.violation(`drop-oldest dropped the new item although lane ${message.partition} had pending items [${laneItems.map((i) => i.id).join(',')}]`);
        }
      }
      return;
    }
    for (const id of probe.evicted) this.knownDropped.add(id);
    const target = key === undefined ? (this.buf.partitions === 1 ? 0 : undefined) : this.keyLane.get(key);
    if (target !== undefined && target !== message.partition) {
      this.violation(`insert into lane ${target} evicted from lane ${message.partition}`);
    }
    const laneItems = this.itemsOfLane(probe.before, message.partition);
    for (const id of probe.evicted) {
      const evicted = this.items.get(id) as ItemInfo;
      if (!Object.is(evicted.key, message.key)) this.violation(`evicted item ${id} has key ${showKey(evicted.key)}, drop message says ${showKey(message.key)}`);
      if (laneItems === null || approximate) continue;
      const older = laneItems.filter((other) => other.id !== id && !probe.evicted.includes(other.id) && other.seqHi < evicted.seqLo);
      if (older.length > 0) {
        this.violation(
          `drop-oldest evicted item ${id} (key ${showKey(evicted.key)}) while older items [${older.map((o) => `${o.id}(key ${showKey(o.key)})`).join(', ')}] of lane ${message.partition} stayed pending`,
        );
      }
    }
  }

  /** The pending items (of `ids`) in `lane`, or null when we cannot tell every pending item's lane. */
  private itemsOfLane(ids: number[], lane: number): ItemInfo[] | null {
    const out: ItemInfo[] = [];
    for (const id of ids) {
      const info = this.items.get(id) as ItemInfo;
      const itemLane = this.laneOfItem(info);
      if (itemLane === undefined) return null;
      if (itemLane === lane) out.push(info);
    }
    return out;
  }

  insertMany(n: number, key: Key, asIterable: boolean): void {
    const infos = Array.from({ length: n }, () => this.newItem(key, 'refused'));
    const stats = this.buf.stats();
    const held = stats.pending + stats.inFlight;
    const capacity = this.opts.capacity;
    const policy = this.opts.overflow;
    const before = idsOf(this.buf.dump());
    const drops = this.dropMessages;
    const objs = infos.map((info) => info.obj);
    let thrown: unknown = null;
    try {
      this.buf.insertMany(asIterable ? (function* () { yield* objs; })() : objs, key);
    } catch (error) {
      thrown = error ?? new Error('undefined thrown');
    }
    const mustRefuse = policy === 'reject' && held + n > capacity;
    if (thrown !== null) {
      if (!(mustRefuse && thrown instanceof BufferFullError)) {
        this.violation(`insertMany(${n}, ${showKey(key)}) threw ${describeError(thrown)} holding ${held}/${capacity} under ${policy}`);
      }
      const after = this.buf.stats();
      if (after.inserted !== stats.inserted) this.violation(`a refused insertMany inserted ${after.inserted - stats.inserted} item(s)`);
      if (idsOf(this.buf.dump()).join(',') !== before.join(',')) this.violation(`a refused insertMany changed the pending items`);
      return;
    }
    if (mustRefuse) this.violation(`insertMany of ${n} holding ${held}/${capacity} under 'reject' did not throw`);
    for (const info of infos) this.markInserted(info);
    const dropped = this.dropMessages - drops;
    const expected = policy === 'reject' ? 0 : Math.max(0, n - Math.max(0, capacity - held));
    const stillPending = new Set(idsOf(this.buf.dump()));
    const approximate = policy === 'drop-oldest' && before.some((id) => this.preSwitch.has(id) && !stillPending.has(id));
    if (dropped !== expected && !(approximate && dropped > expected)) {
      this.violation(`insertMany of ${n} holding ${held}/${capacity} under ${policy} dropped ${dropped}, expected ${expected}`);
    }
    // Held never shrinks within the call, so under drop-newest the last ones are the dropped ones.
    if (policy === 'drop-newest') for (const info of infos.slice(n - dropped)) this.knownDropped.add(info.id);
  }

  commit(key: Key): void {
    const info = this.newItem(key, 'waiting');
    const stats = this.buf.stats();
    const held = stats.pending + stats.inFlight;
    const admittedUnseen = stats.inserted - this.insertedCount;
    const stillWaiting = this.waitingCommits() - admittedUnseen;
    const promise = this.buf.commit(info.obj, key);
    const inserted = this.buf.stats().inserted - stats.inserted;
    const rec: CommitRec = {
      info,
      calledAt: Date.now(),
      waitTimeout: this.opts.waitTimeout,
      immediate: inserted === 1,
      state: 'pending',
      error: undefined,
      settledAt: NaN,
    };
    info.commit = rec;
    this.commits.push(rec);
    if (inserted === 1) this.markInserted(info);
    else if (inserted !== 0) this.violation(`commit() inserted ${inserted} items`);
    const expectImmediate = this.closedAt === null && held < this.opts.capacity && stillWaiting === 0;
    if (expectImmediate !== rec.immediate) {
      this.violation(`commit() holding ${held}/${this.opts.capacity} with ${stillWaiting} commit(s) waiting ${rec.immediate ? 'inserted at once' : 'did not insert at once'}`);
    }
    promise.then(
      () => {
        rec.state = 'resolved';
        rec.settledAt = Date.now();
        if (!this.success.has(info.id)) this.violation(`commit() of item ${info.id} resolved before a successful flush delivered it`);
      },
      (error: unknown) => {
        rec.state = 'rejected';
        rec.error = error;
        rec.settledAt = Date.now();
      },
    );
  }

  flush(key: Key): void {
    const pending = key === undefined ? this.buf.dump() : this.buf.dump(key);
    const pendingIds = idsOf(pending);
    const keyed = new Set<BufferKey>();
    let unkeyed = 0;
    for (const id of pendingIds) {
      const info = this.items.get(id) as ItemInfo;
      if (info.key === undefined) unkeyed++;
      else keyed.add(info.key);
    }
    const rec: FlushRec = {
      key,
      closedAtCall: this.closedAt !== null,
      pendingIds,
      inFlightIds: this.inFlightObserved().flatMap((batch) => batch.ids),
      minBatches: keyed.size + (unkeyed > 0 ? 1 : 0),
      maxBatches: keyed.size + Math.min(unkeyed, this.buf.partitions),
      state: 'pending',
    };
    this.flushes.push(rec);
    this.manualFlushes++;
    const promise = this.buf.flush(key);
    promise.then(
      (report) => {
        rec.state = 'resolved';
        this.checkFlushReport(rec, report);
      },
      (error: unknown) => {
        rec.state = 'rejected';
        this.violation(`flush() rejected: ${describeError(error)}`);
      },
    );
  }

  private checkFlushReport(rec: FlushRec, report: FlushReport): void {
    const label = `flush(${rec.key === undefined ? '' : showKey(rec.key)})`;
    if (rec.closedAtCall) {
      if (report.batches !== 0 || report.items !== 0 || report.failed !== 0) this.violation(`${label} after close reported ${JSON.stringify(report)}`);
      return;
    }
    for (const id of [...rec.pendingIds, ...rec.inFlightIds]) {
      if (!this.success.has(id) && !this.failed.has(id)) this.violation(`${label} resolved before item ${id} settled`);
    }
    for (const id of rec.pendingIds) {
      const batch = this.handedTo.get(id);
      if (batch !== undefined && batch.reason !== 'manual') this.violation(`${label} handed item ${id} over with reason ${batch.reason}`);
    }
    const failed = rec.pendingIds.filter((id) => this.failed.has(id)).length;
    if (report.items !== rec.pendingIds.length || report.failed !== failed) {
      this.violation(`${label} reported ${JSON.stringify(report)}, expected items ${rec.pendingIds.length}, failed ${failed}`);
    }
    if (report.batches < rec.minBatches || report.batches > rec.maxBatches) {
      this.violation(`${label} reported ${report.batches} batches, expected ${rec.minBatches}..${rec.maxBatches}`);
    }
  }

  drain(key: Key): void {
    const before = idsOf(key === undefined ? this.buf.dump() : this.buf.dump(key));
    const out = idsOf(this.buf.drain(key));
    if ([...out].sort((a, b) => a - b).join(',') !== [...before].sort((a, b) => a - b).join(',')) {
      this.violation(`drain(${key === undefined ? '' : showKey(key)}) returned [${out.join(',')}], pending were [${before.join(',')}]`);
    }
    for (const id of out) {
      const info = this.items.get(id);
      if (info !== undefined) this.markSeen(info);
      this.drained.add(id);
    }
    // drain() makes room, so waiting commits may come in at once; nothing that was pending may stay.
    const left = idsOf(key === undefined ? this.buf.dump() : this.buf.dump(key)).filter((id) => before.includes(id));
    if (left.length !== 0) this.violation(`drain left item(s) [${left.join(',')}] pending`);
  }

  update(patch: Record<string, unknown>, invalid: Record<string, unknown> | null): void {
    const full = invalid === null ? patch : { ...patch, ...invalid };
    const before = { ...this.buf.options };
    let thrown: unknown = null;
    try {
      this.buf.updateOptions(full as never);
    } catch (error) {
      thrown = error ?? new Error('undefined thrown');
    }
    if (invalid !== null) {
      if (!(thrown instanceof InvalidBufferOptionsError)) this.violation(`updateOptions(${JSON.stringify(full)}) did not throw InvalidBufferOptionsError (${describeError(thrown)})`);
      if (!sameOptions(this.buf.options, before)) this.violation(`a refused updateOptions changed the options`);
      return;
    }
    if (thrown !== null) {
      this.violation(`updateOptions(${JSON.stringify(patch)}) threw ${describeError(thrown)}`);
      return;
    }
    const next = { ...this.opts, ...patch } as ResolvedBufferOptions;
    if (this.opts.overflow !== 'drop-oldest' && next.overflow === 'drop-oldest') {
      for (const id of idsOf(this.buf.dump())) this.preSwitch.add(id);
    }
    this.versions.push(next);
    if (!sameOptions(this.buf.options, next)) {
      this.violation(`options after update are ${JSON.stringify(this.buf.options)}, expected ${JSON.stringify(next)}`);
    }
  }

  close(timeout: number): void {
    this.closedAt = Date.now();
    this.closeState = 'pending';
    this.buf.close(timeout).then(
      () => (this.closeState = 'resolved'),
      (error: unknown) => {
        this.closeState = 'rejected';
        this.violation(`close() rejected: ${describeError(error)}`);
      },
    );
    if (!this.buf.isClosed) this.violation('isClosed is false after close()');
  }

  /** After close: every way in refuses, flush() reports nothing. */
  probeClosed(): void {
    const one = this.newItem(undefined, 'refused');
    try {
      this.buf.insert(one.obj);
      this.violation('insert after close did not throw');
    } catch (error) {
      if (!(error instanceof BufferClosedError)) this.violation(`insert after close threw ${describeError(error)}`);
    }
    const many = this.newItem('a', 'refused');
    try {
      this.buf.insertMany([many.obj], 'a');
      this.violation('insertMany after close did not throw');
    } catch (error) {
      if (!(error instanceof BufferClosedError)) this.violation(`insertMany after close threw ${describeError(error)}`);
    }
    this.commit(1);
    this.flush(undefined);
  }

  // ---- invariants ----------------------------------------------------------------------

  busy(): boolean {
    return this.inFlightObserved().length > 0 || this.errorHandlersActive > 0;
  }

  /** Everything that must hold between commands. */
  check(): void {
    const now = Date.now();
    const stats = this.buf.stats();
    const dump = idsOf(this.buf.dump());
    const pendingSet = new Set(dump);
    if (pendingSet.size !== dump.length) this.violation(`dump() lists an item twice: [${dump.join(',')}]`);
    for (const id of dump) {
      const info = this.items.get(id);
      if (info === undefined) {
        this.violation(`dump() holds an item we never inserted (${id})`);
        continue;
      }
      if (info.status === 'refused') this.violation(`item ${id} is pending although its insert was refused`);
      this.markSeen(info);
      if (this.handedTo.has(id)) this.violation(`item ${id} is pending and was handed to a handler`);
      if (this.drained.has(id)) this.violation(`item ${id} is pending and was drained`);
      if (this.knownDropped.has(id)) this.violation(`item ${id} is pending and was dropped`);
    }
    for (const id of this.success) if (this.failed.has(id)) this.violation(`item ${id} both flushed and failed`);
    for (const id of this.drained) if (this.handedTo.has(id) || this.knownDropped.has(id)) this.violation(`item ${id} drained and also handed over or dropped`);
    for (const id of this.knownDropped) if (this.handedTo.has(id)) this.violation(`item ${id} dropped and also handed over`);

    // Pending, per key.
    if (stats.pending !== dump.length || this.buf.size() !== dump.length) {
      this.violation(`stats.pending ${stats.pending}, size() ${this.buf.size()}, dump() has ${dump.length}`);
    }
    let keysWithItems = 0;
    let keyedPending = 0;
    for (const key of KEYS) {
      const items = idsOf(this.buf.dump(key));
      keyedPending += items.length;
      if (this.buf.size(key) !== items.length) this.violation(`size(${showKey(key)}) ${this.buf.size(key)} but dump(${showKey(key)}) has ${items.length}`);
      if (items.length === 0) continue;
      keysWithItems++;
      const infos = items.map((id) => this.items.get(id)).filter((info): info is ItemInfo => info !== undefined);
      if (infos.length !== items.length) this.violation(`dump(${showKey(key)}) holds items we never inserted`);
      for (const info of infos) {
        if (!pendingSet.has(info.id)) this.violation(`dump(${showKey(key)}) has an item missing from dump()`);
        else if (!Object.is(info.key, key)) this.violation(`dump(${showKey(key)}) holds item ${info.id} of key ${showKey(info.key)}`);
      }
      for (let j = 1; j < infos.length; j++) {
        for (let i = 0; i < j; i++) {
          if (infos[j].seqHi < infos[i].seqLo) this.violation(`dump(${showKey(key)}) lists item ${infos[j].id} after the later item ${infos[i].id}`);
        }
      }
    }
    const unkeyedPending = dump.filter((id) => this.items.get(id)?.key === undefined).length;
    if (unkeyedPending + keyedPending !== dump.length) this.violation(`dump() (${dump.length}) is not the keyed (${keyedPending}) plus unkeyed (${unkeyedPending}) items`);
    if (stats.keys !== keysWithItems) this.violation(`stats.keys ${stats.keys}, but ${keysWithItems} key(s) have pending items`);


    // Attempts in flight must not outlive flushTimeout.
    for (const attempt of this.laneAttempt) {
      if (attempt === null) continue;
      const limit = Math.max(...this.over(attempt.batch.vRange, (o) => o.flushTimeout));
      if (now - attempt.start > limit) this.violation(`attempt ${attempt.batch.id}#${attempt.attempt} has run ${now - attempt.start} ms, flushTimeout is ${limit}`);
    }

    // Stats against what we saw.
    const observedInFlight = this.inFlightObserved().reduce((sum, batch) => sum + batch.ids.length, 0);
    const admittedUnseen = stats.inserted - this.insertedCount;
    if (stats.flushed !== this.success.size) this.violation(`stats.flushed ${stats.flushed}, handler accepted ${this.success.size}`);
    if (stats.failed !== this.failed.size) this.violation(`stats.failed ${stats.failed}, onFlushError got ${this.failed.size}`);
    if (stats.drained !== this.drained.size) this.violation(`stats.drained ${stats.drained}, drain() returned ${this.drained.size}`);
    if (stats.dropped !== this.dropMessages) this.violation(`stats.dropped ${stats.dropped}, drop channel published ${this.dropMessages}`);
    if (admittedUnseen < 0 || admittedUnseen > this.waitingCommits()) {
      this.violation(`stats.inserted ${stats.inserted}, we inserted ${this.insertedCount} (+ ${this.waitingCommits()} waiting commits)`);
    }
    const sum = stats.flushed + stats.failed + stats.dropped + stats.drained + stats.pending + stats.inFlight;
    if (stats.inserted !== sum) this.violation(`stats do not balance: inserted ${stats.inserted} !== ${sum} (${JSON.stringify(stats)})`);
    if (stats.inFlight < observedInFlight) this.violation(`stats.inFlight ${stats.inFlight} < ${observedInFlight} items in batches being flushed`);
    if (stats.inFlight > 0 && !this.busy()) this.violation(`stats.inFlight is ${stats.inFlight} but no lane is flushing anything`);
    if (stats.flushes !== this.successBatches) this.violation(`stats.flushes ${stats.flushes}, successful handler calls ${this.successBatches}`);
    if (stats.retries < this.retryAttempts) this.violation(`stats.retries ${stats.retries} < ${this.retryAttempts} retried attempts`);
    if ((stats.lastFlushAt !== null) !== this.successBatches > 0) this.violation(`stats.lastFlushAt ${stats.lastFlushAt} after ${this.successBatches} successful flushes`);
    if ((stats.lastError !== null) !== this.failed.size > 0) this.violation(`stats.lastError ${JSON.stringify(stats.lastError)} after ${this.failed.size} failed items`);
    if (stats.name !== this.name || stats.partitions !== this.buf.partitions || stats.capacity !== this.opts.capacity) {
      this.violation(`stats name/partitions/capacity ${stats.name}/${stats.partitions}/${stats.capacity}`);
    }

    // commit() promises against where their items are.
    for (const rec of this.commits) {
      const id = rec.info.id;
      if (this.success.has(id) && rec.state !== 'resolved') this.violation(`item ${id} was flushed but its commit() is ${rec.state}`);
      if (rec.state === 'resolved' && !this.success.has(id)) this.violation(`commit() of item ${id} resolved but the item was not flushed`);
      if (this.failed.has(id)) this.expectRejection(rec, 'failed');
      if (this.drained.has(id)) this.expectRejection(rec, 'drained');
      if (this.knownDropped.has(id)) this.expectRejection(rec, 'dropped');
      if (pendingSet.has(id) && rec.state !== 'pending') this.violation(`item ${id} is pending but its commit() is already ${rec.state}`);
    }
  }

  private expectRejection(rec: CommitRec, why: 'failed' | 'drained' | 'dropped' | 'refused'): void {
    const id = rec.info.id;
    if (rec.state !== 'rejected') {
      this.violation(`item ${id} was ${why} but its commit() is ${rec.state}`);
      return;
    }
    const error = rec.error;
    if (why === 'failed') {
      const batch = this.handedTo.get(id);
      if (!(error instanceof FlushFailedError)) this.violation(`commit() of failed item ${id} rejected with ${describeError(error)}`);
      else {
        if (batch !== undefined && error.cause !== batch.errorGiven) this.violation(`FlushFailedError.cause of item ${id} is not the error given to onFlushError`);
        if (batch !== undefined && error.attempts !== batch.attempts) this.violation(`FlushFailedError.attempts ${error.attempts}, batch ${batch.id} made ${batch.attempts}`);
      }
    } else if (why === 'drained') {
      if (!(error instanceof DataBufferError) || error instanceof FlushFailedError || error instanceof BufferFullError || error instanceof BufferClosedError) {
        this.violation(`commit() of drained item ${id} rejected with ${describeError(error)}`);
      }
    } else if (why === 'dropped') {
      if (!(error instanceof BufferFullError)) this.violation(`commit() of dropped item ${id} rejected with ${describeError(error)}`);
    } else if (error instanceof BufferFullError) {
      if (rec.settledAt - rec.calledAt !== rec.waitTimeout) {
        this.violation(`commit() of item ${id} gave up waiting for room after ${rec.settledAt - rec.calledAt} ms, waitTimeout ${rec.waitTimeout}`);
      }
      if (this.closedAt !== null && rec.settledAt > this.closedAt) this.violation(`commit() of item ${id} rejected with BufferFullError after close`);
    } else if (error instanceof BufferClosedError) {
      if (this.closedAt === null || rec.settledAt < this.closedAt) this.violation(`commit() of item ${id} rejected with BufferClosedError before close`);
    } else {
      this.violation(`commit() of never-inserted item ${id} rejected with ${describeError(error)}`);
    }
  }

  /** After close and enough time: every item ended in exactly one place. */
  checkFinal(): void {
    const stats = this.buf.stats();
    if (this.closeState !== 'resolved') this.violation(`close() is still ${this.closeState}`);
    if (stats.pending !== 0 || stats.inFlight !== 0 || stats.keys !== 0) this.violation(`after close: pending ${stats.pending}, inFlight ${stats.inFlight}, keys ${stats.keys}`);
    for (const batch of this.batches.values()) {
      if (batch.state !== 'success' && batch.state !== 'failed') this.violation(`batch ${batch.id} never ended (${batch.state})`);
    }
    if (stats.inserted !== this.insertedCount) this.violation(`stats.inserted ${stats.inserted}, we saw ${this.insertedCount} items go in`);
    const unaccounted: number[] = [];
    for (const info of this.items.values()) {
      if (info.status !== 'inserted') continue;
      const places = [this.success.has(info.id), this.failed.has(info.id), this.drained.has(info.id)].filter(Boolean).length;
      if (places > 1) this.violation(`item ${info.id} ended in ${places} places`);
      if (places === 0) unaccounted.push(info.id);
    }
    // What the buffer took and never delivered, failed or drained must be exactly what it dropped.
    if (unaccounted.length !== stats.dropped) {
      this.violation(`${unaccounted.length} item(s) vanished ([${unaccounted.slice(0, 20).join(',')}]) but stats.dropped is ${stats.dropped}`);
    }
    for (const id of this.knownDropped) if (!unaccounted.includes(id)) this.violation(`dropped item ${id} reappeared`);
    for (const id of unaccounted) if (this.handedTo.has(id)) this.violation(`item ${id} was handed over but never settled`);
    for (const rec of this.commits) {
      const id = rec.info.id;
      if (rec.state === 'pending') this.violation(`commit() of item ${id} never settled`);
      else if (rec.info.status !== 'inserted') this.expectRejection(rec, 'refused');
      else if (unaccounted.includes(id)) this.expectRejection(rec, 'dropped');
    }
    for (const rec of this.flushes) if (rec.state !== 'resolved') this.violation(`flush() never resolved`);
    if (stats.retries > this.retryAttempts + this.shutdownFailures) {
      this.violation(`stats.retries ${stats.retries}, but only ${this.retryAttempts} retries ran (${this.shutdownFailures} batches cut by shutdown)`);
    }
  }

  settled(): boolean {
    return (
      this.closeState !== 'pending' &&
      this.commits.every((rec) => rec.state !== 'pending') &&
      this.flushes.every((rec) => rec.state !== 'pending') &&
      this.errorHandlersActive === 0
    );
  }
}

// ---- the property ----------------------------------------------------------------------

async function settle(world: World, ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
  world.check();
}

async function runScenario(scenario: Scenario): Promise<void> {
  jest.useFakeTimers({ now: START_TIME });
  const random = jest.spyOn(Math, 'random').mockImplementation(mulberry32(scenario.randomSeed));
  const world = new World(scenario);
  try {
    for (let i = 0; i < scenario.commands.length; i++) {
      const command = scenario.commands[i];
      world.step = `#${i} ${JSON.stringify(command)}`;
      switch (command.t) {
        case 'insert':
          world.insert(command.key);
          break;
        case 'insertMany':
          world.insertMany(command.n, command.key, command.asIterable);
          break;
        case 'commit':
          world.commit(command.key);
          break;
        case 'flush':
          world.flush(command.key);
          break;
        case 'drain':
          world.drain(command.key);
          break;
        case 'update':
          world.update(command.patch, command.invalid);
          break;
        case 'advance':
          break;
      }
      await settle(world, command.t === 'advance' ? command.ms : 0);
      world.assertClean();
    }

    if (scenario.close === null) {
      // Left alone, the time trigger and flushTimeout bring everything to rest.
      world.step = 'idle';
      for (let i = 0; i < 120; i++) {
        const stats = world.buf.stats();
        if (stats.pending === 0 && stats.inFlight === 0 && !world.busy() && world.settled()) break;
        await settle(world, 100);
      }
      const stats = world.buf.stats();
      if (stats.pending !== 0 || stats.inFlight !== 0 || world.busy()) {
        world.violation(`left alone for 12 s the buffer still holds pending ${stats.pending}, in flight ${stats.inFlight}`);
      }
      world.assertClean();
    }

    world.step = `close(${scenario.close?.timeout ?? 15_000})`;
    world.close(scenario.close?.timeout ?? 15_000);
    world.probeClosed();
    await settle(world, 0);
    world.step = 'after close';
    for (let i = 0; i < 400 && !world.settled(); i++) await settle(world, 100);
    await settle(world, 1_000);
    world.checkFinal();
    world.assertClean();
  } finally {
    world.dispose();
    random.mockRestore();
    jest.clearAllTimers();
    jest.useRealTimers();
  }
}

describe('DataBuffer (property)', () => {
  it('keeps every item in exactly one place, in order, within limits, with balanced stats', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (scenario) => runScenario(scenario)),
      { numRuns: RUNS, seed: SEED, ...(REPLAY_PATH !== undefined ? { path: REPLAY_PATH } : {}) },
    );
  }, 180_000);
});
