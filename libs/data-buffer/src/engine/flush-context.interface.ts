import type { BufferKey, FlushReason } from './buffer-options.interface';
import type { BufferLogger, BufferScheduler } from './buffer-scheduler.interface';

/** What a handler learns about the batch it is given; `M` is the type of the buffer's `meta` option. */
export interface FlushContext<M = unknown> {
  /** The buffer's name. */
  buffer: string;
  /** The batch's key; `undefined` for unkeyed batches. */
  key?: BufferKey;
  /** The lane, `0 .. partitions-1`. */
  partition: number;
  /** Unique per batch, the same for every attempt: use it to make retried writes idempotent. */
  batchId: string;
  /** 1-based attempt number. */
  attempt: number;
  /** What triggered the flush. */
  reason: FlushReason;
  /** Aborted when the attempt outlives `flushTimeout` (or shutdown runs out of time). */
  signal: AbortSignal;
  /** The buffer's `meta` option. */
  meta: M;
}

/** The `@OnFlush` handler: persist the batch; throw or reject to fail the attempt. */
export type FlushHandler<T, M = unknown> = (items: T[], ctx: FlushContext<M>) => unknown;

/** The `@OnFlushError` handler: runs once with the items of a batch whose attempts all failed. */
export type FlushErrorHandler<T, M = unknown> = (error: unknown, items: T[], ctx: FlushContext<M>) => unknown;

/** What `flush()` reports about the batches it handed over. */
export interface FlushReport {
  /** Batches this call handed to the handler. */
  batches: number;
  /** Items in those batches. */
  items: number;
  /** Items of those batches that ended in `@OnFlushError`. */
  failed: number;
}

/** Handlers and collaborators of a buffer; the Nest module supplies them, standalone users may too. */
export interface DataBufferHooks<T> {
  /** Persists a batch. Required before `start()`. */
  onFlush?: FlushHandler<T>;
  /** Receives the items that could not be written. */
  onFlushError?: FlushErrorHandler<T>;
  /** Time and timers; plain Node timers by default. */
  scheduler?: BufferScheduler;
  /** Where lost items and handler failures are reported. */
  logger?: BufferLogger;
}
