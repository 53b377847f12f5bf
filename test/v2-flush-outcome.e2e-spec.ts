import diagnosticsChannel from 'node:diagnostics_channel';
import { TerminusModule } from '@nestjs/terminus';
import {
  DataBufferError,
  FlushFailedError,
  PartialFlushError,
  RejectedItemsError,
  type FlushOutcome,
} from 'nestjs-data-buffer';
import { DataBufferHealthIndicator } from 'nestjs-data-buffer/terminus';
import { deferred, Item, useBufferTestApp } from './support/buffer-test.utils';

const items = (...ids: number[]): Item[] => ids.map((id) => ({ id }));
const ids = (list: readonly Item[]): number[] => list.map((i) => i.id);

/** What a commit() promise came to: 'resolved', or the error it rejected with. */
const outcomeOf = (promise: Promise<void>) => promise.then(() => 'resolved' as const, (error: unknown) => error);

describe('a handler reports a partial result (FlushOutcome)', () => {
  const testApp = useBufferTestApp();
  const { startEvents } = testApp;

  describe('retry', () => {
    it('writes the items in neither list at once and makes the retry items the next attempt of the same batch, in batch order', async () => {
      const { buffer, sink } = await startEvents({ retries: 2, retryDelay: 1_000 });
      sink.onFlush = (batch, ctx): FlushOutcome<Item> | undefined => (ctx.attempt === 1 ? { retry: [batch[3], batch[1]] } : undefined);
      const t0 = Date.now();

      const committed = items(1, 2, 3, 4, 5).map((item) => outcomeOf(buffer.commit(item)));
      const settled = new Map<number, unknown>();
      committed.forEach((c, i) => void c.then((o) => settled.set(i + 1, o)));
      const report = buffer.flush();
      await jest.advanceTimersByTimeAsync(0);

      // the written items are done before the retry runs
      expect([...settled.keys()].sort()).toEqual([1, 3, 5]);
      expect(buffer.stats()).toMatchObject({ flushed: 3, inFlight: 2, pending: 0, flushes: 1, retries: 1, failed: 0 });
      expect(buffer.stats().lastFlushAt).toBe(t0);

      await jest.advanceTimersByTimeAsync(999);
      expect(sink.flushes).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);

      await expect(report).resolves.toEqual({ batches: 1, items: 5, failed: 0 });
      expect(sink.ids()).toEqual([[1, 2, 3, 4, 5], [2, 4]]);
      expect(sink.flushes.map((f) => f.ctx.attempt)).toEqual([1, 2]);
      expect(sink.flushes[1].ctx.batchId).toBe(sink.flushes[0].ctx.batchId);
      expect(sink.flushes[1].at - t0).toBe(1_000);
      expect(await Promise.all(committed)).toEqual(['resolved', 'resolved', 'resolved', 'resolved', 'resolved']);
      expect(buffer.stats()).toMatchObject({ flushed: 5, failed: 0, inFlight: 0, flushes: 2, retries: 1, lastError: null });
      expect(sink.failures).toHaveLength(0);
    });

    it('does not count a flush when the attempt wrote nothing', async () => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0 });
      sink.onFlush = (batch, ctx) => (ctx.attempt === 1 ? { retry: [...batch] } : undefined);

      buffer.insertMany(items(1, 2));
      await buffer.flush();

      expect(sink.ids()).toEqual([[1, 2], [1, 2]]);
      expect(buffer.stats()).toMatchObject({ flushed: 2, flushes: 1, retries: 1 });
    });

    it('hands retry items with no attempt left to @OnFlushError with a PartialFlushError counting them', async () => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0 });
      sink.onFlush = (batch) => ({ retry: batch.filter((i) => i.id % 2 === 0) });

      const committed = items(1, 2, 3, 4).map((item) => outcomeOf(buffer.commit(item)));
      const report = await buffer.flush();

      expect(report).toEqual({ batches: 1, items: 4, failed: 2 });
      expect(sink.ids()).toEqual([[1, 2, 3, 4], [2, 4]]);
      expect(sink.failures).toHaveLength(1);
      const [failure] = sink.failures;
      expect(ids(failure.items)).toEqual([2, 4]);
      expect(failure.error).toBeInstanceOf(PartialFlushError);
      expect(failure.error).toBeInstanceOf(DataBufferError);
      expect((failure.error as PartialFlushError).items).toBe(2);
      expect((failure.error as PartialFlushError).buffer).toBe('events');

      const outcomes = await Promise.all(committed);
      expect(outcomes[0]).toBe('resolved');
      expect(outcomes[2]).toBe('resolved');
      for (const rejected of [outcomes[1], outcomes[3]]) {
        expect(rejected).toBeInstanceOf(FlushFailedError);
        expect((rejected as FlushFailedError).cause).toBe(failure.error);
        expect((rejected as FlushFailedError).attempts).toBe(2);
      }
      expect(buffer.stats()).toMatchObject({ flushed: 2, failed: 2, inFlight: 0 });
      expect(buffer.stats().lastError).not.toBeNull();
    });

    it('does not split retry items under splitOnFailure', async () => {
      const { buffer, sink } = await startEvents({ retries: 0, splitOnFailure: true });
      sink.onFlush = (batch) => ({ retry: [...batch] });

      buffer.insertMany(items(1, 2, 3, 4));
      await buffer.flush();

      expect(sink.ids()).toEqual([[1, 2, 3, 4]]);
      expect(sink.failures).toHaveLength(1);
      expect(ids(sink.failures[0].items)).toEqual([1, 2, 3, 4]);
      expect(sink.failures[0].error).toBeInstanceOf(PartialFlushError);
      expect((sink.failures[0].error as PartialFlushError).items).toBe(4);
    });

    it("starts the lane's next batch only after every item of this batch is settled", async () => {
      const { buffer, sink } = await startEvents({ partitions: 1, maxSize: 2, retries: 1, retryDelay: 1_000 });
      sink.onFlush = (batch, ctx) => (batch[0].id === 1 && ctx.attempt === 1 ? { retry: [batch[1]] } : undefined);

      buffer.insertMany(items(1, 2)); // sealed by size, flushed at once
      await jest.advanceTimersByTimeAsync(0);
      buffer.insertMany(items(3, 4)); // sealed by size, waits behind the retry of item 2
      await jest.advanceTimersByTimeAsync(999);

      expect(sink.ids()).toEqual([[1, 2]]);
      expect(buffer.stats()).toMatchObject({ flushed: 1, inFlight: 1, pending: 2 });

      await jest.advanceTimersByTimeAsync(1);
      expect(sink.ids()).toEqual([[1, 2], [2], [3, 4]]);
    });
  });

  describe('reject', () => {
    it('fails rejected items at once in one @OnFlushError call with a RejectedItemsError listing them in batch order', async () => {
      const { buffer, sink } = await startEvents({ retries: 3, retryDelay: 1_000 });
      const bad4 = new Error('item 4: week date');
      const bad1 = new Error('item 1: NUL byte');
      sink.onFlush = (batch) => ({ reject: [{ item: batch[3], error: bad4 }, { item: batch[0], error: bad1 }] });

      const committed = items(1, 2, 3, 4, 5).map((item) => outcomeOf(buffer.commit(item)));
      const report = await buffer.flush();

      expect(report).toEqual({ batches: 1, items: 5, failed: 2 });
      expect(sink.flushes).toHaveLength(1); // rejected items are not retried
      expect(sink.failures).toHaveLength(1);
      const [failure] = sink.failures;
      expect(ids(failure.items).sort()).toEqual([1, 4]);
      expect(failure.error).toBeInstanceOf(RejectedItemsError);
      expect(failure.error).toBeInstanceOf(DataBufferError);
      expect((failure.error as RejectedItemsError).buffer).toBe('events');
      const failures: ReadonlyArray<{ item: unknown; error: unknown }> = (failure.error as RejectedItemsError).failures;
      expect(failures.map((f) => (f.item as Item).id)).toEqual([1, 4]);
      expect(failures.map((f) => f.error)).toEqual([bad1, bad4]);
      expect(failures[0].item).toBe(sink.flushes[0].items[0]);

      const outcomes = await Promise.all(committed);
      expect([outcomes[1], outcomes[2], outcomes[4]]).toEqual(['resolved', 'resolved', 'resolved']);
      expect(outcomes[0]).toBeInstanceOf(FlushFailedError);
      expect((outcomes[0] as FlushFailedError).cause).toBe(bad1);
      expect(outcomes[3]).toBeInstanceOf(FlushFailedError);
      expect((outcomes[3] as FlushFailedError).cause).toBe(bad4);

      expect(buffer.stats()).toMatchObject({ flushed: 3, failed: 2, retries: 0, flushes: 1, inFlight: 0, pending: 0 });
    });

    it("sets lastError to the rejected item's error and turns the health indicator down until a later flush succeeds", async () => {
      const { buffer, sink } = await startEvents({}, { imports: [TerminusModule], providers: [DataBufferHealthIndicator] });
      const health = testApp.app.get(DataBufferHealthIndicator);
      const refused = new Error('mapper_parsing_exception');
      sink.onFlush = (batch) => (batch[0].id === 1 ? { reject: [{ item: batch[1], error: refused }] } : undefined);

      buffer.insertMany(items(1, 2, 3));
      await buffer.flush();

      expect(buffer.stats().lastError?.message).toBe('mapper_parsing_exception');
      const down = health.checkBuffers('buffers');
      expect(down.buffers.status).toBe('down');
      expect(JSON.stringify(down)).toContain('events');

      buffer.insert({ id: 10 });
      await buffer.flush();
      expect(health.checkBuffers('buffers').buffers.status).toBe('up');
    });

    it('handles retry and reject in one outcome', async () => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0 });
      const refused = new Error('refused');
      sink.onFlush = (batch, ctx) => (ctx.attempt === 1 ? { retry: [batch[2]], reject: [{ item: batch[0], error: refused }] } : undefined);

      buffer.insertMany(items(1, 2, 3));
      const report = await buffer.flush();

      expect(report).toEqual({ batches: 1, items: 3, failed: 1 });
      expect(sink.ids()).toEqual([[1, 2, 3], [3]]);
      expect(sink.failures.map((f) => ids(f.items))).toEqual([[1]]);
      expect(buffer.stats()).toMatchObject({ flushed: 2, failed: 1, retries: 1 });
    });
  });

  describe('identity and bad outcomes', () => {
    it('names items by identity: each naming of an object that appears several times takes its next occurrence', async () => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0 });
      const twice: Item = { id: 7 };
      sink.onFlush = (_batch, ctx) => (ctx.attempt === 1 ? { retry: [twice, twice] } : undefined);

      buffer.insertMany([twice, { id: 8 }, twice]);
      await buffer.flush();

      expect(sink.ids()).toEqual([[7, 8, 7], [7, 7]]);
      expect(sink.flushes[1].items[0]).toBe(twice);
      expect(sink.flushes[1].items[1]).toBe(twice);
      expect(buffer.stats()).toMatchObject({ flushed: 3, failed: 0 });
    });

    it.each<[string, (batch: Item[]) => unknown]>([
      ['an item that is not among the items (an equal copy)', (batch) => ({ retry: [{ ...batch[0] }] })],
      ['an item of another batch', () => ({ reject: [{ item: { id: 99 }, error: new Error('x') }] })],
      ['one item twice in retry', (batch) => ({ retry: [batch[0], batch[0]] })],
      ['one item twice in reject', (batch) => ({ reject: [{ item: batch[1], error: 1 }, { item: batch[1], error: 2 }] })],
      ['one item in both lists', (batch) => ({ retry: [batch[0]], reject: [{ item: batch[0], error: new Error('x') }] })],
      ['an object named more often than it occurs', (batch) => ({ retry: [batch[2], batch[2]] })],
    ])('fails the attempt like a throw when the outcome names %s', async (_case, outcome) => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0 });
      sink.onFlush = (batch, ctx) => (ctx.attempt === 1 ? outcome(batch) : undefined);

      buffer.insertMany(items(1, 2, 3));
      await buffer.flush();

      // the whole batch is attempted again: nothing of the bad outcome was taken
      expect(sink.ids()).toEqual([[1, 2, 3], [1, 2, 3]]);
      expect(buffer.stats()).toMatchObject({ flushed: 3, failed: 0, retries: 1, flushes: 1 });
    });

    it('hands the whole batch to @OnFlushError with a DataBufferError saying what was wrong when no attempt is left', async () => {
      const { buffer, sink } = await startEvents({ retries: 0 });
      sink.onFlush = (batch) => ({ retry: [{ ...batch[0] }] });

      buffer.insertMany(items(1, 2));
      const report = await buffer.flush();

      expect(report).toEqual({ batches: 1, items: 2, failed: 2 });
      expect(sink.failures).toHaveLength(1);
      expect(ids(sink.failures[0].items)).toEqual([1, 2]);
      expect(sink.failures[0].error).toBeInstanceOf(DataBufferError);
      expect((sink.failures[0].error as DataBufferError).buffer).toBe('events');
      expect(buffer.stats()).toMatchObject({ flushed: 0, failed: 2 });
    });

    it('fails the attempt for a reject entry without an item', async () => {
      const { buffer, sink } = await startEvents({ retries: 0 });
      sink.onFlush = () => ({ reject: [{ error: new Error('which one?') }] });

      buffer.insertMany(items(1, 2));
      await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 2, failed: 2 });
      expect(ids(sink.failures[0].items)).toEqual([1, 2]);
    });

    it.each<[string, unknown]>([
      ['undefined', undefined],
      ['a driver result object', { rowCount: 3, command: 'INSERT' }],
      ['null', null],
      ['a number', 3],
      ['an array', []],
      ['a retry field that is not an array', { retry: 'all of them' }],
      ['a reject field that is not an array', { reject: { item: 1 } }],
    ])('treats %s as every item written', async (_case, returned) => {
      const { buffer, sink } = await startEvents({ retries: 2, retryDelay: 0 });
      sink.onFlush = () => returned;

      buffer.insertMany(items(1, 2, 3));
      await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 3, failed: 0 });
      expect(sink.flushes).toHaveLength(1);
      expect(buffer.stats()).toMatchObject({ flushed: 3, failed: 0, retries: 0, flushes: 1 });
    });

    it('accepts an outcome that a promise resolves with', async () => {
      const { buffer, sink } = await startEvents({ retries: 0 });
      const refused = new Error('refused');
      sink.onFlush = async (batch) => {
        await Promise.resolve();
        return { reject: [{ item: batch[0], error: refused }] };
      };

      buffer.insertMany(items(1, 2));
      await buffer.flush();
      expect(sink.failures[0].error).toBeInstanceOf(RejectedItemsError);
      expect(buffer.stats()).toMatchObject({ flushed: 1, failed: 1 });
    });
  });

  describe('tracing', () => {
    it('publishes an attempt that returned an outcome as a success with retry and reject counts', async () => {
      const channel = diagnosticsChannel.tracingChannel('nestjs-data-buffer:flush');
      const seen: { event: string; ctx: Record<string, unknown> }[] = [];
      const record = (event: string) => (message: unknown) => seen.push({ event, ctx: { ...(message as Record<string, unknown>) } });
      const subscribers = { start: record('start'), end: record('end'), asyncStart: record('asyncStart'), asyncEnd: record('asyncEnd'), error: record('error') };
      channel.subscribe(subscribers);
      try {
        const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0 });
        const gate = deferred();
        sink.onFlush = async (batch, ctx) => {
          if (ctx.attempt > 1) return undefined;
          await gate.promise;
          return { retry: [batch[2]], reject: [{ item: batch[0], error: new Error('refused') }] };
        };

        buffer.insertMany(items(1, 2, 3));
        const report = buffer.flush();
        gate.resolve();
        await report;

        expect(seen.filter((s) => s.event === 'error')).toHaveLength(0);
        const ends = seen.filter((s) => s.event === 'asyncEnd').map((s) => s.ctx);
        expect(ends).toHaveLength(2);
        expect(ends[0]).toMatchObject({ attempt: 1, size: 3, retry: 1, reject: 1 });
        expect(ends[1]).toMatchObject({ attempt: 2, size: 1 });
      } finally {
        channel.unsubscribe(subscribers);
      }
    });
  });
});
