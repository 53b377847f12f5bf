import {
  BufferClosedError,
  BufferFullError,
  DataBuffer,
  FlushFailedError,
  ShutdownTimeoutError,
  type BufferLogger,
  type BufferOptions,
  type FlushContext,
} from 'nestjs-data-buffer';

/**
 * The two-step close the Nest module drives: `beginClose` (step 1, in beforeApplicationShutdown)
 * and `close` (step 2, in onApplicationShutdown). Public API only, on the fake clock.
 */

interface Call {
  items: number[];
  ctx: FlushContext;
  at: number;
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

/** Tracks whether a promise has settled, without awaiting it. */
function watch(promise: Promise<unknown>) {
  const state = { settled: false, error: undefined as unknown };
  promise.then(
    () => (state.settled = true),
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

describe('DataBuffer two-step close (beginClose, then close)', () => {
  let buffers: DataBuffer<number>[] = [];

  /** A started buffer whose handler records calls and behaves as `behaviour` says (default: succeed). */
  function make(options: Partial<BufferOptions> = {}, behaviour: (items: number[], ctx: FlushContext) => unknown = () => undefined) {
    const calls: Call[] = [];
    const failures: { error: unknown; items: number[]; at: number }[] = [];
    const logger: BufferLogger = { error: () => undefined, warn: () => undefined };
    const buffer = new DataBuffer<number>(
      { name: 'two-step', interval: 60_000, retryDelay: 0, ...options },
      {
        onFlush: (items, ctx) => {
          calls.push({ items: [...items], ctx, at: Date.now() });
          return behaviour(items, ctx);
        },
        onFlushError: (error, items) => void failures.push({ error, items: [...items], at: Date.now() }),
        logger,
      },
    );
    buffer.start();
    buffers.push(buffer);
    return { buffer, calls, failures };
  }

  beforeEach(() => {
    jest.useFakeTimers();
  });

  afterEach(async () => {
    const closing = buffers.map((buffer) => buffer.close(0));
    await jest.runAllTimersAsync();
    await Promise.all(closing);
    buffers = [];
    jest.useRealTimers();
  });

  describe('step 1: beginClose', () => {
    it('hands over every pending batch at once with reason "shutdown" and resolves when they settled', async () => {
      const { buffer, calls } = make({ partitions: 2 });
      buffer.insertMany([1, 2, 3, 4]);
      buffer.insert(5, 'k');
      const gate = deferred();
      const held = make({ name: 'held' }, () => gate.promise);
      held.buffer.insert(1);

      const step1 = watch(buffer.beginClose(10_000));
      const heldStep1 = watch(held.buffer.beginClose(10_000));
      await tick();

      expect(calls.flatMap((c) => c.items).sort()).toEqual([1, 2, 3, 4, 5]);
      expect(calls.every((c) => c.ctx.reason === 'shutdown')).toBe(true);
      expect(step1.settled).toBe(true);
      expect(heldStep1.settled).toBe(false);
      gate.resolve();
      await tick();
      expect(heldStep1.settled).toBe(true);
    });

    it('cancels the lane timers: nothing waits for the interval any more', async () => {
      const { buffer } = make({ partitions: 3 });
      buffer.insertMany([1, 2, 3]);
      expect(buffer.timerCount).toBe(3);

      await buffer.beginClose(10_000);
      buffer.insert(4);

      expect(buffer.timerCount).toBe(0);
    });

    it('still accepts inserts, and flushes them through at once: one batch per synchronous run, reason "shutdown"', async () => {
      const { buffer, calls } = make({ maxSize: 100 });
      await buffer.beginClose(10_000);

      buffer.insert(1);
      buffer.insert(2);
      expect(calls).toHaveLength(0); // never from inside insert
      await tick();
      buffer.insertMany([3, 4]);
      await tick();

      expect(calls.map((c) => c.items)).toEqual([[1, 2], [3, 4]]);
      expect(calls.map((c) => c.ctx.reason)).toEqual(['shutdown', 'shutdown']);
      expect(calls.every((c) => c.at === calls[0].at)).toBe(true); // no interval waited for
      expect(buffer.isClosed).toBe(false);
      expect(buffer.stats()).toMatchObject({ pending: 0, inFlight: 0, flushed: 4 });
    });

    it('keeps the size trigger: a batch that fills up during flush-through goes with reason "size"', async () => {
      const { buffer, calls } = make({ maxSize: 2 });
      await buffer.beginClose(10_000);

      buffer.insertMany([1, 2, 3]);
      await tick();

      expect(calls.map((c) => [c.items, c.ctx.reason])).toEqual([
        [[1, 2], 'size'],
        [[3], 'shutdown'],
      ]);
    });

    it('on a busy lane, items inserted meanwhile gather in one batch that goes the moment the lane is free', async () => {
      const gate = deferred();
      const { buffer, calls } = make({}, (items) => (items[0] === 1 ? gate.promise : undefined));
      buffer.insert(1);
      const step1 = watch(buffer.beginClose(10_000));
      await tick();
      buffer.insert(2);
      await tick();
      buffer.insert(3);
      await tick();
      expect(calls.map((c) => c.items)).toEqual([[1]]);
      expect(step1.settled).toBe(false);

      gate.resolve();
      await tick();

      expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
      expect(calls[1].ctx.reason).toBe('shutdown');
      expect(step1.settled).toBe(true);
    });

    it('waits for items inserted during step 1 too before it resolves', async () => {
      const gates = [deferred(), deferred()];
      const { buffer, calls } = make({}, () => gates[calls.length - 1].promise);
      buffer.insert(1);
      const step1 = watch(buffer.beginClose(10_000));
      await tick();
      buffer.insert(2);
      gates[0].resolve();
      await tick();
      expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
      expect(step1.settled).toBe(false);

      gates[1].resolve();
      await tick();
      expect(step1.settled).toBe(true);
    });

    it('lets a failing batch take its retries and retry delays during step 1', async () => {
      let attempts = 0;
      const { buffer, calls, failures } = make({ retries: 2, retryDelay: 1_000 }, () => {
        if (++attempts < 3) throw new Error('database busy');
      });
      buffer.insertMany([1, 2]);

      const step1 = watch(buffer.beginClose(10_000));
      await tick();
      expect(calls).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(calls).toHaveLength(2);
      expect(step1.settled).toBe(false);
      await jest.advanceTimersByTimeAsync(1_000);

      expect(calls.map((c) => c.ctx.attempt)).toEqual([1, 2, 3]);
      expect(step1.settled).toBe(true);
      expect(failures).toEqual([]);
      expect(buffer.stats()).toMatchObject({ flushed: 2, retries: 2 });
    });

    it('when the budget runs out, hands what is unsettled to @OnFlushError with ShutdownTimeoutError at once, without waiting for close()', async () => {
      const { buffer, failures } = make({}, () => new Promise(() => undefined));
      buffer.insertMany([1, 2, 3]);

      const step1 = watch(buffer.beginClose(1_000));
      await jest.advanceTimersByTimeAsync(999);
      expect(failures).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);

      expect(step1.settled).toBe(true);
      expect(step1.error).toBeUndefined();
      expect(failures).toHaveLength(1);
      expect(failures[0].items).toEqual([1, 2, 3]);
      expect(failures[0].error).toBeInstanceOf(ShutdownTimeoutError);
      expect(failures[0].at - Date.now()).toBe(0);
      expect(buffer.stats()).toMatchObject({ failed: 3, inFlight: 0 });
    });

    it('resolves a commit() made during step 1 once its item is flushed', async () => {
      const { buffer, calls } = make();
      await buffer.beginClose(10_000);

      await expect(Promise.all([buffer.commit(1), tick()])).resolves.toBeDefined();
      expect(calls.map((c) => c.items)).toEqual([[1]]);
    });

    it('keeps a commit() that waits for room waiting through step 1, and rejects it with BufferClosedError at step 2', async () => {
      const gate = deferred();
      const { buffer } = make({ capacity: 1, waitTimeout: 60_000 }, () => gate.promise);
      buffer.insert(1);
      const waiting = watch(buffer.commit(2));
      const step1 = buffer.beginClose(10_000);
      await jest.advanceTimersByTimeAsync(5_000);
      expect(waiting.settled).toBe(false);

      const step2 = buffer.close(10_000);
      await tick();
      expect(waiting.error).toBeInstanceOf(BufferClosedError);
      gate.resolve();
      await Promise.all([step1, step2]);
    });

    it('is idempotent: a second call returns the same promise', () => {
      const { buffer } = make();
      buffer.insert(1);
      const first = buffer.beginClose(10_000);
      expect(buffer.beginClose(5)).toBe(first);
    });

    it('hands over what was inserted before start() when the buffer has a handler but was never started', async () => {
      const calls: number[][] = [];
      const buffer = new DataBuffer<number>({ name: 'unstarted' }, { onFlush: (items) => void calls.push([...items]) });
      buffers.push(buffer);
      buffer.insertMany([1, 2]);

      await buffer.beginClose(1_000);

      expect(calls).toEqual([[1, 2]]);
    });
  });

  describe('step 2: close after beginClose', () => {
    it('refuses inserts and commits with BufferClosedError and hands over what is left', async () => {
      const gate = deferred();
      const { buffer, calls } = make({}, (items) => (items[0] === 1 ? gate.promise : undefined));
      buffer.insert(1);
      void buffer.beginClose(10_000);
      await tick();
      buffer.insert(2); // waits behind the running batch

      const step2 = buffer.close(10_000);
      expect(() => buffer.insert(3)).toThrow(BufferClosedError);
      await expect(buffer.commit(4)).rejects.toBeInstanceOf(BufferClosedError);
      expect(buffer.isClosed).toBe(true);
      gate.resolve();
      await step2;

      expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
      expect(calls[1].ctx.reason).toBe('shutdown');
      expect(buffer.stats()).toMatchObject({ flushed: 2, pending: 0, inFlight: 0 });
    });

    it('counts the budget from the start of beginClose, not from close()', async () => {
      const { buffer, failures } = make({ partitions: 2 }, () => new Promise(() => undefined));
      void buffer.beginClose(1_000);
      await jest.advanceTimersByTimeAsync(600);
      buffer.insert(1);
      await tick();

      const step2 = watch(buffer.close(1_000));
      await jest.advanceTimersByTimeAsync(399);
      expect(step2.settled).toBe(false);
      await jest.advanceTimersByTimeAsync(1);

      expect(step2.settled).toBe(true);
      expect(failures.map((f) => f.items)).toEqual([[1]]);
      expect(failures[0].error).toBeInstanceOf(ShutdownTimeoutError);
    });

    it('gives up at once on what is unsettled when step 1 already used the whole budget', async () => {
      const { buffer, failures } = make({}, () => new Promise(() => undefined));
      await Promise.all([buffer.beginClose(1_000), jest.advanceTimersByTimeAsync(1_000)]);
      expect(failures).toHaveLength(0);
      buffer.insert(7);
      await tick();

      const step2 = watch(buffer.close(1_000));
      await tick();

      expect(step2.settled).toBe(true);
      expect(failures.map((f) => f.items)).toEqual([[7]]);
      expect(failures[0].error).toBeInstanceOf(ShutdownTimeoutError);
    });

    it('rejects the commit() of an item given up at shutdown with FlushFailedError', async () => {
      const { buffer } = make({}, () => new Promise(() => undefined));
      await buffer.beginClose(1_000);
      const committed = buffer.commit(1);
      const rejected = expect(committed).rejects.toBeInstanceOf(FlushFailedError);
      const step2 = buffer.close(1_000);
      await jest.advanceTimersByTimeAsync(1_000);
      await Promise.all([rejected, step2]);
    });

    it('leaves everything settled and the stats balanced', async () => {
      let n = 0;
      const { buffer } = make({ maxSize: 3, capacity: 5, overflow: 'drop-newest' }, () => {
        if (++n === 2) throw new Error('once');
      });
      buffer.insertMany([1, 2]);
      const step1 = buffer.beginClose(10_000);
      buffer.insertMany([3, 4, 5, 6, 7, 8, 9]);
      await step1;
      await buffer.close(10_000);

      const stats = buffer.stats();
      expect(stats.pending + stats.inFlight).toBe(0);
      expect(stats.flushed + stats.failed + stats.dropped).toBe(stats.inserted);
      expect(stats.inserted).toBe(9);
    });

    it('returns the close() promise from a beginClose() that comes after close()', () => {
      const { buffer } = make();
      const closing = buffer.close(1_000);
      expect(buffer.beginClose(1_000)).toBe(closing);
    });

    it('throws BufferFullError, not BufferClosedError, at capacity during step 1', async () => {
      const gate = deferred();
      const { buffer } = make({ capacity: 1 }, () => gate.promise);
      buffer.insert(1);
      void buffer.beginClose(10_000);
      await tick();
      expect(() => buffer.insert(2)).toThrow(BufferFullError);
      gate.resolve();
    });
  });
});
