import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SpanStatusCode } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { DataPoint, Histogram, MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BufferHandler, DataBuffer, DataBufferModule, FlushTimeoutError, getBufferToken, OnFlush } from '../index';
import type { BufferOptions, FlushContext } from '../index';
import {
  ATTR_BUFFER_NAME,
  DataBufferOpenTelemetryModule,
  instrumentDataBuffers,
  METRIC_CAPACITY,
  METRIC_FLUSH_ATTEMPTS,
  METRIC_FLUSH_BATCH_SIZE,
  METRIC_FLUSH_DURATION,
  METRIC_FLUSH_RETRIES,
  METRIC_ITEMS_DROPPED,
  METRIC_ITEMS_FAILED,
  METRIC_ITEMS_FLUSHED,
  METRIC_ITEMS_IN_FLIGHT,
  METRIC_ITEMS_INSERTED,
  METRIC_ITEMS_MERGED,
  METRIC_ITEMS_PENDING,
} from './index';
import type { DataBufferInstrumentation } from './index';

/** An SDK with in-memory exporters: `metrics()` collects now, `spans()` lists the finished spans. */
function telemetry() {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  return {
    meterProvider,
    tracerProvider,
    /** The metrics of the latest collection, by name. */
    async metrics(): Promise<Map<string, MetricData>> {
      metricExporter.reset();
      await reader.forceFlush();
      const collected = metricExporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
      return new Map(collected.map((m) => [m.descriptor.name, m]));
    },
    spans: () => spanExporter.getFinishedSpans(),
    shutdown: () => Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]),
  };
}

/** The value of `metric` for the buffer `buffer`, and its other attributes. */
function pointOf<T = number>(metric: MetricData | undefined, buffer: string, attributes: Record<string, unknown> = {}): DataPoint<T> | undefined {
  return (metric?.dataPoints as DataPoint<T>[] | undefined)?.find(
    (p) => p.attributes[ATTR_BUFFER_NAME] === buffer && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v),
  );
}

describe('nestjs-data-buffer/opentelemetry', () => {
  let otel: ReturnType<typeof telemetry>;
  let instrumentation: DataBufferInstrumentation | undefined;
  const buffers: DataBuffer<number>[] = [];

  const buffer = (options: Partial<BufferOptions> = {}, onFlush: (items: number[], ctx: FlushContext) => unknown = () => undefined) => {
    const created = new DataBuffer<number>(
      { name: 'events', interval: 60_000, retryDelay: 0, ...options },
      { onFlush, onFlushError: () => undefined },
    );
    created.start();
    buffers.push(created);
    return created;
  };

  beforeEach(() => {
    otel = telemetry();
  });

  afterEach(async () => {
    await Promise.all(buffers.splice(0).map((b) => b.close(1_000)));
    instrumentation?.disable();
    instrumentation = undefined;
    jest.useRealTimers();
    await otel.shutdown();
  });

  describe('instrumentDataBuffers (standalone)', () => {
    it('observes pending, in flight and capacity, and the counters of stats(), per buffer', async () => {
      let release!: () => void;
      const events = buffer({ capacity: 5, maxSize: 2, overflow: 'drop-newest', retries: 1 }, (items) =>
        items.includes(1) ? new Promise<void>((resolve) => (release = resolve)) : undefined,
      );
      const audit = buffer({ name: 'audit' });
      instrumentation = instrumentDataBuffers([events, audit], otel);

      events.insertMany([1, 2, 3, 4, 5, 6, 7]); // [1, 2] held by the handler, [3, 4] sealed behind it, 5 open, 6 and 7 dropped
      audit.insert(10);
      await Promise.resolve(); // the lane takes its first sealed batch in a microtask
      const held = events.stats();
      let metrics = await otel.metrics();

      expect(held.pending + held.inFlight).toBe(5);
      expect(held.inFlight).toBeGreaterThanOrEqual(2);
      expect(pointOf(metrics.get(METRIC_ITEMS_PENDING), 'events')?.value).toBe(held.pending);
      expect(pointOf(metrics.get(METRIC_ITEMS_IN_FLIGHT), 'events')?.value).toBe(held.inFlight);
      expect(pointOf(metrics.get(METRIC_CAPACITY), 'events')?.value).toBe(5);
      expect(pointOf(metrics.get(METRIC_ITEMS_INSERTED), 'events')?.value).toBe(7);
      expect(pointOf(metrics.get(METRIC_ITEMS_DROPPED), 'events')?.value).toBe(2);
      expect(pointOf(metrics.get(METRIC_ITEMS_PENDING), 'audit')?.value).toBe(1);
      expect(pointOf(metrics.get(METRIC_CAPACITY), 'audit')?.value).toBe(100_000);

      release();
      await events.flush();
      metrics = await otel.metrics();

      expect(pointOf(metrics.get(METRIC_ITEMS_FLUSHED), 'events')?.value).toBe(5);
      expect(pointOf(metrics.get(METRIC_ITEMS_PENDING), 'events')?.value).toBe(0);
      expect(pointOf(metrics.get(METRIC_ITEMS_IN_FLIGHT), 'events')?.value).toBe(0);
      expect(pointOf(metrics.get(METRIC_ITEMS_FAILED), 'events')?.value).toBe(0);
      expect(pointOf(metrics.get(METRIC_ITEMS_MERGED), 'events')?.value).toBe(0);
      expect(metrics.get(METRIC_ITEMS_INSERTED)?.descriptor.unit).toBe('{item}');
      expect(metrics.get(METRIC_ITEMS_INSERTED)?.dataPointType).toBe(DataPointType.SUM);
      expect(metrics.get(METRIC_ITEMS_PENDING)?.dataPointType).toBe(DataPointType.GAUGE);
    });

    it('counts failed items and retries', async () => {
      const events = buffer({ retries: 2 }, () => {
        throw new Error('database is down');
      });
      instrumentation = instrumentDataBuffers([events], otel);

      events.insertMany([1, 2, 3]);
      await events.flush();
      const metrics = await otel.metrics();

      expect(pointOf(metrics.get(METRIC_ITEMS_FAILED), 'events')?.value).toBe(3);
      expect(pointOf(metrics.get(METRIC_FLUSH_RETRIES), 'events')?.value).toBe(2);
      expect(metrics.get(METRIC_FLUSH_RETRIES)?.descriptor.unit).toBe('{attempt}');
    });

    it('makes one span per attempt with the batch, and an error status on the failed one', async () => {
      let calls = 0;
      const events = buffer({ name: 'events', retries: 1, partitions: 2 }, () => {
        if (++calls === 1) throw new Error('connection reset');
      });
      instrumentation = instrumentDataBuffers([events], otel);

      events.insertMany([1, 2, 3], 'tenant-a');
      await events.flush();
      const spans = otel.spans();

      expect(spans.map((s) => s.name)).toEqual(['flush events', 'flush events']);
      const [failed, retried] = spans;
      expect(failed.attributes).toEqual(
        expect.objectContaining({
          'data_buffer.name': 'events',
          'data_buffer.partition': expect.any(Number),
          'data_buffer.batch.id': expect.any(String),
          'data_buffer.batch.size': 3,
          'data_buffer.flush.attempt': 1,
          'data_buffer.flush.reason': 'manual',
          'data_buffer.flush.outcome': 'failure',
          'error.type': 'Error',
        }),
      );
      expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'connection reset' });
      expect(failed.events.map((e) => e.name)).toEqual(['exception']);
      expect(retried.attributes['data_buffer.flush.attempt']).toBe(2);
      expect(retried.attributes['data_buffer.batch.id']).toBe(failed.attributes['data_buffer.batch.id']);
      expect(retried.attributes['data_buffer.partition']).toBe(failed.attributes['data_buffer.partition']);
      expect(retried.attributes['data_buffer.flush.outcome']).toBe('success');
      expect(retried.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(retried.parentSpanContext).toBeUndefined();
      // Item contents and keys never reach a span.
      expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain('tenant-a');
    });

    it('records flush duration and batch size histograms and attempts by outcome', async () => {
      jest.useFakeTimers();
      let attempt = 0;
      const events = buffer({ retries: 1, flushTimeout: 1_000 }, () => {
        attempt++;
        // The first attempt outlives flushTimeout; the second takes 250 ms.
        return new Promise<void>((resolve) => setTimeout(resolve, attempt === 1 ? 5_000 : 250));
      });
      instrumentation = instrumentDataBuffers([events], otel);

      events.insertMany([1, 2, 3, 4]);
      const flushed = events.flush();
      await jest.advanceTimersByTimeAsync(1_250);
      await flushed;
      jest.useRealTimers(); // the SDK's export runs on real time
      const metrics = await otel.metrics();

      const success = { 'data_buffer.flush.outcome': 'success', 'data_buffer.flush.reason': 'manual' };
      const failure = { 'data_buffer.flush.outcome': 'failure', 'error.type': FlushTimeoutError.name };
      expect(pointOf(metrics.get(METRIC_FLUSH_ATTEMPTS), 'events', success)?.value).toBe(1);
      expect(pointOf(metrics.get(METRIC_FLUSH_ATTEMPTS), 'events', failure)?.value).toBe(1);
      const duration = metrics.get(METRIC_FLUSH_DURATION);
      expect(duration?.descriptor.unit).toBe('s');
      expect(pointOf<Histogram>(duration, 'events', success)?.value).toEqual(expect.objectContaining({ count: 1, sum: 0.25 }));
      expect(pointOf<Histogram>(duration, 'events', failure)?.value).toEqual(expect.objectContaining({ count: 1, sum: 1 }));
      const size = pointOf<Histogram>(metrics.get(METRIC_FLUSH_BATCH_SIZE), 'events', success);
      expect(size?.value).toEqual(expect.objectContaining({ count: 1, sum: 4 }));
      expect(metrics.get(METRIC_FLUSH_BATCH_SIZE)?.descriptor.unit).toBe('{item}');
    });

    it('traces only the buffers it was given, and nothing after disable()', async () => {
      const events = buffer();
      const other = buffer({ name: 'other' });
      instrumentation = instrumentDataBuffers([events], otel);

      other.insert(1);
      await other.flush();
      events.insert(2);
      await events.flush();
      instrumentation.disable();
      instrumentation.disable();
      events.insert(3);
      await events.flush();
      const metrics = await otel.metrics();

      expect(otel.spans().map((s) => s.attributes['data_buffer.name'])).toEqual(['events']);
      expect(pointOf(metrics.get(METRIC_FLUSH_ATTEMPTS), 'other')).toBeUndefined();
      expect(pointOf(metrics.get(METRIC_FLUSH_ATTEMPTS), 'events')?.value).toBe(1);
    });
  });

  describe('DataBufferOpenTelemetryModule', () => {
    @Injectable()
    class Saved {
      readonly batches: number[][] = [];
    }

    @BufferHandler('events')
    class EventsHandler {
      constructor(private readonly saved: Saved) {}

      @OnFlush()
      save(items: number[]) {
        this.saved.batches.push([...items]);
      }
    }

    it.each([
      ['forRoot', () => DataBufferOpenTelemetryModule.forRoot({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider })],
      ['forRootAsync', () => DataBufferOpenTelemetryModule.forRootAsync({ useFactory: async () => ({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider }) })],
    ])('%s instruments every buffer of the app from bootstrap until after the flush at shutdown', async (_, openTelemetryModule) => {
      const moduleRef = await Test.createTestingModule({
        imports: [DataBufferModule.forFeature({ name: 'events', interval: 60_000 }), openTelemetryModule()],
        providers: [Saved, EventsHandler],
      }).compile();
      const app = await moduleRef.createNestApplication({ logger: false }).init();
      const events = app.get<DataBuffer<number>>(getBufferToken('events'));

      events.insertMany([1, 2, 3]);
      expect(pointOf((await otel.metrics()).get(METRIC_ITEMS_PENDING), 'events')?.value).toBe(3);
      events.insert(4);
      await app.close();

      expect(app.get(Saved).batches).toEqual([[1, 2, 3, 4]]);
      expect(otel.spans().map((s) => [s.name, s.attributes['data_buffer.flush.reason']])).toEqual([['flush events', 'shutdown']]);
    });

    it('starts without any buffer registered', async () => {
      const moduleRef = await Test.createTestingModule({ imports: [DataBufferOpenTelemetryModule.forRoot(otel)] }).compile();
      const app = await moduleRef.createNestApplication({ logger: false }).init();
      await app.close();
      expect(otel.spans()).toEqual([]);
    });
  });
});
