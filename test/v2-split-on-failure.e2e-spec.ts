import diagnosticsChannel from 'node:diagnostics_channel';
import { FlushFailedError } from 'nestjs-data-buffer';
import { Item, RecordingSink, useBufferTestApp } from './support/buffer-test.utils';

const items = (...ids: number[]): Item[] => ids.map((id) => ({ id }));
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ids = (list: readonly Item[]): number[] => list.map((i) => i.id);
const outcomeOf = (promise: Promise<void>) => promise.then(() => 'resolved' as const, (error: unknown) => error);

describe('splitOnFailure isolates poison items', () => {
  const testApp = useBufferTestApp();
  const { startEvents } = testApp;

  /** A sink that refuses every call holding one of `poison`, with an error naming the attempt. */
  function refuse(sink: RecordingSink, ...poison: number[]) {
    sink.onFlush = (batch, ctx) => {
      if (batch.some((i) => poison.includes(i.id))) throw new Error(`attempt ${ctx.attempt} refused`);
    };
  }

  it('splits a failed batch into halves, depth-first, with ids b.1 / b.2.1, and sends only the poison item to @OnFlushError', async () => {
    const { buffer, sink } = await startEvents({ splitOnFailure: true, retries: 1, retryDelay: 100 });
    refuse(sink, 6);
    const t0 = Date.now();

    const committed = items(...range(1, 8)).map((item) => outcomeOf(buffer.commit(item)));
    const report = buffer.flush();
    await jest.advanceTimersByTimeAsync(100);

    await expect(report).resolves.toEqual({ batches: 1, items: 8, failed: 1 });
    const b = sink.flushes[0].ctx.batchId;
    expect(sink.flushes.map((f) => [f.ctx.batchId, ids(f.items)])).toEqual([
      [b, range(1, 8)],
      [b, range(1, 8)],
      [`${b}.1`, [1, 2, 3, 4]],
      [`${b}.2`, [5, 6, 7, 8]],
      [`${b}.2.1`, [5, 6]],
      [`${b}.2.1.1`, [5]],
      [`${b}.2.1.2`, [6]],
      [`${b}.2.2`, [7, 8]],
    ]);
    expect(sink.flushes.map((f) => f.ctx.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // the retry waits its delay; the parts do not
    expect(sink.flushes.map((f) => f.at - t0)).toEqual([0, 100, 100, 100, 100, 100, 100, 100]);

    expect(sink.failures).toHaveLength(1);
    expect(ids(sink.failures[0].items)).toEqual([6]);
    expect((sink.failures[0].error as Error).message).toBe('attempt 7 refused');
    expect(sink.failures[0].ctx.batchId).toBe(`${b}.2.1.2`);

    const outcomes = await Promise.all(committed);
    outcomes.forEach((outcome, i) => {
      if (i + 1 !== 6) expect(outcome).toBe('resolved');
    });
    expect(outcomes[5]).toBeInstanceOf(FlushFailedError);
    expect((outcomes[5] as FlushFailedError).attempts).toBe(7);
    expect((outcomes[5] as FlushFailedError).cause).toBe(sink.failures[0].error);

    expect(buffer.stats()).toMatchObject({ flushed: 7, failed: 1, flushes: 3, retries: 5, inFlight: 0, pending: 0 });
  });

  it('splits into the first ceil(n/2) items and the rest, delivering the good items in insertion order', async () => {
    const { buffer, sink } = await startEvents({ splitOnFailure: true, retries: 0 });
    refuse(sink, 5);

    buffer.insertMany(items(1, 2, 3, 4, 5));
    await buffer.flush();

    expect(sink.ids()).toEqual([[1, 2, 3, 4, 5], [1, 2, 3], [4, 5], [4], [5]]);
    expect(sink.flushes.filter((f) => !f.items.some((i) => i.id === 5)).flatMap((f) => ids(f.items))).toEqual([1, 2, 3, 4]);
    expect(sink.failures.map((f) => ids(f.items))).toEqual([[5]]);
  });

  it('keeps the batch in flight until every part is settled', async () => {
    const { buffer, sink } = await startEvents({ splitOnFailure: true, retries: 0, partitions: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    sink.onFlush = async (batch, ctx) => {
      if (ctx.batchId.endsWith('.2')) await held; // the second halves hang until released
      if (batch.some((i) => i.id === 4)) throw new Error('poison');
    };

    buffer.insertMany(items(1, 2, 3, 4));
    void buffer.flush();
    await jest.advanceTimersByTimeAsync(0);

    // b failed, b.1 [1, 2] was written, b.2 [3, 4] is running
    expect(sink.ids()).toEqual([[1, 2, 3, 4], [1, 2], [3, 4]]);
    expect(buffer.stats()).toMatchObject({ inFlight: 2, flushed: 2, failed: 0, pending: 0 });
    buffer.insert({ id: 5 });
    expect(buffer.stats()).toMatchObject({ inFlight: 2, pending: 1 });
    await jest.advanceTimersByTimeAsync(1_000);
    expect(sink.ids()).toHaveLength(3); // the lane's next batch waits for every part

    release();
    await buffer.flush();
    expect(sink.ids()).toEqual([[1, 2, 3, 4], [1, 2], [3, 4], [3], [4], [5]]);
    expect(buffer.stats()).toMatchObject({ inFlight: 0, flushed: 4, failed: 1, pending: 0 });
  });

  describe('the stop rule', () => {
    it('stops when both halves of one split fail: each failed half and the rest of the batch go to @OnFlushError with their errors', async () => {
      const { buffer, sink } = await startEvents({ splitOnFailure: true, retries: 0 });
      sink.onFlush = (_batch, ctx) => {
        throw new Error(`attempt ${ctx.attempt}: sink down`);
      };

      const committed = items(...range(1, 8)).map((item) => outcomeOf(buffer.commit(item)));
      const report = await buffer.flush();

      expect(report).toEqual({ batches: 1, items: 8, failed: 8 });
      const b = sink.flushes[0].ctx.batchId;
      expect(sink.flushes.map((f) => [f.ctx.batchId, ids(f.items)])).toEqual([
        [b, range(1, 8)],
        [`${b}.1`, [1, 2, 3, 4]],
        [`${b}.1.1`, [1, 2]],
        [`${b}.1.1.1`, [1]],
        [`${b}.1.1.2`, [2]],
      ]);
      // log2(8) + 2 attempts: the cost of a sink that is simply down stays small
      expect(sink.flushes).toHaveLength(5);
      expect(sink.failures.map((f) => [ids(f.items), (f.error as Error).message])).toEqual([
        [[1], 'attempt 4: sink down'],
        [[2], 'attempt 5: sink down'],
        [[3, 4, 5, 6, 7, 8], 'attempt 5: sink down'],
      ]);

      const outcomes = await Promise.all(committed);
      for (const outcome of outcomes) expect(outcome).toBeInstanceOf(FlushFailedError);
      expect((outcomes[0] as FlushFailedError).cause).toBe(sink.failures[0].error);
      expect((outcomes[1] as FlushFailedError).cause).toBe(sink.failures[1].error);
      expect((outcomes[7] as FlushFailedError).cause).toBe(sink.failures[2].error);
      expect(buffer.stats()).toMatchObject({ flushed: 0, failed: 8, flushes: 0, inFlight: 0 });
    });

    it('stops at two poison items side by side, giving up the items not yet attempted', async () => {
      const { buffer, sink } = await startEvents({ splitOnFailure: true, retries: 0 });
      refuse(sink, 5, 6);

      buffer.insertMany(items(...range(1, 8)));
      await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 8, failed: 4 });

      expect(sink.ids()).toEqual([range(1, 8), [1, 2, 3, 4], [5, 6, 7, 8], [5, 6], [5], [6]]);
      expect(sink.failures.map((f) => ids(f.items))).toEqual([[5], [6], [7, 8]]);
      expect(sink.failures[2].error).toBe(sink.failures[1].error);
      expect(buffer.stats()).toMatchObject({ flushed: 4, failed: 4 });
    });
  });

  it('does not split a batch of one item, nor any batch when splitOnFailure is off', async () => {
    const { buffer, sink } = await startEvents({ splitOnFailure: true, retries: 1, retryDelay: 0 });
    refuse(sink, 1);
    buffer.insert({ id: 1 });
    await buffer.flush();
    expect(sink.ids()).toEqual([[1], [1]]);
    expect(sink.failures.map((f) => ids(f.items))).toEqual([[1]]);

    await testApp.close();
    const plain = await startEvents({ retries: 0 });
    refuse(plain.sink, 2);
    plain.buffer.insertMany(items(1, 2, 3));
    await plain.buffer.flush();
    expect(plain.sink.ids()).toEqual([[1, 2, 3]]);
    expect(plain.sink.failures.map((f) => ids(f.items))).toEqual([[1, 2, 3]]);
  });

  it('publishes every attempt of a part on the tracing channel with the part batchId', async () => {
    const channel = diagnosticsChannel.tracingChannel('nestjs-data-buffer:flush');
    const starts: Record<string, unknown>[] = [];
    const subscribers = { start: (m: unknown) => starts.push({ ...(m as Record<string, unknown>) }), end: () => undefined, asyncStart: () => undefined, asyncEnd: () => undefined, error: () => undefined };
    channel.subscribe(subscribers);
    try {
      const { buffer, sink } = await startEvents({ splitOnFailure: true, retries: 0 });
      refuse(sink, 4);
      buffer.insertMany(items(1, 2, 3, 4));
      await buffer.flush();

      const b = sink.flushes[0].ctx.batchId;
      expect(starts.map((s) => [s.batchId, s.attempt, s.size])).toEqual([
        [b, 1, 4],
        [`${b}.1`, 2, 2],
        [`${b}.2`, 3, 2],
        [`${b}.2.1`, 4, 1],
        [`${b}.2.2`, 5, 1],
      ]);
    } finally {
      channel.unsubscribe(subscribers);
    }
  });
});
