import {
  BUFFER_CLOSED,
  BUFFER_FULL,
  FLUSH_FAILED,
  FLUSH_TIMED_OUT,
  INVALID_OPTION,
  PARTIAL_FLUSH,
  REJECTED_ITEMS,
  SHUTDOWN_TIMED_OUT,
} from './engine.messages';

/** Base class of every error the library throws; `buffer` names the buffer concerned. */
export class DataBufferError extends Error {
  constructor(
    message: string,
    /** The name of the buffer the error is about. */
    readonly buffer: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** `insert` at capacity under `overflow: 'reject'`, a `commit` that found no room in time, or an item evicted by `drop-oldest`. */
export class BufferFullError extends DataBufferError {
  constructor(
    buffer: string,
    /** The capacity in force when the error was raised. */
    readonly capacity: number,
    detail?: string,
  ) {
    super(BUFFER_FULL(buffer, capacity, detail), buffer);
  }
}

/** The buffer no longer accepts items: shutdown has begun. */
export class BufferClosedError extends DataBufferError {
  constructor(buffer: string) {
    super(BUFFER_CLOSED(buffer), buffer);
  }
}

/** A flush attempt ran longer than `flushTimeout`; its `ctx.signal` was aborted. */
export class FlushTimeoutError extends DataBufferError {
  constructor(
    buffer: string,
    /** The `flushTimeout` that was exceeded, in ms. */
    readonly timeout: number,
  ) {
    super(FLUSH_TIMED_OUT(buffer, timeout), buffer);
  }
}

/** An item's flush ended in failure (its batch failed, it was rejected or given up on); `cause` is the error. */
export class FlushFailedError extends DataBufferError {
  constructor(
    buffer: string,
    cause: unknown,
    /** `ctx.attempt` of the item's last attempt. */
    readonly attempts: number,
  ) {
    super(FLUSH_FAILED(buffer, attempts, describe(cause)), buffer, { cause });
  }
}

/** Shutdown's `shutdownTimeout` ran out before the batch was flushed; the batch goes to `@OnFlushError`. */
export class ShutdownTimeoutError extends DataBufferError {
  constructor(
    buffer: string,
    /** The shutdown budget that ran out, in ms. */
    readonly timeout: number,
  ) {
    super(SHUTDOWN_TIMED_OUT(buffer, timeout), buffer);
  }
}

/** An option of a buffer (or of `forRoot`) is missing, of the wrong type, or out of range. */
export class InvalidBufferOptionsError extends DataBufferError {
  constructor(
    buffer: string,
    /** The option at fault. */
    readonly option: string,
    /** The value that was given. */
    readonly value: unknown,
    expected: string,
  ) {
    super(INVALID_OPTION(buffer, option, expected, showValue(value)), buffer);
  }
}

/** The items an `@OnFlush` handler rejected in its `FlushOutcome`, each with its own error, in batch order. */
export class RejectedItemsError extends DataBufferError {
  constructor(
    buffer: string,
    /** Every rejected item with the error the handler gave for it. */
    readonly failures: ReadonlyArray<{ item: unknown; error: unknown }>,
  ) {
    super(REJECTED_ITEMS(buffer, failures.length, describe(failures[0]?.error)), buffer);
  }
}

/** Items an `@OnFlush` handler asked to retry when no attempt was left. */
export class PartialFlushError extends DataBufferError {
  constructor(
    buffer: string,
    /** How many items were given up. */
    readonly items: number,
    attempts: number,
  ) {
    super(PARTIAL_FLUSH(buffer, items, attempts), buffer);
  }
}

/** The message of an error (or the text of a thrown non-error), as `stats().lastError` keeps it. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A short, safe description of an error for messages and logs. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message ? `${error.name}: ${error.message}` : error.name;
  return String(error);
}

/** A value as an error message shows it: strings quoted, numbers with their type, objects by kind. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return `"${value}" (string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${String(value)} (${typeof value})`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
