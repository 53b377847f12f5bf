import type { BufferKey, FlushReason, ResolvedBufferOptions } from './buffer-options.interface';
import type { TimerHandle } from './buffer-scheduler.interface';
import type { FlushContext } from './flush-context.interface';

/** Batch states: open (taking items), sealed (queued on its lane), running (being flushed), settled. */
export const OPEN = 0;
export const SEALED = 1;
export const RUNNING = 2;
export const SETTLED = 3;

/** A contiguous run of `commit()`ed items of one batch that share one promise. */
export interface CommitRun {
  start: number;
  end: number;
  shared: boolean;
  promise: Promise<void> | null;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A `commit()` waiting for room. */
export interface RoomWaiter<T> {
  item: T;
  key: BufferKey | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
  timer: TimerHandle;
  done: boolean;
}

/** A batch: its items, where it stands, the commits waiting on it, and its links in its lane's lists. */
export class Batch<T> {
  items: T[] = [];
  /** Absolute position of `items[0]`: how many items were evicted from the front. */
  base = 0;
  state = OPEN;
  reason: FlushReason = 'interval';
  size = 0;
  attempts = 0;
  failed = false;
  finished = false;
  runs: CommitRun[] | null = null;
  /** The last run of `runs` when it is shared: the next commit in line joins it. */
  lastShared: CommitRun | null = null;
  /** Built at the batch's first attempt, the same for every attempt. */
  id = '';
  /** Entries of this batch in its lane's `order` still to skip (evicted with a commit run). */
  skip = 0;
  /** The controller of `ctx.signal` and the context of the attempt running now. */
  controller: AbortController | null = null;
  ctx: FlushContext | null = null;
  waiters: (() => void)[] | null = null;
  prevOpen: Batch<T> | null = null;
  nextOpen: Batch<T> | null = null;
  nextQueued: Batch<T> | null = null;

  constructor(
    readonly lane: Lane<T>,
    readonly key: BufferKey | undefined,
    readonly deadline: number,
    readonly limit: number,
    readonly options: ResolvedBufferOptions,
    readonly seq: number,
  ) {}
}

/** A lane: its open batches, its deadline heap and timer, and the queue of sealed batches it flushes one at a time. */
export class Lane<T> {
  /** The open unkeyed batch. */
  open: Batch<T> | null = null;
  /** Every open batch of the lane (keyed or not), oldest first. */
  openHead: Batch<T> | null = null;
  openTail: Batch<T> | null = null;
  openCount = 0;
  /** Open keyed batches by deadline (the unkeyed one is checked directly); entries of batches no longer open are skipped lazily. */
  heap: Batch<T>[] = [];
  /** When the lane timer fires; Infinity when none is set. */
  timerDue = Infinity;
  /** Sealed batches waiting for the lane, oldest first. */
  queueHead: Batch<T> | null = null;
  queueTail: Batch<T> | null = null;
  running: Batch<T> | null = null;
  /** A pump is scheduled or a batch is running. */
  pumping = false;
  inPump = false;
  /** Bumped when an attempt starts and when its outcome is decided: later outcomes of it are ignored. */
  attemptToken = 0;
  /** The `flushTimeout` timer (see `armWatchdog`), when it fires, and the running attempt's deadline. */
  watchdog: TimerHandle | null = null;
  watchdogAt = 0;
  deadlineAt = 0;
  /** Times out the attempt running now; null when none is undecided. */
  onDeadline: (() => void) | null = null;
  onWatchdog: () => void = noop;
  /**
   * The controller whose signal the lane's next attempt gets. Making an AbortSignal costs more
   * than the rest of a flush's bookkeeping, so one is handed to attempt after attempt until it
   * is aborted or an attempt leaves a listener on it.
   */
  controller: AbortController | null = null;
  /** The wait before the running batch's next attempt. */
  sleep: TimerHandle | null = null;
  /**
   * Under drop-oldest only: one entry per pending item, in insertion order, naming its batch,
   * so the lane's oldest pending item is found across its keyed batches. Entries of batches
   * no longer open are skipped lazily.
   */
  order: Batch<T>[] = [];
  orderHead = 0;
  onTimer: () => void = noop;
  pumpTask: () => unknown = noop;

  constructor(
    readonly index: number,
    readonly timerName: string,
  ) {}
}

/** Does nothing. */
export function noop(): void {}

/** The lane of a key: integers by value, everything else by an FNV-1a hash of its text. */
export function laneIndex(key: BufferKey, partitions: number): number {
  if (typeof key === 'number' && Number.isSafeInteger(key)) return ((key % partitions) + partitions) % partitions;
  const text = String(key);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}
