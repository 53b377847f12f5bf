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
    detail = 'is full',
  ) {
    super(`Buffer "${buffer}" ${detail} (capacity ${capacity})`, buffer);
  }
}

/** The buffer no longer accepts items: shutdown has begun. */
export class BufferClosedError extends DataBufferError {
  constructor(buffer: string) {
    super(`Buffer "${buffer}" is closed: shutdown has begun and it accepts no more items`, buffer);
  }
}

/** A flush attempt ran longer than `flushTimeout`; its `ctx.signal` was aborted. */
export class FlushTimeoutError extends DataBufferError {
  constructor(
    buffer: string,
    /** The `flushTimeout` that was exceeded, in ms. */
    readonly timeout: number,
  ) {
    super(`Flush of buffer "${buffer}" timed out after ${timeout} ms (flushTimeout)`, buffer);
  }
}

/** A batch ended in failure: every attempt failed (or shutdown ran out of time); `cause` is the last error. */
export class FlushFailedError extends DataBufferError {
  constructor(
    buffer: string,
    cause: unknown,
    /** How many handler attempts were made for the batch. */
    readonly attempts: number,
  ) {
    super(
      `Flush of buffer "${buffer}" failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${describe(cause)}`,
      buffer,
      { cause },
    );
  }
}

/** Shutdown's `shutdownTimeout` ran out before the batch was flushed; the batch goes to `@OnFlushError`. */
export class ShutdownTimeoutError extends DataBufferError {
  constructor(
    buffer: string,
    /** The shutdown budget that ran out, in ms. */
    readonly timeout: number,
  ) {
    super(`Shutdown of buffer "${buffer}" ran out of time after ${timeout} ms (shutdownTimeout) before the batch was flushed`, buffer);
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
    /** What the option takes. */
    readonly expected: string,
    /** The whole message, when the default sentence does not fit (a duplicate name, forRoot's options). */
    message = `Invalid option "${option}" for buffer "${buffer}": expected ${expected}, got ${showValue(value)}`,
  ) {
    super(message, buffer);
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

/** A value as error messages show it: strings quoted, numbers with their type, objects by kind. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return `"${value}" (string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${String(value)} (${typeof value})`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
