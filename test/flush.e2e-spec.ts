import diagnosticsChannel from 'node:diagnostics_channel';
import { Module } from '@nestjs/common';
import {
  BufferHandler,
  DataBuffer,
  DataBufferError,
  DataBufferModule,
  FlushFailedError,
  getBufferToken,
} from 'nestjs-data-buffer';
import { deferred, EventsHandler, Item, RecordingSink, recordingHandler, useBufferTestApp } from './support/buffer-test.utils';

/** A handler without @OnFlushError: lost items can only be logged. */
const AuditHandler = recordingHandler('audit', { deadLetter: false });

const items = (...ids: number[]): Item[] => ids.map((id) => ({ id }));

describe('flushing through Nest handlers', () => {
  const testApp = useBufferTestApp();
  const { start, startEvents } = testApp;

  describe('discovery', () => {
    it('finds a @BufferHandler provided by a feature module and calls @OnFlush bound to its instance', async () => {
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [RecordingSink, EventsHandler] })
      class EventsModule {}
      await start({ imports: [EventsModule] });
      const buffer = testApp.app.get<DataBuffer<Item>>(getBufferToken('events'));

      buffer.insertMany(items(1, 2));
      await buffer.flush();

      // The handler pushes into `this.sink`: that only works when the method is bound to the instance.
      expect(testApp.app.get(RecordingSink).ids()).toEqual([[1, 2]]);
    });

    it('serves several buffers, each with its own handler', async () => {
      await start({
        imports: [DataBufferModule.forFeature([{ name: 'events' }, { name: 'audit' }])],
        providers: [RecordingSink, EventsHandler, AuditHandler],
      });
      const events = testApp.app.get<DataBuffer<Item>>(getBufferToken('events'));
      const audit = testApp.app.get<DataBuffer<Item>>(getBufferToken('audit'));
      const sink = testApp.app.get(RecordingSink);

      events.insert({ id: 1 });
      audit.insert({ id: 2 });
      await events.flush();
      await audit.flush();

      expect(sink.ids('events')).toEqual([[1]]);
      expect(sink.ids('audit')).toEqual([[2]]);
    });
    it('discovers handlers registered with useClass and useFactory, and does not count a useExisting alias twice', async () => {
      @BufferHandler('audit')
      class FactoryAuditHandler extends AuditHandler {}
      await start({
        imports: [DataBufferModule.forFeature([{ name: 'events' }, { name: 'audit' }])],
        providers: [
          RecordingSink,
          { provide: 'EVENTS_HANDLER', useClass: EventsHandler },
          { provide: 'EVENTS_HANDLER_ALIAS', useExisting: 'EVENTS_HANDLER' },
          { provide: 'AUDIT_HANDLER', useFactory: (sink: RecordingSink) => new FactoryAuditHandler(sink), inject: [RecordingSink] },
        ],
      });
      const sink = testApp.app.get(RecordingSink);

      testApp.app.get<DataBuffer<Item>>(getBufferToken('events')).insert({ id: 1 });
      testApp.app.get<DataBuffer<Item>>(getBufferToken('audit')).insert({ id: 2 });
      await testApp.app.get<DataBuffer<Item>>(getBufferToken('events')).flush();
      await testApp.app.get<DataBuffer<Item>>(getBufferToken('audit')).flush();

      expect(sink.ids('events')).toEqual([[1]]);
      expect(sink.ids('audit')).toEqual([[2]]);
    });

    it('finds @OnFlush and @OnFlushError methods inherited from a base class', async () => {
      @BufferHandler('events')
      class DerivedEventsHandler extends EventsHandler {}
      await start({ imports: [DataBufferModule.forFeature({ name: 'events', retries: 0 })], providers: [RecordingSink, DerivedEventsHandler] });
      const buffer = testApp.app.get<DataBuffer<Item>>(getBufferToken('events'));
      const sink = testApp.app.get(RecordingSink);
      sink.onFlush = (_items, ctx) => {
        if (ctx.key === 'bad') throw new Error('boom');
      };

      buffer.insert({ id: 1 });
      buffer.insert({ id: 2 }, 'bad');
      await buffer.flush();

      expect(sink.ids()).toEqual([[1], [2]]);
      expect(sink.failures.map((f) => f.items)).toEqual([[{ id: 2 }]]);
    });
  });

  describe('flush context', () => {
    it('gives buffer, key, partition, batchId, attempt, reason, signal and meta', async () => {
      const meta = { table: 'events_raw' };
      const { buffer, sink } = await startEvents({ partitions: 4, meta });

      buffer.insert({ id: 1 }, 'tenant-a');
      await buffer.flush();

      expect(sink.flushes).toHaveLength(1);
      const { ctx } = sink.flushes[0];
      expect(ctx.buffer).toBe('events');
      expect(ctx.key).toBe('tenant-a');
      expect(Number.isInteger(ctx.partition)).toBe(true);
      expect(ctx.partition).toBeGreaterThanOrEqual(0);
      expect(ctx.partition).toBeLessThan(4);
      expect(typeof ctx.batchId).toBe('string');
      expect(ctx.batchId.length).toBeGreaterThan(0);
      expect(ctx.attempt).toBe(1);
      expect(ctx.reason).toBe('manual');
      expect(ctx.signal).toBeInstanceOf(AbortSignal);
      expect(ctx.signal.aborted).toBe(false);
      expect(ctx.meta).toBe(meta);
    });

    it('spreads unkeyed items round-robin over the lanes, with key undefined and a batchId per batch', async () => {
      const { buffer, sink } = await startEvents({ partitions: 3 });

      buffer.insertMany(items(0, 1, 2, 3, 4, 5));
      await buffer.flush();

      const byPartition = new Map(sink.flushes.map((f) => [f.ctx.partition, f.items.map((i) => i.id)]));
      expect(byPartition).toEqual(new Map([[0, [0, 3]], [1, [1, 4]], [2, [2, 5]]]));
      expect(sink.flushes.every((f) => f.ctx.key === undefined)).toBe(true);
      expect(new Set(sink.flushes.map((f) => f.ctx.batchId)).size).toBe(3);
    });

    it('sends the same key always to the same lane', async () => {
      const { buffer, sink } = await startEvents({ partitions: 8 });

      for (let round = 0; round < 3; round++) {
        buffer.insert({ id: round }, 'tenant-x');
        buffer.insert({ id: round }, 42);
        await buffer.flush();
      }

      const lanesOf = (key: string | number) => new Set(sink.flushes.filter((f) => f.ctx.key === key).map((f) => f.ctx.partition));
      expect(lanesOf('tenant-x').size).toBe(1);
      expect(lanesOf(42).size).toBe(1);
    });
  });

  describe('triggers', () => {
    it('flushes each key as its own batch, in insertion order, keeping the key type', async () => {
      const { buffer, sink } = await startEvents({ partitions: 2 });

      buffer.insert({ id: 1 }, 'a');
      buffer.insert({ id: 2 }, 'b');
      buffer.insert({ id: 3 }, 'a');
      buffer.insert({ id: 4 }, 1);
      buffer.insert({ id: 5 }, '1');
      buffer.insert({ id: 6 }, 'a');
      buffer.insert({ id: 7 }, 0);
      buffer.insert({ id: 8 }, '');
      expect(buffer.stats().keys).toBe(6);
      await buffer.flush();

      const byKey = new Map(sink.flushes.map((f) => [f.ctx.key, f.items.map((i) => i.id)]));
      expect(byKey).toEqual(
        new Map<string | number, number[]>([
          ['a', [1, 3, 6]],
          ['b', [2]],
          [1, [4]],
          ['1', [5]],
          [0, [7]],
          ['', [8]],
        ]),
      );
      expect(buffer.stats().keys).toBe(0);
    });

    it('flushes a batch as soon as it reaches maxSize (reason "size")', async () => {
      const { buffer, sink } = await startEvents({ maxSize: 3 });

      buffer.insert({ id: 1 });
      buffer.insert({ id: 2 });
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes).toHaveLength(0);

      buffer.insert({ id: 3 });
      buffer.insert({ id: 4 });
      await jest.advanceTimersByTimeAsync(0);

      expect(sink.ids()).toEqual([[1, 2, 3]]);
      expect(sink.flushes[0].ctx.reason).toBe('size');
      expect(buffer.size()).toBe(1);
    });

    it('flushes a keyed batch when that key reaches maxSize, not the other keys', async () => {
      const { buffer, sink } = await startEvents({ maxSize: 2 });

      buffer.insert({ id: 1 }, 'a');
      buffer.insert({ id: 2 }, 'b');
      buffer.insert({ id: 3 }, 'a');
      await jest.advanceTimersByTimeAsync(0);

      expect(sink.flushes.map((f) => [f.ctx.key, f.items.map((i) => i.id), f.ctx.reason])).toEqual([['a', [1, 3], 'size']]);
      expect(buffer.size('b')).toBe(1);
    });

    it('flushes on interval measured from the first insert into the batch (reason "interval")', async () => {
      const { buffer, sink } = await startEvents({ interval: 1_000 });
      const t0 = Date.now();

      await jest.advanceTimersByTimeAsync(400);
      buffer.insert({ id: 1 }); // the batch's clock starts here: due at t0 + 1400
      await jest.advanceTimersByTimeAsync(500);
      buffer.insert({ id: 2 }); // a later insert does not move the deadline
      await jest.advanceTimersByTimeAsync(499);
      expect(sink.flushes).toHaveLength(0);

      await jest.advanceTimersByTimeAsync(1);
      expect(sink.ids()).toEqual([[1, 2]]);
      expect(sink.flushes[0].ctx.reason).toBe('interval');
      expect(sink.flushes[0].at - t0).toBe(1_400);

      // Nothing pending: nothing flushes, however long we wait; the next batch gets its own clock.
      await jest.advanceTimersByTimeAsync(5_000);
      expect(sink.flushes).toHaveLength(1);
      buffer.insert({ id: 3 });
      await jest.advanceTimersByTimeAsync(999);
      expect(sink.flushes).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(sink.ids()).toEqual([[1, 2], [3]]);
    });

    it('gives every key its own interval clock', async () => {
      const { buffer, sink } = await startEvents({ interval: 1_000 });

      buffer.insert({ id: 1 }, 'a');
      await jest.advanceTimersByTimeAsync(600);
      buffer.insert({ id: 2 }, 'b');
      await jest.advanceTimersByTimeAsync(400);
      expect(sink.flushes.map((f) => f.ctx.key)).toEqual(['a']);
      await jest.advanceTimersByTimeAsync(599);
      expect(sink.flushes.map((f) => f.ctx.key)).toEqual(['a']);
      await jest.advanceTimersByTimeAsync(1);
      expect(sink.flushes.map((f) => f.ctx.key)).toEqual(['a', 'b']);
    });
  });

  describe('manual flush', () => {
    it('flush(key) flushes only that key and reports batches and items', async () => {
      const { buffer, sink } = await startEvents();

      buffer.insertMany(items(1, 2), 'a');
      buffer.insertMany(items(3, 4, 5), 'b');
      buffer.insert({ id: 6 });

      await expect(buffer.flush('a')).resolves.toEqual({ batches: 1, items: 2, failed: 0 });
      expect(sink.ids()).toEqual([[1, 2]]);
      expect(sink.flushes[0].ctx.reason).toBe('manual');
      expect(buffer.size('b')).toBe(3);
      expect(buffer.size()).toBe(4);

      await expect(buffer.flush('nobody')).resolves.toEqual({ batches: 0, items: 0, failed: 0 });
      await expect(buffer.flush()).resolves.toEqual({ batches: 2, items: 4, failed: 0 });
      expect(buffer.size()).toBe(0);
    });

    it('reports failed items without rejecting', async () => {
      const { buffer, sink } = await startEvents({ retries: 0 });
      sink.onFlush = (_items, ctx) => {
        if (ctx.key === 'bad') throw new Error('database down');
      };

      buffer.insertMany(items(1, 2, 3), 'bad');
      buffer.insertMany(items(4, 5), 'good');

      await expect(buffer.flush()).resolves.toEqual({ batches: 2, items: 5, failed: 3 });
    });

    it('waits for batches already in flight, counting only those it handed over', async () => {
      const { buffer, sink } = await startEvents({ maxSize: 2 });
      const gate = deferred();
      sink.onFlush = () => gate.promise;

      buffer.insertMany(items(1, 2)); // sealed by size, now in flight and hanging
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes).toHaveLength(1);

      let report: unknown;
      void buffer.flush().then((r) => (report = r));
      await jest.advanceTimersByTimeAsync(0);
      expect(report).toBeUndefined();

      gate.resolve();
      await jest.advanceTimersByTimeAsync(0);
      expect(report).toEqual({ batches: 0, items: 0, failed: 0 });
    });
  });

  describe('retries', () => {
    it('retries with a fixed delay, same batchId, 1-based attempts', async () => {
      const { buffer, sink } = await startEvents({ retries: 2, retryDelay: 1_000 });
      sink.onFlush = (_items, ctx) => {
        throw new Error(`attempt ${ctx.attempt} failed`);
      };
      const t0 = Date.now();

      buffer.insertMany(items(1, 2));
      const report = buffer.flush();
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(999);
      expect(sink.flushes).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(sink.flushes).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(1_000);

      await expect(report).resolves.toEqual({ batches: 1, items: 2, failed: 2 });
      expect(sink.flushes.map((f) => f.at - t0)).toEqual([0, 1_000, 2_000]);
      expect(sink.flushes.map((f) => f.ctx.attempt)).toEqual([1, 2, 3]);
      expect(new Set(sink.flushes.map((f) => f.ctx.batchId)).size).toBe(1);
      expect(sink.flushes.every((f) => f.ctx.reason === 'manual')).toBe(true);
      expect(buffer.stats()).toMatchObject({ retries: 2, failed: 2, flushed: 0 });
    });

    it('retries with exponential backoff: retryDelay * 2^(n-1), capped at maxRetryDelay', async () => {
      const { buffer, sink } = await startEvents({ retries: 4, retryDelay: 100, retryBackoff: 'exponential', maxRetryDelay: 300 });
      sink.onFlush = () => Promise.reject(new Error('still down'));
      const t0 = Date.now();

      buffer.insert({ id: 1 });
      const report = buffer.flush();
      await jest.advanceTimersByTimeAsync(5_000);

      await expect(report).resolves.toEqual({ batches: 1, items: 1, failed: 1 });
      // waits 100, 200, 300 (capped from 400), 300 (capped from 800)
      expect(sink.flushes.map((f) => f.at - t0)).toEqual([0, 100, 300, 600, 900]);
    });

    it('stops retrying once an attempt succeeds', async () => {
      const { buffer, sink } = await startEvents({ retries: 5, retryDelay: 10 });
      sink.onFlush = (_items, ctx) => {
        if (ctx.attempt < 3) throw new Error('flaky');
      };

      buffer.insertMany(items(1, 2, 3));
      const report = buffer.flush();
      await jest.advanceTimersByTimeAsync(1_000);

      await expect(report).resolves.toEqual({ batches: 1, items: 3, failed: 0 });
      expect(sink.flushes.map((f) => f.ctx.attempt)).toEqual([1, 2, 3]);
      expect(sink.failures).toHaveLength(0);
      expect(buffer.stats()).toMatchObject({ flushed: 3, failed: 0, retries: 2, flushes: 1, lastError: null });
    });

    it('fails an attempt that outlives flushTimeout and aborts its signal', async () => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0, flushTimeout: 500 });
      sink.onFlush = (_items, ctx) => (ctx.attempt === 1 ? new Promise(() => undefined) : undefined);

      buffer.insert({ id: 1 });
      const report = buffer.flush();
      await jest.advanceTimersByTimeAsync(499);
      expect(sink.flushes).toHaveLength(1);
      expect(sink.flushes[0].ctx.signal.aborted).toBe(false);
      await jest.advanceTimersByTimeAsync(1);

      await expect(report).resolves.toEqual({ batches: 1, items: 1, failed: 0 });
      expect(sink.flushes[0].ctx.signal.aborted).toBe(true);
      expect(sink.flushes.map((f) => f.ctx.attempt)).toEqual([1, 2]);
    });
  });

  describe('failure handling', () => {
    it('calls @OnFlushError once with the same items and the last attempt\'s error', async () => {
      const { buffer, sink } = await startEvents({ retries: 2, retryDelay: 10, meta: 'm' });
      const thrown: Error[] = [];
      sink.onFlush = (_items, ctx) => {
        const error = new Error(`attempt ${ctx.attempt}`);
        thrown.push(error);
        throw error;
      };

      buffer.insertMany(items(7, 8, 9), 'k');
      const report = buffer.flush();
      await jest.advanceTimersByTimeAsync(100);
      await report;

      expect(sink.failures).toHaveLength(1);
      const failure = sink.failures[0];
      expect(failure.error).toBe(thrown[2]);
      expect(failure.items).toEqual(items(7, 8, 9));
      expect(failure.ctx).toMatchObject({ buffer: 'events', key: 'k', batchId: sink.flushes[0].ctx.batchId, meta: 'm' });
      expect(testApp.logs.errors()).toEqual([]);
    });

    it('without @OnFlushError, logs an error naming the buffer and the number of items lost', async () => {
      await start({ imports: [DataBufferModule.forFeature({ name: 'audit', retries: 0 })], providers: [RecordingSink, AuditHandler] });
      const buffer = testApp.app.get<DataBuffer<Item>>(getBufferToken('audit'));
      testApp.app.get(RecordingSink).onFlush = () => {
        throw new Error('disk full');
      };

      buffer.insertMany(items(1, 2, 3, 4, 5, 6, 7));
      await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 7, failed: 7 });

      const errors = testApp.logs.errors();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('audit');
      expect(errors[0]).toMatch(/\b7\b/);
      expect(errors[0]).toContain('disk full');
    });

    it.each([
      ['throws', () => { throw new Error('dead letter table missing'); }],
      ['rejects', () => Promise.reject(new Error('dead letter table missing'))],
    ])('logs, and does not rethrow, an error that @OnFlushError %s', async (_how, onFlushError) => {
      const { buffer, sink } = await startEvents({ retries: 0 });
      sink.onFlush = (_items, ctx) => {
        if (ctx.key === 'bad') throw new Error('insert failed');
      };
      sink.onFlushError = onFlushError;

      buffer.insertMany(items(1, 2), 'bad');
      await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 2, failed: 2 });

      const errors = testApp.logs.errors();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('events');
      expect(errors[0]).toContain('dead letter table missing');

      // The buffer keeps working.
      buffer.insert({ id: 3 }, 'good');
      await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 1, failed: 0 });
    });
  });

  describe('commit()', () => {
    it('resolves only once the batch holding the item was flushed', async () => {
      const { buffer, sink } = await startEvents({ interval: 1_000 });

      let settled = false;
      const committed = buffer.commit({ id: 1 }).then(() => (settled = true));
      buffer.insert({ id: 2 });
      await jest.advanceTimersByTimeAsync(999);
      expect(settled).toBe(false);
      expect(sink.flushes).toHaveLength(0);

      await jest.advanceTimersByTimeAsync(1);
      await committed;
      expect(settled).toBe(true);
      expect(sink.ids()).toEqual([[1, 2]]);
    });

    it('does not resolve before a slow handler has finished', async () => {
      const { buffer, sink } = await startEvents();
      const gate = deferred();
      sink.onFlush = () => gate.promise;

      let settled = false;
      const committed = buffer.commit({ id: 1 }).then(() => (settled = true));
      void buffer.flush();
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes).toHaveLength(1);
      expect(settled).toBe(false);

      gate.resolve();
      await committed;
      expect(settled).toBe(true);
    });

    it('rejects with FlushFailedError whose cause is the last error when the batch failed', async () => {
      const { buffer, sink } = await startEvents({ retries: 1, retryDelay: 0 });
      const thrown: Error[] = [];
      sink.onFlush = () => {
        const error = new Error(`failure ${thrown.length + 1}`);
        thrown.push(error);
        throw error;
      };

      const committed = buffer.commit({ id: 1 });
      const outcome = committed.then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await buffer.flush();

      const error = await outcome;
      expect(error).toBeInstanceOf(FlushFailedError);
      expect(error).toBeInstanceOf(DataBufferError);
      expect((error as FlushFailedError).cause).toBe(thrown[1]);
      expect((error as FlushFailedError).attempts).toBe(2);
      expect((error as FlushFailedError).buffer).toBe('events');
      // @OnFlushError still ran for the batch.
      expect(sink.failures).toHaveLength(1);
    });
  });

  describe('tracing channel nestjs-data-buffer:flush', () => {
    it('publishes start/end/error per attempt with the batch context and never the items', async () => {
      const channel = diagnosticsChannel.tracingChannel('nestjs-data-buffer:flush');
      const seen: { event: string; ctx: Record<string, unknown> }[] = [];
      const record = (event: string) => (message: unknown) => {
        seen.push({ event, ctx: { ...(message as Record<string, unknown>) } });
      };
      const subscribers = {
        start: record('start'),
        end: record('end'),
        asyncStart: record('asyncStart'),
        asyncEnd: record('asyncEnd'),
        error: record('error'),
      };
      channel.subscribe(subscribers);
      try {
        const { buffer, sink } = await startEvents({ partitions: 2, retries: 1, retryDelay: 0 });
        const failure = new Error('first attempt fails');
        sink.onFlush = (_items, ctx) => (ctx.attempt === 1 ? Promise.reject(failure) : Promise.resolve());

        buffer.insertMany([{ id: 1, secret: 'top-secret-payload' }, { id: 2, secret: 'top-secret-payload' }], 'tenant-1');
        await buffer.flush();

        const starts = seen.filter((s) => s.event === 'start').map((s) => s.ctx);
        const batchId = sink.flushes[0].ctx.batchId;
        const partition = sink.flushes[0].ctx.partition;
        expect(starts).toEqual([
          { buffer: 'events', key: 'tenant-1', partition, batchId, size: 2, attempt: 1, reason: 'manual' },
          { buffer: 'events', key: 'tenant-1', partition, batchId, size: 2, attempt: 2, reason: 'manual' },
        ]);
        const errors = seen.filter((s) => s.event === 'error');
        expect(errors).toHaveLength(1);
        expect(errors[0].ctx).toMatchObject({ attempt: 1, error: failure });
        expect(seen.filter((s) => s.event === 'end')).toHaveLength(2);
        expect(seen.filter((s) => s.event === 'asyncEnd').map((s) => s.ctx.attempt)).toEqual([1, 2]);

        for (const { ctx } of seen) {
          expect(JSON.stringify(ctx, (_k, v) => (v instanceof Error ? v.message : v))).not.toContain('top-secret-payload');
          expect(Object.values(ctx).some((v) => Array.isArray(v))).toBe(false);
        }
      } finally {
        channel.unsubscribe(subscribers);
      }
    });
  });

  describe('stats()', () => {
    it('balances inserted against flushed, failed, dropped, drained, pending and in flight', async () => {
      const { buffer, sink } = await startEvents({ capacity: 10, overflow: 'drop-newest', retries: 0, maxSize: 100 });
      const gate = deferred();
      sink.onFlush = (_items, ctx) => {
        if (ctx.key === 'bad') throw new Error('bad batch');
        if (ctx.key === 'slow') return gate.promise;
        return undefined;
      };
      const balanced = () => {
        const s = buffer.stats();
        return s.inserted === s.flushed + s.failed + s.dropped + s.drained + s.pending + s.inFlight;
      };

      buffer.insertMany(items(1, 2, 3), 'ok');
      await buffer.flush('ok');
      buffer.insertMany(items(4, 5), 'bad');
      await buffer.flush('bad');
      buffer.insertMany(items(6, 7), 'slow');
      void buffer.flush('slow');
      await jest.advanceTimersByTimeAsync(0);
      buffer.insertMany(items(8, 9), 'drain');
      expect(buffer.drain('drain').map((i) => i.id)).toEqual([8, 9]);
      for (let id = 10; id < 19; id++) buffer.insert({ id }); // 8 fit next to the 2 in flight, 1 is dropped

      expect(buffer.stats()).toMatchObject({
        name: 'events',
        capacity: 10,
        inserted: 18,
        flushed: 3,
        failed: 2,
        dropped: 1,
        drained: 2,
        pending: 8,
        inFlight: 2,
        keys: 0,
        flushes: 1,
        retries: 0,
      });
      expect(buffer.stats().lastError?.message).toContain('bad batch');
      expect(typeof buffer.stats().lastFlushAt).toBe('number');
      expect(balanced()).toBe(true);

      gate.resolve();
      await buffer.flush();
      expect(buffer.stats()).toMatchObject({ inserted: 18, flushed: 13, failed: 2, pending: 0, inFlight: 0, flushes: 3 });
      expect(balanced()).toBe(true);
    });
  });
});
