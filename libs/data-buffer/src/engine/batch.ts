import type { BufferKey, FlushReason, ResolvedBufferOptions } from './buffer-options.interface';
import type { FlushContext } from './flush-context.interface';
import type { Lane } from './lane';

/*
 * The life of a batch, one state field:
 *
 *   OPEN ──(commitDelay / flush-through made it due)──> DUE      both take items
 *    │                                                   │
 *    ├──── seal: size, interval, manual, shutdown, full ─┤
 *    │                                                   │ the runner takes it when its lane
 *    │                          SEALED <─────────────────┘ has nothing else to run
 *    │                            │ (waits behind its lane's running batch; still pending)
 *    │                            ▼
 *    │                         RUNNING   attempts, retries, split parts, error handler calls;
 *    │                            │      its items are in flight until each is settled
 *    ▼                            ▼
 *   DONE <── emptied or drained ─ DONE   items released, settle waiters woken
 *
 * DUE goes straight to RUNNING when the runner takes it, with the reason that made it due.
 */
export const OPEN = 0;
export const DUE = 1;
export const SEALED = 2;
export const RUNNING = 3;
export const DONE = 4;

/** Fills a slot whose value was drained out of the middle of a coalescing batch. */
export const HOLE: unknown = Object.freeze({ hole: true });

/**
 * A run of `commit()`s into one batch that share one promise: each commit gets
 * `promise.then(...)` of it, attached in commit order, and the run's verdict says which of
 * them resolves and which rejects (see commit-queue.ts).
 */
export class CommitRun {
  /** Commits in the run. */
  count = 1;
  /** The position of each commit, when they are not `start, start + 1, ...` (coalescing, waiters). */
  positions: number[] | null = null;
  promise: Promise<unknown> | null = null;
  resolve: (verdict: unknown) => void = noop;
  settled = false;
  /** After a partial settle: a deferred per commit still open (null where settled). */
  later: ({ resolve: () => void; reject: (error: unknown) => void } | null)[] | null = null;

  constructor(readonly start: number) {}

  /** The position of commit `k` of the run. */
  positionOf(k: number): number {
    return this.positions === null ? this.start + k : this.positions[k];
  }
}

/** A batch: its items, where it stands, the commits waiting on it, and its links in its lane's lists. */
export class Batch<T> {
  items: T[] = [];
  /** Items evicted from the front; their slots are cleared. */
  head = 0;
  /** Slots of drained coalesced values (`HOLE`). */
  holes = 0;
  /** Position of `items[0]`: positions name items for commits, and never change. */
  base = 0;
  /** Positions of `items`, once holes were squeezed out; null while `base + index`. */
  pos: number[] | null = null;
  state = OPEN;
  reason: FlushReason = 'interval';
  /** The reason it goes with when the runner takes it while DUE. */
  dueReason: FlushReason = 'commit';
  /** When a commit makes it due (commitDelay); Infinity when none does. */
  commitDueAt = Infinity;
  /** Sum of `sizes` (maxBatchBytes). */
  bytes = 0;
  sizes: number[] | null = null;
  /** Coalescing: the coalesce key of each slot (the assembler's `values` find a key's slot while the batch is open). */
  ckeys: BufferKey[] | null = null;
  runs: CommitRun[] | null = null;
  /** The run the next consecutive commit joins. */
  lastRun: CommitRun | null = null;
  /** Built at the first attempt; the same for every attempt. */
  id = '';
  /** Items of this batch that ended in failure, for `flush()`'s report. */
  failedItems = 0;
  /** Error handler calls still running for its items (their commits settle when each returns). */
  reporting = 0;
  attempts = 0;
  /** The controller of the running attempt's `ctx.signal`, and its context. */
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
    readonly maxBytes: number | undefined,
    readonly options: ResolvedBufferOptions,
    readonly seq: number,
  ) {}

  /** Items it holds now. */
  get live(): number {
    return this.items.length - this.head - this.holes;
  }

  /** Whether it still takes items. */
  get isOpen(): boolean {
    return this.state <= DUE;
  }

  /** Whether its items are pending (open, due or sealed and waiting). */
  get isPending(): boolean {
    return this.state <= SEALED;
  }

  /** The position of `items[index]`. */
  positionAt(index: number): number {
    return this.pos === null ? this.base + index : this.pos[index];
  }
}

/** Does nothing. */
export function noop(): void {}
