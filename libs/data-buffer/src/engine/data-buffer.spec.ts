import diagnosticsChannel from 'node:diagnostics_channel';
import {
  BufferClosedError,
  BufferFullError,
  DataBufferError,
  FlushFailedError,
  FlushTimeoutError,
  InvalidBufferOptionsError,
  ShutdownTimeoutError,
} from './errors';
import type { BufferOptions } from './buffer-options.interface';
import type { BufferLogger } from './buffer-scheduler.interface';
import { DROP_CHANNEL_NAME, type DropMessage, FLUSH_CHANNEL_NAME } from './channels';
import { DataBuffer } from './data-buffer';
import { laneIndex } from './lane';
import type { FlushContext } from './flush-context.interface';

interface Call<T> {
  items: T[];
  ctx: FlushContext;
  at: number;
}

/** A buffer whose handler records calls and behaves as `behaviour` says (default: succeed). */
function setup<T = number>(
  options: Partial<BufferOptions> = {},
  behaviour: (items: T[], ctx: FlushContext) => unknown = () => undefined,
  withErrorHandler = true,
) {
  const calls: Call<T>[] = [];
  const errors: { error: unknown; items: T[]; ctx: FlushContext }[] = [];
  const logger: BufferLogger & { errors: string[] } = {
    errors: [],
    error(message: string) {
      this.errors.push(message);
    },
    warn() {},
  };
  const buffer = new DataBuffer<T>(
    { name: 'test', retryDelay: 0, ...options },
    {
      onFlush: (items, ctx) => {
        calls.push({ items: [...items], ctx, at: Date.now() });
        return behaviour(items, ctx);
      },
      onFlushError: withErrorHandler ? (error, items, ctx) => void errors.push({ error, items: [...items], ctx }) : undefined,
      logger,
    },
  );
  return { buffer, calls, errors, logger };
}

function deferred() {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => jest.advanceTimersByTimeAsync(0);

function balance(buffer: DataBuffer<unknown>) {
  const s = buffer.stats();
  return s.flushed + s.failed + s.dropped + s.drained + s.pending + s.inFlight;
}

describe('DataBuffer engine', () => {
  let buffers: DataBuffer<any>[] = [];
  const make = <T = number>(...args: Parameters<typeof setup<T>>) => {
    const made = setup<T>(...args);
    buffers.push(made.buffer);
    return made;
  };

  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(async () => {
    const closing = buffers.map((b) => b.close(0));
    await jest.advanceTimersByTimeAsync(1);
    await Promise.allSettled(closing);
    buffers = [];
    jest.restoreAllMocks();
    jest.useRealTimers();
  });

  describe('size trigger', () => {
    it('flushes a batch as soon as it reaches maxSize, and never hands over more', async () => {
      const { buffer, calls } = make({ maxSize: 3 });
      buffer.start();
      for (let i = 1; i <= 7; i++) buffer.insert(i);
      await tick();
      expect(calls.map((c) => c.items)).toEqual([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(calls.every((c) => c.ctx.reason === 'size')).toBe(true);
      expect(buffer.size()).toBe(1);
    });

    it('adds up to maxSizeJitter items to a batch, drawn per batch', async () => {
      const random = jest.spyOn(Math, 'random').mockReturnValue(0.99);
      const { buffer, calls } = make({ maxSize: 3, maxSizeJitter: 2 });
      buffer.start();
      for (let i = 1; i <= 5; i++) buffer.insert(i);
      await tick();
      expect(calls.map((c) => c.items)).toEqual([[1, 2, 3, 4, 5]]);
      random.mockReturnValue(0);
      for (let i = 6; i <= 8; i++) buffer.insert(i);
      await tick();
      expect(calls.map((c) => c.items.length)).toEqual([5, 3]);
    });
  });

  describe('time trigger', () => {
    it("measures the interval from the batch's first insert", async () => {
      const { buffer, calls } = make({ interval: 1000 });
      buffer.start();
      buffer.insert(1);
      await jest.advanceTimersByTimeAsync(600);
      buffer.insert(2);
      await jest.advanceTimersByTimeAsync(399);
      expect(calls).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls.map((c) => [c.items, c.ctx.reason])).toEqual([[[1, 2], 'interval']]);
    });

    it('adds a random 0..jitter ms to each batch interval', async () => {
      jest.spyOn(Math, 'random').mockReturnValue(0.999);
      const { buffer, calls } = make({ interval: 1000, jitter: 500 });
      buffer.start();
      buffer.insert(1);
      await jest.advanceTimersByTimeAsync(1499);
      expect(calls).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toHaveLength(1);
    });

    it('never calls the handler for empty lanes or keys', async () => {
      const { buffer, calls } = make({ interval: 100, partitions: 4 });
      buffer.start();
      await jest.advanceTimersByTimeAsync(10_000);
      expect(await buffer.flush()).toEqual({ batches: 0, items: 0, failed: 0 });
      buffer.insert(1, 'a');
      buffer.drain('a');
      await jest.advanceTimersByTimeAsync(10_000);
      expect(calls).toHaveLength(0);
    });

    it('keeps at most one timer per lane whatever the number of keys', async () => {
      const { buffer, calls } = make({ interval: 1000, partitions: 4 });
      buffer.start();
      for (let k = 0; k < 100_000; k++) buffer.insert(k, `key-${k}`);
      expect(buffer.timerCount).toBeLessThanOrEqual(4);
      expect(jest.getTimerCount()).toBeLessThanOrEqual(4);
      await jest.advanceTimersByTimeAsync(1000);
      expect(calls).toHaveLength(100_000);
      expect(buffer.stats().keys).toBe(0);
    });

    it('keeps the clock of items inserted before start and flushes overdue batches at start', async () => {
      const { buffer, calls } = make({ interval: 1000 });
      buffer.insert(1, 'old');
      await jest.advanceTimersByTimeAsync(1500);
      buffer.insert(2, 'young');
      expect(calls).toHaveLength(0);
      buffer.start();
      await tick();
      expect(calls.map((c) => c.ctx.key)).toEqual(['old']);
      await jest.advanceTimersByTimeAsync(999);
      expect(calls.map((c) => c.ctx.key)).toEqual(['old']);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls.map((c) => c.ctx.key)).toEqual(['old', 'young']);
    });
  });

  describe('lanes and keys', () => {
    it('spreads unkeyed items round-robin: item i goes to lane i mod partitions', async () => {
      const { buffer, calls } = make({ partitions: 3 });
      buffer.start();
      for (let i = 0; i < 7; i++) buffer.insert(i);
      await buffer.flush();
      const byLane = new Map(calls.map((c) => [c.ctx.partition, c.items]));
      expect(byLane.get(0)).toEqual([0, 3, 6]);
      expect(byLane.get(1)).toEqual([1, 4]);
      expect(byLane.get(2)).toEqual([2, 5]);
      expect(calls.every((c) => c.ctx.key === undefined)).toBe(true);
    });

    it('batches keyed items per key with Map semantics and a fixed lane per key', async () => {
      const { buffer, calls } = make<string>({ partitions: 4 });
      buffer.start();
      const keys = [1, '1', 0, '', 'tenant-a'];
      for (const key of keys) buffer.insert(`${typeof key}:${key}`, key as never);
      expect(buffer.stats().keys).toBe(5);
      expect(buffer.size(1)).toBe(1);
      expect(buffer.size('1')).toBe(1);
      await buffer.flush();
      for (const key of keys) {
        const call = calls.find((c) => Object.is(c.ctx.key, key));
        expect(call?.items).toEqual([`${typeof key}:${key}`]);
        expect(call?.ctx.partition).toBe(laneIndex(key, 4));
      }
      expect(buffer.stats().keys).toBe(0);
    });

    it('forgets a key once its batch is handed to the handler', async () => {
      const { buffer } = make({ maxSize: 2 });
      buffer.start();
      buffer.insert(1, 'k');
      buffer.insert(2, 'k');
      // Sealed by size but not handed over yet: still pending, so the key still counts.
      expect(buffer.stats().keys).toBe(1);
      expect(buffer.size('k')).toBe(2);
      await Promise.resolve();
      expect(buffer.stats().keys).toBe(0);
      buffer.insert(3, 'k');
      expect(buffer.stats().keys).toBe(1);
      await buffer.flush('k');
      expect(buffer.stats().keys).toBe(0);
    });

    it('runs one batch at a time per lane, in order, while other lanes keep flowing', async () => {
      const gates = new Map<string, ReturnType<typeof deferred>>();
      const { buffer, calls } = make<string>({ partitions: 2, maxSize: 1 }, (items, ctx) => {
        if (ctx.partition !== 0) return undefined;
        const gate = deferred();
        gates.set(items[0], gate);
        return gate.promise;
      });
      buffer.start();
      for (const item of ['a1', 'b1', 'a2', 'b2', 'a3', 'b3']) buffer.insert(item);
      await tick();
      expect(calls.map((c) => c.items[0])).toEqual(['a1', 'b1', 'b2', 'b3']);
      gates.get('a1')?.resolve();
      await tick();
      expect(calls.map((c) => c.items[0])).toEqual(['a1', 'b1', 'b2', 'b3', 'a2']);
      gates.get('a2')?.resolve();
      await tick();
      gates.get('a3')?.resolve();
      await tick();
      expect(calls.filter((c) => c.ctx.partition === 0).map((c) => c.items[0])).toEqual(['a1', 'a2', 'a3']);
    });
  });

  describe('retries and failures', () => {
    it('retries with the same items and batchId, then hands the batch to onFlushError once', async () => {
      const boom = new Error('db down');
      const { buffer, calls, errors } = make({ retries: 2 }, () => {
        throw boom;
      });
      buffer.start();
      buffer.insert(1);
      buffer.insert(2);
      const report = await buffer.flush();
      expect(calls.map((c) => c.ctx.attempt)).toEqual([1, 2, 3]);
      expect(new Set(calls.map((c) => c.ctx.batchId)).size).toBe(1);
      expect(calls.every((c) => c.items.join() === '1,2')).toBe(true);
      expect(errors).toHaveLength(1);
      expect(errors[0].error).toBe(boom);
      expect(errors[0].items).toEqual([1, 2]);
      expect(report).toEqual({ batches: 1, items: 2, failed: 2 });
      expect(buffer.stats()).toMatchObject({ failed: 2, retries: 2, flushes: 0, lastError: { message: 'db down' } });
      expect(buffer.lastFlushFailed).toBe(true);
    });

    it('waits retryDelay before each retry (fixed)', async () => {
      let failures = 2;
      const { buffer, calls } = make({ retries: 3, retryDelay: 100 }, () => {
        if (failures-- > 0) return Promise.reject(new Error('flaky'));
        return undefined;
      });
      buffer.start();
      const start = Date.now();
      buffer.insert(1);
      const flushed = buffer.flush();
      await jest.advanceTimersByTimeAsync(1000);
      await flushed;
      expect(calls.map((c) => c.at - start)).toEqual([0, 100, 200]);
      expect(buffer.stats()).toMatchObject({ flushed: 1, retries: 2, failed: 0 });
      expect(buffer.lastFlushFailed).toBe(false);
    });

    it('doubles the wait for exponential backoff, capped at maxRetryDelay', async () => {
      const { buffer, calls } = make(
        { retries: 4, retryDelay: 100, retryBackoff: 'exponential', maxRetryDelay: 300 },
        () => Promise.reject(new Error('down')),
      );
      buffer.start();
      buffer.insert(1);
      const start = Date.now();
      const flushed = buffer.flush();
      await jest.advanceTimersByTimeAsync(5000);
      await flushed;
      const times = calls.map((c) => c.at - start);
      expect(times.slice(1).map((t, i) => t - times[i])).toEqual([100, 200, 300, 300]);
    });

    it('logs the buffer name and the number of lost items when there is no onFlushError', async () => {
      const { buffer, logger } = make({ retries: 0 }, () => Promise.reject(new Error('nope')), false);
      buffer.start();
      buffer.insertMany([1, 2, 3]);
      await buffer.flush();
      expect(logger.errors).toHaveLength(1);
      expect(logger.errors[0]).toContain('"test"');
      expect(logger.errors[0]).toContain('lost 3 items');
    });

    it('logs an error thrown by onFlushError and carries on', async () => {
      const logger = { errors: [] as string[], error(m: string) { this.errors.push(m); }, warn() {} };
      const buffer = new DataBuffer<number>(
        { name: 'test', retries: 0 },
        {
          onFlush: () => Promise.reject(new Error('first')),
          onFlushError: () => {
            throw new Error('dead letter broken');
          },
          logger,
        },
      );
      buffers.push(buffer);
      buffer.start();
      buffer.insert(1);
      await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 1, failed: 1 });
      expect(logger.errors.join()).toContain('dead letter broken');
    });

    it('fails an attempt that outlives flushTimeout, aborts its signal and frees the lane', async () => {
      let firstSignal: AbortSignal | undefined;
      const { buffer, calls, errors } = make({ retries: 0, flushTimeout: 500, maxSize: 1 }, (items, ctx) => {
        if (items[0] === 1) {
          firstSignal = ctx.signal;
          return new Promise(() => undefined);
        }
        return undefined;
      });
      buffer.start();
      buffer.insert(1);
      buffer.insert(2);
      await jest.advanceTimersByTimeAsync(499);
      expect(calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(firstSignal?.aborted).toBe(true);
      expect(errors[0].error).toBeInstanceOf(FlushTimeoutError);
      expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
      expect(buffer.stats()).toMatchObject({ flushed: 1, failed: 1, inFlight: 0 });
    });
  });

  describe('flushTimeout across attempts', () => {
    it("times every attempt from its own start, whatever ran on the lane before", async () => {
      let abortedAt = -1;
      const start = Date.now();
      const { buffer, errors } = make({ maxSize: 1, retries: 0, flushTimeout: 100 }, (items, ctx) => {
        if (items[0] === 1) return Promise.resolve();
        ctx.signal.addEventListener('abort', () => (abortedAt = Date.now() - start));
        return new Promise(() => undefined);
      });
      buffer.start();
      buffer.insert(1);
      await jest.advanceTimersByTimeAsync(60);
      buffer.insert(2);
      await jest.advanceTimersByTimeAsync(99);
      expect(errors).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(abortedAt).toBe(160);
      expect(errors[0].error).toBeInstanceOf(FlushTimeoutError);
    });
  });

  describe('ctx.signal', () => {
    it('is never handed out again once aborted, nor while an earlier attempt left a listener on it', async () => {
      const signals: AbortSignal[] = [];
      const { buffer } = make({ maxSize: 1, retries: 0, flushTimeout: 100 }, (items, ctx) => {
        signals.push(ctx.signal);
        if (items[0] === 1) ctx.signal.addEventListener('abort', () => undefined);
        if (items[0] === 3) return new Promise(() => undefined);
        return undefined;
      });
      buffer.start();
      buffer.insertMany([1, 2, 3, 4]);
      await jest.advanceTimersByTimeAsync(100);
      expect(signals).toHaveLength(4);
      expect(signals[1]).not.toBe(signals[0]);
      expect(signals[2].aborted).toBe(true);
      expect(signals[3]).not.toBe(signals[2]);
      expect(signals[3].aborted).toBe(false);
    });
  });

  describe('capacity and overflow', () => {
    it("rejects at capacity under 'reject', counting items in flight", async () => {
      const gate = deferred();
      const { buffer } = make({ capacity: 3, maxSize: 2 }, () => gate.promise);
      buffer.start();
      buffer.insertMany([1, 2, 3]);
      await tick();
      expect(buffer.stats()).toMatchObject({ pending: 1, inFlight: 2 });
      expect(() => buffer.insert(4)).toThrow(BufferFullError);
      expect(() => buffer.insert(4)).toThrow(/"test".*capacity 3/);
      gate.resolve();
      await tick();
      expect(() => buffer.insert(4)).not.toThrow();
    });

    it('insertMany is all-or-nothing under reject', () => {
      const { buffer } = make({ capacity: 5 });
      buffer.insertMany([1, 2, 3]);
      expect(() => buffer.insertMany([4, 5, 6])).toThrow(BufferFullError);
      expect(buffer.dump()).toEqual([1, 2, 3]);
      buffer.insertMany(new Set([4, 5]));
      expect(buffer.dump()).toEqual([1, 2, 3, 4, 5]);
    });

    it("drops the new item under 'drop-newest' and publishes the drop", () => {
      const drops: DropMessage[] = [];
      const listener = (message: unknown) => drops.push(message as DropMessage);
      diagnosticsChannel.subscribe(DROP_CHANNEL_NAME, listener);
      try {
        const { buffer } = make({ capacity: 2, overflow: 'drop-newest' });
        buffer.insertMany([1, 2, 3]);
        buffer.insert(4, 'k');
        expect(buffer.dump()).toEqual([1, 2]);
        expect(buffer.stats()).toMatchObject({ dropped: 2, inserted: 4 });
        expect(drops).toEqual([
          { buffer: 'test', key: undefined, partition: 0, overflow: 'drop-newest' },
          { buffer: 'test', key: 'k', partition: 0, overflow: 'drop-newest' },
        ]);
      } finally {
        diagnosticsChannel.unsubscribe(DROP_CHANNEL_NAME, listener);
      }
    });

    it("drops the oldest pending item of the new item's lane under 'drop-oldest'", () => {
      const { buffer } = make({ capacity: 3, overflow: 'drop-oldest', partitions: 2 });
      buffer.insertMany([0, 1, 2]);
      buffer.insert(3);
      // item 3 goes to lane 1, whose oldest pending item is 1
      expect(buffer.dump().sort()).toEqual([0, 2, 3]);
      expect(buffer.stats()).toMatchObject({ dropped: 1, pending: 3 });
      expect(balance(buffer)).toBe(buffer.stats().inserted);
    });

    it("finds the lane's oldest item across its keyed batches under 'drop-oldest'", () => {
      const { buffer } = make<string>({ capacity: 3, overflow: 'drop-oldest' });
      buffer.insert('a1', 'A');
      buffer.insert('b1', 'B');
      buffer.insert('a2', 'A');
      buffer.insert('x1');
      buffer.insert('x2');
      expect(buffer.dump().sort()).toEqual(['a2', 'x1', 'x2']);
      buffer.insert('x3');
      expect(buffer.dump().sort()).toEqual(['x1', 'x2', 'x3']);
    });

    it("drops the new item under 'drop-oldest' when its lane holds nothing pending", async () => {
      const gate = deferred();
      const { buffer } = make({ capacity: 2, overflow: 'drop-oldest', maxSize: 2 }, () => gate.promise);
      buffer.start();
      buffer.insertMany([1, 2]);
      await tick();
      buffer.insert(3);
      expect(buffer.stats()).toMatchObject({ dropped: 1, pending: 0, inFlight: 2 });
      gate.resolve();
    });

    it('lets capacity be lowered below what is held: inserts overflow until it drains below', async () => {
      const { buffer } = make({ capacity: 10 });
      buffer.insertMany([1, 2, 3, 4]);
      buffer.updateOptions({ capacity: 2 });
      expect(() => buffer.insert(5)).toThrow(BufferFullError);
      buffer.start();
      await buffer.flush();
      expect(() => buffer.insert(5)).not.toThrow();
    });
  });

  describe('commit', () => {
    it('resolves once the batch holding the item was flushed', async () => {
      const gate = deferred();
      const { buffer } = make({ maxSize: 2 }, () => gate.promise);
      buffer.start();
      let done = 0;
      const first = buffer.commit(1).then(() => done++);
      const second = buffer.commit(2).then(() => done++);
      await tick();
      expect(done).toBe(0);
      gate.resolve();
      await Promise.all([first, second]);
      expect(done).toBe(2);
    });

    it('rejects with FlushFailedError carrying the last error when the batch failed', async () => {
      const last = new Error('third strike');
      let n = 0;
      const { buffer } = make({ retries: 2 }, () => Promise.reject(n++ < 2 ? new Error('earlier') : last));
      buffer.start();
      const committed = buffer.commit(1);
      void buffer.flush();
      const error = await committed.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FlushFailedError);
      expect((error as FlushFailedError).cause).toBe(last);
      expect((error as FlushFailedError).attempts).toBe(3);
      expect((error as FlushFailedError).buffer).toBe('test');
    });

    it('waits for room up to waitTimeout, then rejects with BufferFullError', async () => {
      const { buffer } = make({ capacity: 1, waitTimeout: 1000 });
      buffer.insert(1);
      const waiting = buffer.commit(2);
      const outcome = waiting.catch((e: unknown) => e);
      await jest.advanceTimersByTimeAsync(999);
      expect(buffer.size()).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(await outcome).toBeInstanceOf(BufferFullError);
      expect(buffer.dump()).toEqual([1]);
    });

    it('goes in as soon as room frees, whatever the overflow policy', async () => {
      const { buffer } = make({ capacity: 1, waitTimeout: 1000, overflow: 'drop-newest' });
      buffer.start();
      buffer.insert(1);
      const waiting = buffer.commit(2);
      expect(buffer.dump()).toEqual([1]);
      await buffer.flush();
      // Admitted once 1 was written; at capacity again with nothing in flight, so it flushes at once.
      await expect(waiting).resolves.toBeUndefined();
      expect(buffer.stats()).toMatchObject({ flushed: 2, dropped: 0 });
    });

    it("rejects with BufferFullError when drop-oldest evicts the committed item", async () => {
      const { buffer } = make({ capacity: 2, overflow: 'drop-oldest' });
      const first = buffer.commit(1);
      const second = buffer.commit(2);
      buffer.insert(3);
      await expect(first).rejects.toBeInstanceOf(BufferFullError);
      expect(buffer.dump()).toEqual([2, 3]);
      buffer.start();
      await buffer.flush();
      await expect(second).resolves.toBeUndefined();
    });

    it('rejects with a DataBufferError when drain() takes the item out', async () => {
      const { buffer } = make();
      const committed = buffer.commit(1, 'k');
      expect(buffer.drain('k')).toEqual([1]);
      const error = await committed.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataBufferError);
      expect(String(error)).toMatch(/drained/);
    });
  });

  describe('flush, dump, drain', () => {
    it('reports only the batches it handed over and waits for those already in flight', async () => {
      const gate = deferred();
      const { buffer, calls } = make({ maxSize: 2 }, (items) => (items[0] === 1 ? gate.promise : undefined));
      buffer.start();
      buffer.insertMany([1, 2, 3]);
      await tick();
      let settled = false;
      const flushing = buffer.flush().then((r) => {
        settled = true;
        return r;
      });
      await tick();
      expect(settled).toBe(false);
      gate.resolve();
      expect(await flushing).toEqual({ batches: 1, items: 1, failed: 0 });
      expect(calls.map((c) => c.ctx.reason)).toEqual(['size', 'manual']);
    });

    it("flush(key) flushes only that key's batch", async () => {
      const { buffer, calls } = make();
      buffer.start();
      buffer.insert(1, 'a');
      buffer.insert(2, 'b');
      expect(await buffer.flush('a')).toEqual({ batches: 1, items: 1, failed: 0 });
      expect(calls.map((c) => c.ctx.key)).toEqual(['a']);
      expect(buffer.size('b')).toBe(1);
    });

    it('dump copies pending items oldest first per batch and leaves the buffer unchanged', () => {
      const { buffer } = make();
      buffer.insertMany([1, 2, 3]);
      buffer.insert(4, 'k');
      const copy = buffer.dump();
      expect(copy).toEqual([1, 2, 3, 4]);
      copy.push(5);
      expect(buffer.dump('k')).toEqual([4]);
      expect(buffer.size()).toBe(4);
    });

    it('drain removes pending items without calling the handler and counts them', async () => {
      const { buffer, calls } = make();
      buffer.start();
      buffer.insertMany([1, 2]);
      buffer.insert(3, 'k');
      expect(buffer.drain()).toEqual([1, 2, 3]);
      await buffer.flush();
      expect(calls).toHaveLength(0);
      expect(buffer.stats()).toMatchObject({ drained: 3, pending: 0, keys: 0 });
      expect(balance(buffer)).toBe(3);
    });
  });

  describe('updateOptions', () => {
    it('is all-or-nothing and refuses name and partitions', () => {
      const { buffer } = make({ maxSize: 10 });
      expect(() => buffer.updateOptions({ maxSize: 5, interval: 0 })).toThrow(InvalidBufferOptionsError);
      expect(buffer.options.maxSize).toBe(10);
      expect(() => buffer.updateOptions({ partitions: 2 } as never)).toThrow(/"partitions".*"test"/);
      expect(() => buffer.updateOptions({ overflow: 'drop-all' as never })).toThrow(/overflow/);
      expect(() => buffer.updateOptions({ retries: '3' as never })).toThrow(/"3" \(string\)/);
    });

    it('applies to batches opened after the call', async () => {
      const { buffer, calls } = make({ maxSize: 10 });
      buffer.start();
      buffer.insertMany([1, 2]);
      buffer.updateOptions({ maxSize: 2, meta: { v: 2 } });
      buffer.insertMany([3, 4, 5, 6]);
      await tick();
      expect(calls).toHaveLength(0);
      await buffer.flush();
      expect(calls[0].items).toEqual([1, 2, 3, 4, 5, 6]);
      buffer.insertMany([7, 8]);
      await tick();
      expect(calls[1]).toMatchObject({ items: [7, 8], ctx: { reason: 'size', meta: { v: 2 } } });
    });
  });

  describe('close', () => {
    it('flushes open batches with reason shutdown, keeps the reason of sealed ones, then refuses items', async () => {
      const gate = deferred();
      const { buffer, calls } = make({ maxSize: 2 }, (items) => (items[0] === 1 ? gate.promise : undefined));
      buffer.start();
      buffer.insertMany([1, 2, 3, 4, 5]);
      await tick();
      const closing = buffer.close(10_000);
      gate.resolve();
      await closing;
      expect(calls.map((c) => [c.items, c.ctx.reason])).toEqual([
        [[1, 2], 'size'],
        [[3, 4], 'size'],
        [[5], 'shutdown'],
      ]);
      expect(() => buffer.insert(6)).toThrow(BufferClosedError);
      expect(() => buffer.insertMany([6])).toThrow(BufferClosedError);
      await expect(buffer.commit(6)).rejects.toBeInstanceOf(BufferClosedError);
      await expect(buffer.flush()).resolves.toEqual({ batches: 0, items: 0, failed: 0 });
      expect(jest.getTimerCount()).toBe(0);
    });

    it('hands what is still unflushed when the budget runs out to onFlushError with ShutdownTimeoutError', async () => {
      const { buffer, errors } = make({ maxSize: 1, partitions: 1 }, () => new Promise(() => undefined));
      buffer.start();
      buffer.insertMany([1, 2, 3]);
      await tick();
      const closing = buffer.close(1000);
      await jest.advanceTimersByTimeAsync(1000);
      await closing;
      expect(errors.map((e) => e.items)).toEqual([[1], [2], [3]]);
      expect(errors.every((e) => e.error instanceof ShutdownTimeoutError)).toBe(true);
      expect(buffer.stats()).toMatchObject({ failed: 3, inFlight: 0, pending: 0 });
    });

    it('rejects commits waiting for room with BufferClosedError', async () => {
      const { buffer } = make({ capacity: 1 });
      buffer.insert(1);
      const waiting = buffer.commit(2);
      buffer.start();
      await buffer.close(1000);
      await expect(waiting).rejects.toBeInstanceOf(BufferClosedError);
    });
  });

  describe('tracing', () => {
    it('publishes every attempt on the flush tracing channel without item contents', async () => {
      const events: [string, Record<string, unknown>][] = [];
      const channel = diagnosticsChannel.tracingChannel(FLUSH_CHANNEL_NAME);
      const handlers = {
        start: (ctx: unknown) => events.push(['start', { ...(ctx as object) }]),
        end: () => undefined,
        asyncStart: () => undefined,
        asyncEnd: (ctx: unknown) => events.push(['asyncEnd', ctx as Record<string, unknown>]),
        error: (ctx: unknown) => events.push(['error', ctx as Record<string, unknown>]),
      };
      channel.subscribe(handlers);
      try {
        let n = 0;
        const { buffer } = make({ retries: 1 }, () => (n++ === 0 ? Promise.reject(new Error('once')) : undefined));
        buffer.start();
        buffer.insert({ secret: 'x' } as never, 'k');
        await buffer.flush();
        expect(events.map((e) => e[0])).toEqual(['start', 'error', 'asyncEnd', 'start', 'asyncEnd']);
        expect(events[0][1]).toEqual({
          buffer: 'test',
          key: 'k',
          partition: 0,
          batchId: expect.any(String),
          size: 1,
          attempt: 1,
          reason: 'manual',
        });
        expect(JSON.stringify(events.map((e) => e[1]))).not.toContain('secret');
      } finally {
        channel.unsubscribe(handlers);
      }
    });
  });

  it('keeps the stats balanced through a mixed run', async () => {
    let n = 0;
    const { buffer } = make({ maxSize: 3, capacity: 8, overflow: 'drop-oldest', retries: 1, partitions: 2 }, () =>
      n++ % 3 === 0 ? Promise.reject(new Error('x')) : undefined,
    );
    buffer.start();
    for (let i = 0; i < 50; i++) {
      buffer.insert(i, i % 5 === 0 ? `k${i % 3}` : undefined);
      expect(balance(buffer)).toBe(buffer.stats().inserted);
      if (i % 7 === 0) await tick();
      if (i % 11 === 0) buffer.drain('k1');
    }
    await buffer.flush();
    const s = buffer.stats();
    expect(s.inserted).toBe(50);
    expect(s.pending + s.inFlight).toBe(0);
    expect(balance(buffer)).toBe(50);
  });
});
