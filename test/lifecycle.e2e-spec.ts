import { Injectable, ModuleMetadata } from '@nestjs/common';
import { Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import {
  BufferClosedError,
  BufferHandler,
  DataBuffer,
  DataBufferModule,
  FlushFailedError,
  getBufferToken,
  OnFlush,
  ShutdownTimeoutError,
} from 'nestjs-data-buffer';
import { deferred, EventsHandler, Item, RecordingSink, useBufferTestApp } from './support/buffer-test.utils';

@Injectable()
class AppJobs {
  ticks = 0;
  @Interval('app-tick', 1_000)
  tick() {
    this.ticks++;
  }
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('lifecycle: timers, bootstrap and shutdown', () => {
  const testApp = useBufferTestApp();
  const { create, start, startEvents, close } = testApp;

  const laneTimers = (registry: SchedulerRegistry) => registry.getTimeouts().filter((name) => name.includes('events'));

  describe('timers in SchedulerRegistry', () => {
    it('registers one timer per lane, named after the buffer and the lane', async () => {
      const { buffer } = await startEvents({ partitions: 3 });
      const registry = testApp.app.get(SchedulerRegistry);

      buffer.insertMany(range(1, 6).map((id) => ({ id })));

      const names = laneTimers(registry);
      expect(names).toHaveLength(3);
      expect(new Set(names).size).toBe(3);
      for (const lane of [0, 1, 2]) expect(names.some((name) => name.includes(String(lane)))).toBe(true);
    });

    it('keeps at most one timer per lane with 10k keys, and still flushes every key on time', async () => {
      const { buffer, sink } = await startEvents({ partitions: 4, interval: 1_000 });
      const registry = testApp.app.get(SchedulerRegistry);

      for (let i = 0; i < 10_000; i++) {
        buffer.insert({ id: i }, `key-${i}`);
        if (i === 5_000) await jest.advanceTimersByTimeAsync(500); // keys with two different deadlines
      }

      expect(laneTimers(registry).length).toBeGreaterThanOrEqual(1);
      expect(laneTimers(registry).length).toBeLessThanOrEqual(4);
      expect(buffer.stats().keys).toBe(10_000);

      await jest.advanceTimersByTimeAsync(500);
      expect(sink.flushes).toHaveLength(5_001);
      expect(laneTimers(registry).length).toBeLessThanOrEqual(4);
      await jest.advanceTimersByTimeAsync(500);
      expect(sink.flushes).toHaveLength(10_000);
      expect(sink.flushes.every((f) => f.ctx.reason === 'interval')).toBe(true);
      expect(buffer.stats().keys).toBe(0);
    });

    it('leaves no timer behind after app.close()', async () => {
      const { buffer } = await startEvents({ partitions: 2 });
      const registry = testApp.app.get(SchedulerRegistry);
      buffer.insertMany([{ id: 1 }, { id: 2 }]);
      buffer.insert({ id: 3 }, 'k');
      expect(laneTimers(registry).length).toBeGreaterThan(0);

      await close();

      expect(laneTimers(registry)).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('bootstrap', () => {
    it('keeps items inserted before app.init() and flushes them on the clock of their batch', async () => {
      const created = await create({ imports: [DataBufferModule.forFeature({ name: 'events', interval: 1_000 })], providers: [RecordingSink, EventsHandler] });
      const buffer = created.get<DataBuffer<Item>>(getBufferToken('events'));

      buffer.insert({ id: 1 });
      buffer.insert({ id: 2 }, 'k');
      let committed = false;
      const commit = buffer.commit({ id: 3 }).then(() => (committed = true));
      await jest.advanceTimersByTimeAsync(600); // the batches' clocks started at insert
      expect(created.get(RecordingSink).flushes).toHaveLength(0);

      await created.init();
      await jest.advanceTimersByTimeAsync(399);
      expect(created.get(RecordingSink).flushes).toHaveLength(0);
      expect(committed).toBe(false);
      await jest.advanceTimersByTimeAsync(1);

      expect(created.get(RecordingSink).delivered()).toEqual([1, 2, 3]);
      expect(created.get(RecordingSink).flushes.every((f) => f.ctx.reason === 'interval')).toBe(true);
      await commit;
      expect(committed).toBe(true);
    });

    it('flushes at bootstrap a batch that is already overdue', async () => {
      const created = await create({ imports: [DataBufferModule.forFeature({ name: 'events', interval: 1_000 })], providers: [RecordingSink, EventsHandler] });
      const buffer = created.get<DataBuffer<Item>>(getBufferToken('events'));

      buffer.insertMany([{ id: 1 }, { id: 2 }]);
      await jest.advanceTimersByTimeAsync(5_000);
      expect(created.get(RecordingSink).flushes).toHaveLength(0);

      await created.init();
      await jest.advanceTimersByTimeAsync(0);

      expect(created.get(RecordingSink).ids()).toEqual([[1, 2]]);
    });

    it('flushes at bootstrap a batch that reached maxSize before it', async () => {
      const created = await create({ imports: [DataBufferModule.forFeature({ name: 'events', maxSize: 2 })], providers: [RecordingSink, EventsHandler] });
      const buffer = created.get<DataBuffer<Item>>(getBufferToken('events'));

      buffer.insertMany([{ id: 1 }, { id: 2 }, { id: 3 }]);
      await created.init();
      await jest.advanceTimersByTimeAsync(0);

      expect(created.get(RecordingSink).ids()).toEqual([[1, 2]]);
      expect(created.get(RecordingSink).flushes[0].ctx.reason).toBe('size');
    });
  });

  describe('shutdown through app.close()', () => {
    it('delivers every pending item with reason "shutdown"', async () => {
      const { buffer, sink } = await startEvents({ partitions: 2 });

      buffer.insertMany([{ id: 1 }, { id: 2 }, { id: 3 }]);
      buffer.insert({ id: 4 }, 'a');
      buffer.insert({ id: 5 }, 7);
      await close();

      expect(sink.delivered()).toEqual([1, 2, 3, 4, 5]);
      expect(sink.flushes.every((f) => f.ctx.reason === 'shutdown')).toBe(true);
      expect(sink.failures).toEqual([]);
      expect(buffer.stats()).toMatchObject({ pending: 0, inFlight: 0, flushed: 5 });
    });

    it('lets batches already sealed keep their reason, and waits for the one in flight', async () => {
      const { buffer, sink } = await startEvents({ maxSize: 2 });
      const gate = deferred();
      sink.onFlush = (items) => (items[0].id === 1 ? gate.promise : undefined);

      buffer.insertMany([{ id: 1 }, { id: 2 }]); // sealed by size, hangs in the handler
      buffer.insertMany([{ id: 3 }, { id: 4 }]); // sealed by size, queued behind it
      buffer.insert({ id: 5 }); // open
      await jest.advanceTimersByTimeAsync(0);

      let closed = false;
      const closing = close().then(() => (closed = true));
      await jest.advanceTimersByTimeAsync(100);
      expect(closed).toBe(false);

      gate.resolve();
      await closing;

      expect(sink.flushes.map((f) => [f.items.map((i) => i.id), f.ctx.reason])).toEqual([
        [[1, 2], 'size'],
        [[3, 4], 'size'],
        [[5], 'shutdown'],
      ]);
    });

    it('waits for retries of a batch at shutdown', async () => {
      const { buffer, sink } = await startEvents({ retries: 2, retryDelay: 1_000 });
      sink.onFlush = (_items, ctx) => {
        if (ctx.attempt < 3) throw new Error('transient');
      };

      buffer.insert({ id: 1 });
      let closed = false;
      const closing = close().then(() => (closed = true));
      await jest.advanceTimersByTimeAsync(1_999);
      expect(closed).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await closing;

      expect(sink.flushes.map((f) => f.ctx.attempt)).toEqual([1, 2, 3]);
      expect(sink.failures).toEqual([]);
    });

    it('refuses inserts, commits and flushes once closed', async () => {
      const { buffer } = await startEvents();
      buffer.insert({ id: 1 });
      await close();

      expect(() => buffer.insert({ id: 2 })).toThrow(BufferClosedError);
      expect(() => buffer.insert({ id: 2 }, 'k')).toThrow(BufferClosedError);
      expect(() => buffer.insertMany([{ id: 3 }])).toThrow(BufferClosedError);
      await expect(buffer.commit({ id: 4 })).rejects.toThrow(BufferClosedError);
      await expect(buffer.flush()).resolves.toEqual({ batches: 0, items: 0, failed: 0 });
      await expect(buffer.flush('k')).resolves.toEqual({ batches: 0, items: 0, failed: 0 });
      expect(buffer.stats()).toMatchObject({ inserted: 1, flushed: 1, pending: 0 });
    });

    it('accepts inserts during step 1 (beforeApplicationShutdown), flushes them through, and refuses them from step 2 on', async () => {
      const { buffer, sink } = await startEvents();
      const gate = deferred();
      sink.onFlush = (items) => (items[0].id === 1 ? gate.promise : undefined);
      buffer.insert({ id: 1 });

      const closing = close();
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes).toHaveLength(1);
      expect(() => buffer.insert({ id: 2 })).not.toThrow();
      expect(buffer.isClosed).toBe(false);

      gate.resolve();
      await closing;
      expect(sink.ids()).toEqual([[1], [2]]);
      expect(sink.flushes[1].ctx.reason).toBe('shutdown');
      expect(() => buffer.insert({ id: 3 })).toThrow(BufferClosedError);
    });

    it('keeps a commit() that waits for room waiting through step 1: it goes in when room frees and is flushed', async () => {
      const { buffer, sink } = await startEvents({ capacity: 2 });
      const gate = deferred();
      sink.onFlush = (items) => (items[0].id === 1 ? gate.promise : undefined);
      buffer.insertMany([{ id: 1 }, { id: 2 }]);
      void buffer.flush(); // both in flight, hung: the buffer is full
      await jest.advanceTimersByTimeAsync(0);

      const waiting = buffer.commit({ id: 3 }).then(() => 'resolved', (error: unknown) => error);
      await jest.advanceTimersByTimeAsync(100);
      const closing = close();
      await jest.advanceTimersByTimeAsync(0);
      gate.resolve();
      await closing;

      expect(await waiting).toBe('resolved');
      expect(sink.delivered()).toEqual([1, 2, 3]);
    });

    it('hands a hung flush and the batches behind it to @OnFlushError with ShutdownTimeoutError after shutdownTimeout', async () => {
      const { buffer, sink } = await startEvents(
        { maxSize: 2, partitions: 1 },
        { imports: [DataBufferModule.forRoot({ shutdownTimeout: 5_000 })] },
      );
      sink.onFlush = (items) => (items[0].id === 1 ? new Promise(() => undefined) : undefined); // never settles
      buffer.insertMany([{ id: 1 }, { id: 2 }]); // in flight, hung
      buffer.insertMany([{ id: 3 }, { id: 4 }]); // sealed, queued
      const committed = buffer.commit({ id: 5 }); // open until shutdown
      const commitOutcome = committed.then(() => 'resolved', (error: unknown) => error);
      await jest.advanceTimersByTimeAsync(0);
      const t0 = Date.now();

      let closed = false;
      const closing = close().then(() => (closed = true));
      await jest.advanceTimersByTimeAsync(4_999);
      expect(sink.failures).toHaveLength(0);
      expect(closed).toBe(false);

      await jest.advanceTimersByTimeAsync(1);
      await closing;

      expect(sink.failures.map((f) => f.items.map((i) => i.id)).flat().sort()).toEqual([1, 2, 3, 4, 5]);
      for (const failure of sink.failures) {
        expect(failure.error).toBeInstanceOf(ShutdownTimeoutError);
        expect((failure.error as ShutdownTimeoutError).buffer).toBe('events');
        expect(failure.at - t0).toBe(5_000);
      }
      expect(sink.flushes[0].ctx.signal.aborted).toBe(true);
      const commitError = await commitOutcome;
      expect(commitError).toBeInstanceOf(FlushFailedError);
      expect((commitError as FlushFailedError).cause).toBeInstanceOf(ShutdownTimeoutError);
      expect(buffer.stats()).toMatchObject({ failed: 5, pending: 0, inFlight: 0 });
      expect(buffer.stats().inserted).toBe(5);
    });

    it('uses a 15000 ms shutdown budget by default', async () => {
      const { buffer, sink } = await startEvents();
      sink.onFlush = () => new Promise(() => undefined);
      buffer.insert({ id: 1 });

      const closing = close();
      await jest.advanceTimersByTimeAsync(14_999);
      expect(sink.failures).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      await closing;

      expect(sink.failures).toHaveLength(1);
      expect(sink.failures[0].error).toBeInstanceOf(ShutdownTimeoutError);
    });

    it('logs the items lost at shutdown when there is no @OnFlushError', async () => {
      @BufferHandler('audit')
      class HungAuditHandler {
        @OnFlush()
        save() {
          return new Promise(() => undefined);
        }
      }
      await start({
        imports: [DataBufferModule.forRoot({ shutdownTimeout: 1_000 }), DataBufferModule.forFeature({ name: 'audit' })],
        providers: [HungAuditHandler],
      });
      testApp.app.get<DataBuffer<Item>>(getBufferToken('audit')).insertMany([{ id: 1 }, { id: 2 }, { id: 3 }]);

      const closing = close();
      await jest.advanceTimersByTimeAsync(1_000);
      await closing;

      const errors = testApp.logs.errors();
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('audit');
      expect(errors[0]).toMatch(/\b3\b/);
    });

    it.each([
      ['before', (imports: ModuleMetadata['imports']) => [ScheduleModule.forRoot(), ...imports!]],
      ['after', (imports: ModuleMetadata['imports']) => [...imports!, ScheduleModule.forRoot()]],
    ])('gives a batch that fails during shutdown all its retries when the app imports ScheduleModule.forRoot() (%s the buffers)', async (_order, importsWith) => {
      await start({
        imports: importsWith([
          DataBufferModule.forRoot({ shutdownTimeout: 10_000 }),
          DataBufferModule.forFeature({ name: 'events', interval: 60_000, retries: 3, retryDelay: 1_000, retryBackoff: 'exponential' }),
        ]),
        providers: [RecordingSink, EventsHandler, AppJobs],
      });
      const buffer = testApp.app.get<DataBuffer<Item>>(getBufferToken('events'));
      const sink = testApp.app.get(RecordingSink);
      sink.onFlush = () => {
        if (sink.flushes.length < 4) throw new Error('database restarting');
      };
      buffer.insertMany([{ id: 1 }, { id: 2 }]);

      let closed = false;
      const closing = close().then(() => (closed = true));
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes.map((f) => f.ctx.reason)).toEqual(['shutdown']);
      await jest.advanceTimersByTimeAsync(1_000 + 2_000 - 1);
      expect(sink.flushes).toHaveLength(2);
      expect(closed).toBe(false);
      await jest.advanceTimersByTimeAsync(1 + 4_000);
      await closing;

      expect(sink.flushes.map((f) => [f.ctx.attempt, f.at - sink.flushes[0].at])).toEqual([
        [1, 0],
        [2, 1_000],
        [3, 3_000],
        [4, 7_000],
      ]);
      expect(sink.failures).toEqual([]);
      expect(buffer.stats()).toMatchObject({ flushed: 2, failed: 0, retries: 3 });
      expect(testApp.logs.errors()).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });

    it.each([
      ['before', (imports: ModuleMetadata['imports']) => [ScheduleModule.forRoot(), ...imports!]],
      ['after', (imports: ModuleMetadata['imports']) => [...imports!, ScheduleModule.forRoot()]],
    ])('still flushes everything when the app imports ScheduleModule.forRoot() (%s the buffers), whose shutdown clears the timers first', async (_order, importsWith) => {
      await start({
        imports: importsWith([DataBufferModule.forFeature({ name: 'events', interval: 1_000, partitions: 2 })]),
        providers: [RecordingSink, EventsHandler, AppJobs],
      });
      const buffer = testApp.app.get<DataBuffer<Item>>(getBufferToken('events'));
      const sink = testApp.app.get(RecordingSink);
      const registry = testApp.app.get(SchedulerRegistry);

      buffer.insertMany([{ id: 1 }, { id: 2 }]);
      buffer.insert({ id: 3 }, 'k');
      await jest.advanceTimersByTimeAsync(1_000);
      buffer.insertMany([{ id: 4 }, { id: 5 }]);
      buffer.insert({ id: 6 }, 'k');

      await expect(close()).resolves.toBeUndefined();

      expect(sink.delivered()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(sink.flushes.filter((f) => f.items.some((i) => i.id >= 4)).every((f) => f.ctx.reason === 'shutdown')).toBe(true);
      expect(testApp.logs.errors()).toEqual([]);
      expect(laneTimers(registry)).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
