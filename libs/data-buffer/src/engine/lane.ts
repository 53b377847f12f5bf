import type { BufferKey } from './buffer-options.interface';
import type { TimerHandle } from './buffer-scheduler.interface';
import { noop, type Batch } from './batch';
import type { HasDeadline } from './deadline-heap';
import type { ParsedOutcome } from './flush-outcome';

/** A half of a failed batch (or of a failed half), attempted once; see flush-runner.ts. */
export class SplitPart<T> {
  /** This part's own attempt failed. */
  failed = false;

  constructor(
    readonly items: T[],
    readonly positions: number[],
    readonly id: string,
    /** The first half, when this is the second one. */
    readonly sibling: SplitPart<T> | null,
    /** `ctx.attempt` of the failed attempt these items were last part of. */
    readonly lastAttempt: number,
  ) {}

  /** Pushes the halves of `items` (the first `ceil(n/2)`, then the rest) on `stack`, the first half on top. */
  static push<T>(stack: SplitPart<T>[], items: T[], positions: number[], id: string, lastAttempt: number): void {
    const half = Math.ceil(items.length / 2);
    const first = new SplitPart<T>(items.slice(0, half), positions.slice(0, half), `${id}.1`, null, lastAttempt);
    stack.push(new SplitPart<T>(items.slice(half), positions.slice(half), `${id}.2`, first, lastAttempt), first);
  }

  /** Empties `stack` and returns the items of its parts, their positions and each one's last attempt, in batch order. */
  static drainStack<T>(stack: SplitPart<T>[]): [T[], number[], number[]] {
    const items: T[] = [];
    const positions: number[] = [];
    const attempts: number[] = [];
    while (stack.length > 0) {
      const part = stack.pop() as SplitPart<T>;
      items.push(...part.items);
      positions.push(...part.positions);
      for (let i = 0; i < part.items.length; i++) attempts.push(part.lastAttempt);
    }
    return [items, positions, attempts];
  }
}

/** A commit-due entry of a lane's commit heap (`deadline` is the batch's `commitDueAt`). */
export interface CommitDue<T> extends HasDeadline {
  batch: Batch<T>;
}

/**
 * A lane: its open batches, their triggers, the sealed batches waiting for it, and the one it
 * is flushing. Each room of the engine keeps its part of a lane here.
 */
export class Lane<T> {
  // ---- assembler: open batches
  /** The open unkeyed batch. */
  open: Batch<T> | null = null;
  /** Every open batch of the lane (keyed or not), oldest first. */
  openHead: Batch<T> | null = null;
  openTail: Batch<T> | null = null;
  openCount = 0;
  /** Sealed batches waiting for the lane, oldest first. */
  queueHead: Batch<T> | null = null;
  queueTail: Batch<T> | null = null;
  /** Due batches, in the order they became due; entries no longer DUE are skipped. */
  due: Batch<T>[] = [];
  dueHead = 0;

  // ---- deadline trigger
  /** Open keyed batches by deadline (the unkeyed one is checked directly); stale entries are skipped. */
  heap: Batch<T>[] = [];
  /** Batches made due by a commit, by `commitDueAt`; stale entries are skipped. */
  commitHeap: CommitDue<T>[] = [];
  /** When the lane timer fires; Infinity when none is set. */
  timerDue = Infinity;
  onTimer: () => void = noop;

  // ---- flush runner
  running: Batch<T> | null = null;
  /** A pump is scheduled or a batch is running. */
  pumping = false;
  inPump = false;
  pumpTask: () => unknown = noop;
  /** Bumped when an attempt starts and when its outcome is decided: later outcomes of it are ignored. */
  attemptToken = 0;
  /** The `flushTimeout` watchdog (see flush-runner.ts). */
  watchdog: TimerHandle | null = null;
  watchdogAt = 0;
  deadlineAt = 0;
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
  /** The running batch's items still to write: those of the attempt now (all of the batch at first). */
  work: T[] = [];
  /** Their positions; null while `work` is the whole batch. */
  workPos: number[] | null = null;
  /** The batch id of the attempt now (a split part's id during a split). */
  workId = '';
  /** The outcome the attempt just returned, read before it is reported. */
  outcome: ParsedOutcome | null = null;
  /** An attempt of this batch returned items to retry: no split then. */
  partial = false;
  /** The last attempt failed (the next one counts as a retry). */
  lastFailed = false;
  /** During a split: the part being attempted, and the parts still to attempt (a stack, next on top). */
  part: SplitPart<T> | null = null;
  parts: SplitPart<T>[] | null = null;

  // ---- overflow gate
  /**
   * Under drop-oldest only: one entry per pending item, in insertion order, naming its batch,
   * so the lane's oldest pending item is found across its batches. Entries of batches no
   * longer pending are skipped.
   */
  order: Batch<T>[] = [];
  orderHead = 0;

  constructor(
    readonly index: number,
    readonly timerName: string,
  ) {}
}

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
