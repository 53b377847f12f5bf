import type { FlushContext } from './engine/flush-context.interface';

/**
 * A `@BufferHandler` class that `implements DataBufferHandler<Item>` has its `onFlush` (and
 * `onFlushError`, when it has one) checked against the item type of its buffer: a handler of
 * a `DataBuffer<EventRecord>` that declares `onFlush(items: number[])` does not compile.
 * `M` is the type of the buffer's `meta` option (`ctx.meta`). The methods still need their
 * `@OnFlush()` and `@OnFlushError()` decorators.
 */
export interface DataBufferHandler<T, M = unknown> {
  /** Persists a batch; throw or reject to fail the attempt. */
  onFlush(items: T[], ctx: FlushContext<M>): unknown;
  /** Receives the items of a batch whose attempts all failed, with the last error. */
  onFlushError?(error: unknown, items: T[], ctx: FlushContext<M>): unknown;
}
