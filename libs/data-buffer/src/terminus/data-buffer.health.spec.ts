import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Injectable, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import {
  BufferHandler,
  DataBufferModule,
  DataBufferRegistry,
  OnFlush,
  OnFlushError,
  getBufferToken,
  type BufferStats,
  type DataBuffer,
} from '../index';
import * as ts from 'typescript';
import { DataBufferHealthIndicator } from './index';

/** Every module specifier imported by the files reachable from `entry` through relative imports. */
function importsReachableFrom(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) {
        packages.add(fileName);
        continue;
      }
      const base = resolve(dirname(file), fileName);
      const target = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(candidate));
      if (target) visit(target);
    }
  };
  visit(entry);
  return { files, packages };
}

function stats(name: string, overrides: Partial<BufferStats> = {}): BufferStats {
  return {
    name,
    partitions: 1,
    capacity: 100,
    pending: 0,
    inFlight: 0,
    keys: 0,
    inserted: 0,
    flushed: 0,
    failed: 0,
    dropped: 0,
    drained: 0,
    merged: 0,
    flushes: 0,
    retries: 0,
    lastFlushAt: null,
    lastError: null,
    ...overrides,
  };
}

interface FakeBuffer {
  name: string;
  stats(): BufferStats;
  lastFlushFailed: boolean;
}

/** A registry holding buffers that report the given stats. */
function indicatorFor(buffers: { stats: BufferStats; lastFlushFailed?: boolean }[]): DataBufferHealthIndicator {
  const byName = new Map<string, FakeBuffer>(
    buffers.map((b) => [b.stats.name, { name: b.stats.name, stats: () => b.stats, lastFlushFailed: b.lastFlushFailed ?? false }]),
  );
  const registry = {
    get: (name: string) => byName.get(name),
    getAll: () => [...byName.values()],
    has: (name: string) => byName.has(name),
  } as unknown as DataBufferRegistry;
  return new DataBufferHealthIndicator(registry, new HealthIndicatorService());
}

describe('DataBufferHealthIndicator', () => {
  describe('checkBuffers', () => {
    it("is up and reports every buffer's counters under the key", () => {
      const indicator = indicatorFor([
        { stats: stats('events', { pending: 3, inFlight: 2, capacity: 100, failed: 1, dropped: 4, lastFlushAt: 1700 }) },
        { stats: stats('audit') },
      ]);

      expect(indicator.checkBuffers('buffers')).toEqual({
        buffers: {
          status: 'up',
          buffers: {
            events: { pending: 3, inFlight: 2, capacity: 100, failed: 1, dropped: 4, lastFlushAt: 1700 },
            audit: { pending: 0, inFlight: 0, capacity: 100, failed: 0, dropped: 0, lastFlushAt: null },
          },
        },
      });
    });

    it('is down, naming the buffer, when pending plus in-flight items reach maxFillRatio of the capacity', () => {
      const indicator = indicatorFor([
        { stats: stats('events', { pending: 30, inFlight: 20, capacity: 100 }) },
        { stats: stats('audit', { pending: 49, capacity: 100 }) },
      ]);

      const result = indicator.checkBuffers('buffers', { maxFillRatio: 0.5 });

      expect(result.buffers.status).toBe('down');
      expect(result.buffers.message).toContain('events');
      expect(result.buffers.message).toContain('50 of 100');
      expect(result.buffers.message).not.toContain('audit');
      expect(result.buffers.buffers.events).toMatchObject({ pending: 30, inFlight: 20 });
    });

    it('uses a maxFillRatio of 0.9 by default', () => {
      expect(indicatorFor([{ stats: stats('events', { pending: 89 }) }]).checkBuffers('b').b.status).toBe('up');
      expect(indicatorFor([{ stats: stats('events', { pending: 90 }) }]).checkBuffers('b').b.status).toBe('down');
    });

    it("is down when a buffer's most recent flush failed, without the error's text (it may quote items)", () => {
      const indicator = indicatorFor([
        {
          stats: stats('events', { failed: 5, lastError: { message: 'duplicate key (email)=(alice@example.com)', at: 1 } }),
          lastFlushFailed: true,
        },
        { stats: stats('audit', { failed: 5 }), lastFlushFailed: false },
      ]);

      const result = indicator.checkBuffers('buffers');

      expect(result.buffers.status).toBe('down');
      expect(result.buffers.message).toBe('events: its most recent flush failed');
      expect(JSON.stringify(result)).not.toContain('alice@example.com');
    });

    it('names every unhealthy buffer and each reason', () => {
      const indicator = indicatorFor([
        { stats: stats('events', { pending: 95 }), lastFlushFailed: true },
        { stats: stats('audit', { pending: 99 }) },
      ]);

      const { message } = indicator.checkBuffers('b').b;

      expect(message).toContain('events: holds 95 of 100');
      expect(message).toContain('events: its most recent flush failed');
      expect(message).toContain('audit: holds 99 of 100');
    });

    it('checks only the buffers listed in `buffers`, and reports a listed buffer that does not exist as down', () => {
      const indicator = indicatorFor([{ stats: stats('events') }, { stats: stats('audit', { pending: 100 }) }]);

      expect(indicator.checkBuffers('b', { buffers: ['events'] })).toEqual({
        b: { status: 'up', buffers: { events: expect.any(Object) } },
      });
      const missing = indicator.checkBuffers('b', { buffers: ['events', 'orders'] });
      expect(missing.b.status).toBe('down');
      expect(missing.b.message).toBe('orders: no such buffer is registered');
    });

    it.each([0, -0.1, 1.5, Number.NaN])('rejects maxFillRatio %p', (maxFillRatio) => {
      expect(() => indicatorFor([]).checkBuffers('b', { maxFillRatio })).toThrow(RangeError);
    });
  });

  describe('entry points', () => {
    it("is not reachable from the library's main entry, which never imports @nestjs/terminus", () => {
      const main = importsReachableFrom(resolve(__dirname, '..', 'index.ts'));

      expect([...main.packages].filter((name) => name.startsWith('@nestjs/terminus'))).toEqual([]);
      expect([...main.files].filter((file) => file.startsWith(__dirname))).toEqual([]);
      expect(main.files.size).toBeGreaterThan(5);
    });

    it('is exported by the terminus entry point', () => {
      const terminus = importsReachableFrom(resolve(__dirname, 'index.ts'));
      expect(terminus.packages).toContain('@nestjs/terminus');
      expect(typeof DataBufferHealthIndicator).toBe('function');
    });
  });

  describe('in an app with terminus', () => {
    @Injectable()
    class OrdersSink {
      fail = false;
      readonly saved: number[] = [];
    }

    @BufferHandler('orders')
    class OrdersHandler {
      constructor(private readonly sink: OrdersSink) {}

      @OnFlush()
      save(items: number[]) {
        if (this.sink.fail) throw new Error('database is down');
        this.sink.saved.push(...items);
      }

      @OnFlushError()
      deadLetter() {
        // kept elsewhere
      }
    }

    let app: INestApplication;
    let orders: DataBuffer<number>;
    let health: HealthCheckService;
    let indicator: DataBufferHealthIndicator;
    let sink: OrdersSink;

    beforeEach(async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          TerminusModule.forRoot({ logger: false }),
          DataBufferModule.forFeature({ name: 'orders', capacity: 10, interval: 60_000, retries: 0 }),
        ],
        providers: [OrdersSink, OrdersHandler, DataBufferHealthIndicator],
      }).compile();
      app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      orders = app.get(getBufferToken('orders'));
      health = app.get(HealthCheckService);
      indicator = app.get(DataBufferHealthIndicator);
      sink = app.get(OrdersSink);
    });

    afterEach(async () => {
      await app.close();
    });

    const check = () => health.check([() => indicator.checkBuffers('buffers', { maxFillRatio: 0.9 })]);

    it('turns the health check down while a buffer is nearly full, and up once it is flushed', async () => {
      for (let i = 0; i < 8; i++) orders.insert(i);
      await expect(check()).resolves.toMatchObject({ status: 'ok', info: { buffers: { buffers: { orders: { pending: 8 } } } } });

      orders.insert(8);
      await expect(check()).rejects.toMatchObject({
        response: { status: 'error', error: { buffers: { status: 'down', message: expect.stringContaining('orders') } } },
      });

      await orders.flush();
      await expect(check()).resolves.toMatchObject({ status: 'ok' });
    });

    it('turns down after a batch ends in @OnFlushError and up after the next successful flush', async () => {
      sink.fail = true;
      orders.insert(1);
      await orders.flush();
      await expect(check()).rejects.toMatchObject({
        response: { error: { buffers: { message: 'orders: its most recent flush failed', buffers: { orders: { failed: 1 } } } } },
      });

      sink.fail = false;
      orders.insert(2);
      await orders.flush();
      await expect(check()).resolves.toMatchObject({ status: 'ok', info: { buffers: { buffers: { orders: { failed: 1 } } } } });
      expect(sink.saved).toEqual([2]);
    });
  });
});
