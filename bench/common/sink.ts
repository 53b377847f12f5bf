/**
 * The handler every contender flushes to: async, does nothing but count. One Sink per run, so
 * each contender's handler has the same cost and its delivered count is exact.
 */
export class Sink {
  /** items handed to the handler */
  started = 0;
  /** items whose handler call resolved */
  delivered = 0;
  /** handler calls */
  calls = 0;

  /** a no-op async handler */
  readonly handle = async (items: readonly unknown[]): Promise<void> => {
    this.calls++;
    this.started += items.length;
    this.delivered += items.length;
  };

  /** a handler that takes `ms` per call (a slow sink) */
  slow(ms: number): (items: readonly unknown[]) => Promise<void> {
    return async (items) => {
      this.calls++;
      this.started += items.length;
      await new Promise<void>((resolve) => setTimeout(resolve, ms));
      this.delivered += items.length;
    };
  }

  /** items handed to the handler and not yet done */
  get inFlight(): number {
    return this.started - this.delivered;
  }
}

/** Yield to the event loop (timers, I/O, and every pending microtask run first). */
export function yieldToLoop(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** True when `err` is the library's (or a baseline's) BufferFullError. */
export function isBufferFull(err: unknown): boolean {
  return err instanceof Error && err.name === 'BufferFullError';
}

export class BareBufferFullError extends Error {
  override readonly name = 'BufferFullError';
}
