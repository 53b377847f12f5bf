/** A key that groups items into their own batches; `Map` semantics (`1` and `'1'` differ). */
export type BufferKey = string | number;

/** What `insert` does at capacity. */
export type OverflowStrategy = 'reject' | 'drop-oldest' | 'drop-newest';

/** How the wait before a retry grows. */
export type RetryBackoff = 'fixed' | 'exponential';

/** Why a batch was handed to the handler. */
export type FlushReason = 'size' | 'interval' | 'manual' | 'shutdown' | 'commit';

/** Makes a coalescing buffer: one value per coalesce key in a batch, merged as items come. */
export interface CoalesceOptions<T = any> {
  /** The coalesce key of an item. */
  key: (item: T) => BufferKey;
  /** The value that replaces `pending` when `next` has the same coalesce key. */
  merge: (pending: T, next: T) => T;
}

/** The options of one buffer; every one but `name` has a default (see README). */
export interface BufferOptions<T = any> {
  /** Unique, non-empty buffer name. */
  name: string;
  /** Independent lanes, each flushing one batch at a time (default 1). */
  partitions?: number;
  /** Longest wait of an item in a batch, in ms, from the first insert into the batch (default 5000). */
  interval?: number;
  /** A random 0..jitter ms added to each batch's interval (default 0). */
  jitter?: number;
  /** A batch reaching this many items (plus its size jitter) flushes at once (default 1000). */
  maxSize?: number;
  /** A random 0..maxSizeJitter added to each batch's maxSize (default 0). */
  maxSizeJitter?: number;
  /** Most items held, pending and in flight together (default 100000). */
  capacity?: number;
  /** What `insert` does at capacity (default 'reject'). */
  overflow?: OverflowStrategy;
  /** How long `commit()` waits for room, in ms (default 30000). */
  waitTimeout?: number;
  /** Longest run of one handler attempt, in ms (default 60000). */
  flushTimeout?: number;
  /** Retries after a failed attempt (default 3). */
  retries?: number;
  /** Wait before a retry, in ms (default 1000). */
  retryDelay?: number;
  /** 'fixed' or 'exponential' growth of the retry wait (default 'fixed'). */
  retryBackoff?: RetryBackoff;
  /** Cap of the exponential retry wait, in ms (default 30000). */
  maxRetryDelay?: number;
  /** Passed to every handler call as `ctx.meta`. */
  meta?: unknown;
  /** Group commit: a batch holding a `commit()`ed item is due this many ms after the first such commit (default off). */
  commitDelay?: number;
  /** A batch is sealed before the sum of its items' `sizeOf` would pass this (default off). */
  maxBatchBytes?: number;
  /** The size of an item for `maxBatchBytes` (default: UTF-8 bytes of `JSON.stringify(item)`). */
  sizeOf?: (item: T) => number;
  /** Split a batch whose attempts all failed into halves to isolate poison items (default false). */
  splitOnFailure?: boolean;
  /** Makes a coalescing buffer (fixed at creation). */
  coalesce?: CoalesceOptions<T>;
}

/** The options that stay `undefined` when not set (off). */
type OptionalOptionNames = 'meta' | 'commitDelay' | 'maxBatchBytes' | 'coalesce';

/** Options with every default applied. */
export type ResolvedBufferOptions<T = any> = Required<Omit<BufferOptions<T>, OptionalOptionNames>> &
  Pick<BufferOptions<T>, OptionalOptionNames>;

/** The options `updateOptions` may change at run time. */
export type BufferOptionsPatch<T = any> = Partial<Omit<BufferOptions<T>, 'name' | 'partitions' | 'coalesce'>>;
