import { Injectable, Module, ModuleMetadata } from '@nestjs/common';
import { Cron, CronExpression, Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import {
  DataBuffer,
  DataBufferError,
  DataBufferFeatureAsyncOptions,
  DataBufferModule,
  DataBufferOptionsFactory,
  DataBufferRegistry,
  getBufferToken,
  InjectBuffer,
} from 'nestjs-data-buffer';
import { Item, RecordingSink, recordingHandler, useBufferTestApp } from './support/buffer-test.utils';

/** Handlers that record what they flush; nothing in this file fails a flush, so none has @OnFlushError. */
const handlerFor = (buffer: string) => recordingHandler(buffer, { deadLetter: false });

const EventsHandler = handlerFor('events');
const AuditHandler = handlerFor('audit');
const ViewsHandler = handlerFor('views');
const MetricsHandler = handlerFor('metrics');

/** A config provider as an app's ConfigModule would export it. */
@Injectable()
class AppConfig {
  readonly metricsMaxSize = 2;
  readonly metricsMeta = { source: 'config' };
}

@Module({ providers: [AppConfig], exports: [AppConfig] })
class ConfigModule {}

@Injectable()
class MetricsOptionsFactory implements DataBufferOptionsFactory {
  constructor(private readonly config: AppConfig) {}
  createBufferOptions() {
    return { maxSize: this.config.metricsMaxSize, meta: this.config.metricsMeta };
  }
}

@Module({ imports: [ConfigModule], providers: [MetricsOptionsFactory], exports: [MetricsOptionsFactory] })
class MetricsOptionsModule {}

@Injectable()
class EventsService {
  constructor(@InjectBuffer('events') readonly events: DataBuffer<Item>) {}
  track(item: Item, tenant?: string) {
    this.events.insert(item, tenant);
  }
}

/** An app job next to the buffers: it must run exactly once per tick. */
@Injectable()
class AppJobs {
  ticks = 0;
  crons = 0;
  constructor(readonly schedulerRegistry: SchedulerRegistry) {}

  @Interval('app-tick', 1_000)
  tick() {
    this.ticks++;
  }

  @Cron(CronExpression.EVERY_SECOND, { name: 'app-cron' })
  cron() {
    this.crons++;
  }
}

const laneTimers = (registry: SchedulerRegistry, buffer: string) => registry.getTimeouts().filter((name) => name.includes(buffer));

describe('DataBufferModule registration', () => {
  const testApp = useBufferTestApp();
  const { start } = testApp;

  const bufferOf = (name: string) => testApp.app.get<DataBuffer<Item>>(getBufferToken(name));

  /** Inserts n items and lets pending microtasks run: a size trigger flushes right away. */
  async function insertN(name: string, n: number, firstId = 1) {
    for (let i = 0; i < n; i++) bufferOf(name).insert({ id: firstId + i });
    await jest.advanceTimersByTimeAsync(0);
  }

  describe('forFeature', () => {
    it('registers one buffer with its options, injectable through getBufferToken', async () => {
      await start({ imports: [DataBufferModule.forFeature({ name: 'events', maxSize: 3, interval: 60_000 })], providers: [RecordingSink, EventsHandler] });

      const buffer = bufferOf('events');
      expect(buffer).toBeInstanceOf(DataBuffer);
      expect(buffer.name).toBe('events');

      await insertN('events', 2);
      expect(testApp.app.get(RecordingSink).flushes).toHaveLength(0);
      await insertN('events', 1, 3);
      expect(testApp.app.get(RecordingSink).ids('events')).toEqual([[1, 2, 3]]);
    });

    it('registers an array of buffers, each with its own options', async () => {
      await start({
        imports: [DataBufferModule.forFeature([{ name: 'audit' }, { name: 'views', maxSize: 2 }])],
        providers: [RecordingSink, AuditHandler, ViewsHandler],
      });

      await insertN('audit', 2);
      await insertN('views', 2);

      const sink = testApp.app.get(RecordingSink);
      expect(sink.ids('views')).toEqual([[1, 2]]);
      expect(sink.ids('audit')).toEqual([]);
      expect(bufferOf('audit').size()).toBe(2);
      expect(bufferOf('audit')).not.toBe(bufferOf('views'));
    });

    it('uses the documented defaults when no options are given (interval 5000)', async () => {
      await start({ imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [RecordingSink, EventsHandler] });

      await insertN('events', 1);
      await jest.advanceTimersByTimeAsync(4_999);
      expect(testApp.app.get(RecordingSink).flushes).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(testApp.app.get(RecordingSink).ids('events')).toEqual([[1]]);
    });

    it('works in a feature module without forRoot and without the app importing ScheduleModule', async () => {
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events', interval: 1_000 })], providers: [RecordingSink, EventsHandler] })
      class EventsModule {}
      await start({ imports: [EventsModule] });

      await insertN('events', 1);
      expect(laneTimers(testApp.app.get(SchedulerRegistry), 'events')).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1_000);

      expect(testApp.app.get(RecordingSink).ids('events')).toEqual([[1]]);
      expect(testApp.app.get(RecordingSink).flushes[0].ctx.reason).toBe('interval');
    });

    it('lets a static module that registers a buffer be imported by several modules (one registration)', async () => {
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events' })], exports: [DataBufferModule] })
      class EventsBufferModule {}
      @Module({ imports: [EventsBufferModule], providers: [EventsService], exports: [EventsService] })
      class TrackingModule {}
      @Module({ imports: [EventsBufferModule], providers: [RecordingSink, EventsHandler] })
      class PersistenceModule {}

      await start({ imports: [TrackingModule, PersistenceModule] });

      expect(testApp.app.get(DataBufferRegistry).getAll().map((b) => b.name)).toEqual(['events']);
      testApp.app.get(EventsService).track({ id: 1 });
      await bufferOf('events').flush();
      expect(testApp.app.get(RecordingSink).ids('events')).toEqual([[1]]);
    });
  });

  describe('forFeatureAsync', () => {
    /** An app with the `metrics` buffer registered through forFeatureAsync (options as given) and its handler. */
    const startMetrics = (options: Omit<DataBufferFeatureAsyncOptions, 'name'>) =>
      start({ imports: [DataBufferModule.forFeatureAsync({ name: 'metrics', ...options })], providers: [RecordingSink, MetricsHandler] });

    it('takes options from useFactory with a config provider injected from `imports`', async () => {
      await startMetrics({
        imports: [ConfigModule],
        inject: [AppConfig],
        useFactory: async (config: AppConfig) => ({ maxSize: config.metricsMaxSize, meta: config.metricsMeta, interval: 60_000 }),
      });

      expect(bufferOf('metrics').name).toBe('metrics');
      await insertN('metrics', 3);
      const sink = testApp.app.get(RecordingSink);
      expect(sink.ids('metrics')).toEqual([[1, 2]]);
      expect(sink.flushes[0].ctx.meta).toEqual({ source: 'config' });
    });

    it('takes options from useClass, which may inject providers from `imports`', async () => {
      await startMetrics({ imports: [ConfigModule], useClass: MetricsOptionsFactory });

      await insertN('metrics', 2);
      expect(testApp.app.get(RecordingSink).ids('metrics')).toEqual([[1, 2]]);
      expect(testApp.app.get(RecordingSink).flushes[0].ctx.meta).toEqual({ source: 'config' });
    });

    it('takes options from useExisting, a factory exported by an imported module', async () => {
      await startMetrics({ imports: [MetricsOptionsModule], useExisting: MetricsOptionsFactory });

      await insertN('metrics', 2);
      expect(testApp.app.get(RecordingSink).ids('metrics')).toEqual([[1, 2]]);
    });
  });

  describe('forRoot', () => {
    it('applies defaults to every buffer; a buffer\'s own option wins', async () => {
      await start({
        imports: [
          DataBufferModule.forRoot({ defaults: { maxSize: 2, meta: 'from-defaults', interval: 60_000 } }),
          DataBufferModule.forFeature([{ name: 'events' }, { name: 'audit', maxSize: 3, meta: 'own' }]),
        ],
        providers: [RecordingSink, EventsHandler, AuditHandler],
      });

      await insertN('events', 3);
      await insertN('audit', 3);

      const sink = testApp.app.get(RecordingSink);
      expect(sink.ids('events')).toEqual([[1, 2]]);
      expect(sink.ids('audit')).toEqual([[1, 2, 3]]);
      expect(sink.flushes.find((f) => f.ctx.buffer === 'events')!.ctx.meta).toBe('from-defaults');
      expect(sink.flushes.find((f) => f.ctx.buffer === 'audit')!.ctx.meta).toBe('own');
    });

    it('applies defaults to buffers of feature modules listed before it, and to forFeatureAsync buffers', async () => {
      @Module({
        imports: [
          DataBufferModule.forFeature({ name: 'events' }),
          DataBufferModule.forFeatureAsync({ name: 'metrics', useFactory: () => ({}) }),
        ],
        providers: [RecordingSink, EventsHandler, MetricsHandler],
      })
      class FeatureModule {}
      await start({ imports: [FeatureModule, DataBufferModule.forRoot({ defaults: { maxSize: 2 } })] });

      await insertN('events', 2);
      await insertN('metrics', 2);

      expect(testApp.app.get(RecordingSink).ids('events')).toEqual([[1, 2]]);
      expect(testApp.app.get(RecordingSink).ids('metrics')).toEqual([[1, 2]]);
    });

    it('forRootAsync takes defaults from a factory with injected config', async () => {
      await start({
        imports: [
          DataBufferModule.forRootAsync({
            imports: [ConfigModule],
            inject: [AppConfig],
            useFactory: (config: AppConfig) => ({ defaults: { maxSize: config.metricsMaxSize } }),
          }),
          DataBufferModule.forFeature({ name: 'events' }),
        ],
        providers: [RecordingSink, EventsHandler],
      });

      await insertN('events', 2);
      expect(testApp.app.get(RecordingSink).ids('events')).toEqual([[1, 2]]);
    });
  });

  describe('injection and registry', () => {
    it('@InjectBuffer injects the registered buffer into a service of another module', async () => {
      @Module({ imports: [DataBufferModule.forFeature({ name: 'events' })], providers: [EventsService], exports: [EventsService] })
      class TrackingModule {}
      await start({ imports: [TrackingModule], providers: [RecordingSink, EventsHandler] });

      const service = testApp.app.get(EventsService);
      expect(service.events).toBe(bufferOf('events'));

      service.track({ id: 1 }, 'tenant-a');
      service.track({ id: 2 });
      await bufferOf('events').flush();
      expect(testApp.app.get(RecordingSink).flushes.map((f) => [f.ctx.key, f.items.map((i) => i.id)])).toEqual([
        ['tenant-a', [1]],
        [undefined, [2]],
      ]);
    });

    it('DataBufferRegistry gets, lists and checks buffers by name', async () => {
      await start({
        imports: [DataBufferModule.forFeature({ name: 'events' }), DataBufferModule.forFeature([{ name: 'audit' }, { name: 'views' }])],
        providers: [RecordingSink, EventsHandler, AuditHandler, ViewsHandler],
      });
      const registry = testApp.app.get(DataBufferRegistry);

      expect(registry.get('events')).toBe(bufferOf('events'));
      expect(registry.get('views')).toBe(bufferOf('views'));
      expect(registry.getAll().map((b) => b.name).sort()).toEqual(['audit', 'events', 'views']);
      expect(registry.has('audit')).toBe(true);
      expect(registry.has('nope')).toBe(false);
      expect(() => registry.get('nope')).toThrow(DataBufferError);
      expect(() => registry.get('nope')).toThrow(/"nope"/);
    });
  });

  describe.each([
    ['ScheduleModule.forRoot() before the buffers', (feature: ModuleMetadata['imports']) => [ScheduleModule.forRoot(), ...feature!]],
    ['ScheduleModule.forRoot() after the buffers', (feature: ModuleMetadata['imports']) => [...feature!, ScheduleModule.forRoot()]],
  ])('an app that imports %s itself', (_order, importsWith) => {
    const feature = [DataBufferModule.forFeature({ name: 'events', interval: 1_000 })];

    it('runs the app\'s @Interval and @Cron jobs once per tick, and buffers still flush', async () => {
      await start({ imports: importsWith(feature), providers: [RecordingSink, EventsHandler, AppJobs] });

      await insertN('events', 1);
      await jest.advanceTimersByTimeAsync(3_000);

      const jobs = testApp.app.get(AppJobs);
      expect(jobs.ticks).toBe(3);
      expect(jobs.crons).toBeGreaterThanOrEqual(2);
      expect(jobs.crons).toBeLessThanOrEqual(3);
      expect(testApp.app.get(RecordingSink).ids('events')).toEqual([[1]]);
      expect(testApp.logs.errors()).toEqual([]);
    });

    it('keeps the lane timers in the SchedulerRegistry the app\'s own providers inject', async () => {
      await start({ imports: importsWith(feature), providers: [RecordingSink, EventsHandler, AppJobs] });

      await insertN('events', 1);

      expect(laneTimers(testApp.app.get(AppJobs).schedulerRegistry, 'events')).toHaveLength(1);
    });

    it('app.get(SchedulerRegistry) still finds the app\'s own jobs', async () => {
      await start({ imports: importsWith(feature), providers: [RecordingSink, EventsHandler, AppJobs] });

      const registry = testApp.app.get(SchedulerRegistry);
      expect(registry.getIntervals()).toContain('app-tick');
      expect(() => registry.getCronJob('app-cron')).not.toThrow();
    });
  });
});
