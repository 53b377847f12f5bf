import { BufferFullError, DataBufferError, DataBufferModule, InvalidBufferOptionsError } from 'nestjs-data-buffer';
import { deferred, Item, useBufferTestApp } from './support/buffer-test.utils';

const items = (...ids: number[]): Item[] => ids.map((id) => ({ id }));
const outcomeOf = (promise: Promise<void>) => promise.then(() => 'resolved' as const, (error: unknown) => error);

describe('version 2 fixes: pending and inFlight, a full buffer flushes, one name twice', () => {
  const testApp = useBufferTestApp();
  const { start, startEvents } = testApp;

  describe('what pending and inFlight mean', () => {
    it('counts sealed batches waiting behind the running one as pending, and size/dump/drain see them', async () => {
      const { buffer, sink } = await startEvents({ partitions: 1, maxSize: 2 });
      const gate = deferred();
      sink.onFlush = (batch) => (batch[0].id === 1 ? gate.promise : undefined);

      buffer.insertMany(items(1, 2)); // running
      await jest.advanceTimersByTimeAsync(0);
      const waiting = [3, 4].map((id) => outcomeOf(buffer.commit({ id }))); // sealed, waiting
      buffer.insert({ id: 5 }); // open
      await jest.advanceTimersByTimeAsync(0);

      expect(buffer.stats()).toMatchObject({ inFlight: 2, pending: 3 });
      expect(buffer.size()).toBe(3);
      expect(buffer.dump()).toEqual(items(3, 4, 5));
      expect(buffer.drain()).toEqual(items(3, 4, 5));
      for (const outcome of await Promise.all(waiting)) expect(outcome).toBeInstanceOf(DataBufferError);
      expect(buffer.stats()).toMatchObject({ inFlight: 2, pending: 0, drained: 3 });

      gate.resolve();
      await buffer.flush();
      expect(sink.ids()).toEqual([[1, 2]]);
    });

    it("counts a key's items in its open batch and its sealed batches still waiting", async () => {
      const { buffer, sink } = await startEvents({ partitions: 1, maxSize: 2 });
      const gate = deferred();
      sink.onFlush = (_batch, ctx) => (ctx.key === 'b' ? gate.promise : undefined);

      buffer.insertMany(items(1, 2), 'b'); // running
      await jest.advanceTimersByTimeAsync(0);
      buffer.insertMany(items(3, 4), 'a'); // sealed, waiting
      buffer.insert({ id: 5 }, 'a'); // open
      await jest.advanceTimersByTimeAsync(0);

      expect(buffer.size('a')).toBe(3);
      expect(buffer.size('b')).toBe(0);
      expect(buffer.dump('a')).toEqual(items(3, 4, 5));
      expect(buffer.drain('a')).toEqual(items(3, 4, 5));
      gate.resolve();
    });

    it('counts a batch waiting for a retry as in flight', async () => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 1_000 });
      sink.onFlush = (_batch, ctx) => {
        if (ctx.attempt === 1) throw new Error('flaky');
      };

      buffer.insertMany(items(1, 2, 3));
      void buffer.flush();
      await jest.advanceTimersByTimeAsync(500);
      expect(buffer.stats()).toMatchObject({ inFlight: 3, pending: 0 });
      expect(buffer.size()).toBe(0);
      await jest.advanceTimersByTimeAsync(500);
      expect(buffer.stats()).toMatchObject({ inFlight: 0, flushed: 3 });
    });

    it('lists dump() lane by lane, batches in the order they opened, items oldest first', async () => {
      const { buffer } = await startEvents({ partitions: 2 });

      buffer.insert({ id: 1 }); // lane 0
      buffer.insert({ id: 2 }); // lane 1
      buffer.insert({ id: 3 }); // lane 0
      buffer.insert({ id: 4 }); // lane 1
      expect(buffer.dump()).toEqual(items(1, 3, 2, 4));
    });

    it("counts in flush() only the batches it sealed itself, and waits for sealed ones", async () => {
      const { buffer, sink } = await startEvents({ partitions: 1, maxSize: 2 });
      const gate = deferred();
      sink.onFlush = (batch) => (batch[0].id === 1 ? gate.promise : undefined);

      buffer.insertMany(items(1, 2));
      await jest.advanceTimersByTimeAsync(0);
      buffer.insertMany(items(3, 4)); // sealed by size, waiting
      buffer.insert({ id: 5 });
      let report: unknown;
      void buffer.flush().then((r) => (report = r));
      await jest.advanceTimersByTimeAsync(0);
      expect(report).toBeUndefined();

      gate.resolve();
      await jest.advanceTimersByTimeAsync(0);
      expect(report).toEqual({ batches: 1, items: 1, failed: 0 });
      expect(sink.ids()).toEqual([[1, 2], [3, 4], [5]]);
    });

    it('lets drop-oldest evict the oldest pending item from a waiting sealed batch', async () => {
      const { buffer, sink } = await startEvents({ partitions: 1, maxSize: 2, capacity: 5, overflow: 'drop-oldest' });
      const gate = deferred();
      sink.onFlush = (batch) => (batch[0].id === 1 ? gate.promise : undefined);

      buffer.insertMany(items(1, 2));
      await jest.advanceTimersByTimeAsync(0);
      const evicted = outcomeOf(buffer.commit({ id: 3 }));
      buffer.insert({ id: 4 });
      buffer.insert({ id: 5 });
      buffer.insert({ id: 6 }); // full: 3 goes

      expect(await evicted).toBeInstanceOf(BufferFullError);
      expect(buffer.stats()).toMatchObject({ dropped: 1, pending: 3, inFlight: 2 });
      gate.resolve();
      await buffer.flush();
      expect(sink.delivered()).toEqual([1, 2, 4, 5, 6]);
    });
  });

  describe('a full buffer flushes', () => {
    it("seals every open batch with reason 'size' when the buffer fills while nothing is sealed or in flight", async () => {
      const { buffer, sink } = await startEvents({ capacity: 6, maxSize: 7 });

      buffer.insertMany(items(1, 2, 3, 4, 5));
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes).toHaveLength(0);
      buffer.insert({ id: 6 });
      await jest.advanceTimersByTimeAsync(0);

      expect(sink.ids()).toEqual([[1, 2, 3, 4, 5, 6]]);
      expect(sink.flushes[0].ctx.reason).toBe('size');
    });

    it('seals the open batch of every lane and every key', async () => {
      const { buffer, sink } = await startEvents({ capacity: 6, maxSize: 100, partitions: 3 });

      buffer.insertMany(items(1, 2, 3, 4));
      buffer.insert({ id: 5 }, 'k');
      buffer.insert({ id: 6 }, 'j');
      await jest.advanceTimersByTimeAsync(0);

      expect(sink.delivered()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(sink.flushes.every((f) => f.ctx.reason === 'size')).toBe(true);
      expect(buffer.stats()).toMatchObject({ pending: 0, inFlight: 0 });
    });

    it('waits for batches sealed or in flight instead of sealing tiny ones under back-pressure', async () => {
      const { buffer, sink } = await startEvents({ partitions: 1, capacity: 5, maxSize: 3 });
      const gate = deferred();
      sink.onFlush = (batch) => (batch[0].id === 1 ? gate.promise : undefined);

      buffer.insertMany(items(1, 2, 3)); // sealed by size, in flight
      await jest.advanceTimersByTimeAsync(0);
      buffer.insertMany(items(4, 5)); // full, with a batch in flight
      expect(() => buffer.insert({ id: 6 })).toThrow(BufferFullError);

      gate.resolve();
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.ids()).toEqual([[1, 2, 3]]);
      expect(buffer.size()).toBe(2);
    });

    it('still applies the overflow policy to the item that does not fit', async () => {
      const { buffer, sink } = await startEvents({ capacity: 2, maxSize: 10, overflow: 'drop-newest' });

      buffer.insert({ id: 1 });
      buffer.insert({ id: 2 }); // full: sealed at once
      buffer.insert({ id: 3 }); // does not fit: dropped
      await jest.advanceTimersByTimeAsync(0);

      expect(sink.ids()).toEqual([[1, 2]]);
      expect(buffer.stats().dropped).toBe(1);
    });

    it('checks the rule after updateOptions lowered capacity', async () => {
      const { buffer, sink } = await startEvents({ capacity: 10, maxSize: 10 });

      buffer.insertMany(items(1, 2, 3));
      buffer.updateOptions({ capacity: 4 });
      buffer.insert({ id: 4 });
      await jest.advanceTimersByTimeAsync(0);

      expect(sink.ids()).toEqual([[1, 2, 3, 4]]);
      expect(sink.flushes[0].ctx.reason).toBe('size');
    });
  });

  describe('one name twice in one forFeature array', () => {
    it('fails at module creation with InvalidBufferOptionsError naming the buffer', async () => {
      const booting = start({ imports: [DataBufferModule.forFeature([{ name: 'a' }, { name: 'a' }])] });
      await expect(booting).rejects.toBeInstanceOf(InvalidBufferOptionsError);
      await expect(booting).rejects.toMatchObject({ buffer: 'a' });
      await expect(booting).rejects.toThrow('"a"');
    });
  });
});
