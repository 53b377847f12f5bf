import { OnFlush, OnFlushError } from '../decorators';
import type { DataBuffer, FlushContext, FlushReport } from '../engine';

/** One `@OnFlush` call the recorder saw: a copy of its items and its context. */
export interface RecordedFlush<T = unknown, M = unknown> {
  items: T[];
  ctx: FlushContext<M>;
}

/** One `@OnFlushError` call the recorder saw. */
export interface RecordedFailure<T = unknown, M = unknown> {
  error: unknown;
  items: T[];
  ctx: FlushContext<M>;
}

/**
 * The handler `DataBufferTestingModule` registers for a buffer: it records every flush
 * (and every failed batch), flushes on demand, and does what `handleWith` says (by default
 * it succeeds). Get it with `moduleRef.get(getBufferRecorderToken(name))`.
 */
export class BufferRecorder<T = unknown, M = unknown> {
  /** Every `@OnFlush` call, in order (one per attempt, so a retried batch appears again). */
  readonly flushes: RecordedFlush<T, M>[] = [];
  /** Every `@OnFlushError` call, in order: batches whose attempts all failed. */
  readonly failures: RecordedFailure<T, M>[] = [];
  private behaviour: (items: T[], ctx: FlushContext<M>) => unknown = () => undefined;
  private waiters: ((flush: RecordedFlush<T, M>) => void)[] = [];

  constructor(
    /** The buffer this recorder handles. */
    readonly buffer: DataBuffer<T>,
  ) {}

  /** The items of every recorded flush, one array per call. */
  get batches(): T[][] {
    return this.flushes.map((f) => f.items);
  }

  /** Every item handed to `@OnFlush`, in the order of the calls. */
  get items(): T[] {
    return this.flushes.flatMap((f) => f.items);
  }

  /** The context of every recorded flush. */
  get contexts(): FlushContext<M>[] {
    return this.flushes.map((f) => f.ctx);
  }

  /** `buffer.flush(key)`: hands over what is pending and resolves when it has settled. */
  flush(key?: Parameters<DataBuffer<T>['flush']>[0]): Promise<FlushReport> {
    return this.buffer.flush(key);
  }

  /** Resolves with the next recorded flush (e.g. while `jest.advanceTimersByTimeAsync` runs the interval). */
  nextFlush(): Promise<RecordedFlush<T, M>> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * What every attempt does after it was recorded: return (or resolve) to succeed, throw (or
   * reject) to fail it. Without an argument, attempts succeed again.
   */
  handleWith(behaviour?: (items: T[], ctx: FlushContext<M>) => unknown): this {
    this.behaviour = behaviour ?? (() => undefined);
    return this;
  }

  /** Every attempt fails with `error` from now on (until `handleWith()`). */
  failWith(error: unknown): this {
    return this.handleWith(() => {
      throw error;
    });
  }

  /** Forgets what was recorded; the behaviour stays. */
  clear(): void {
    this.flushes.length = 0;
    this.failures.length = 0;
  }

  @OnFlush()
  protected record(items: T[], ctx: FlushContext<M>): unknown {
    const flush = { items: [...items], ctx: { ...ctx } };
    this.flushes.push(flush);
    for (const resolve of this.waiters.splice(0)) resolve(flush);
    return this.behaviour(items, ctx);
  }

  @OnFlushError()
  protected recordFailure(error: unknown, items: T[], ctx: FlushContext<M>): void {
    this.failures.push({ error, items: [...items], ctx: { ...ctx } });
  }
}
