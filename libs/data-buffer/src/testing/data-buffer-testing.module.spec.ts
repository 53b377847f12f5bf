import { Injectable, Module } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { DataBuffer, FlushFailedError, InjectBuffer } from '../index';
import type { DataBufferHandler, FlushContext } from '../index';
import { BufferRecorder, createFlushContext, DataBufferTestingModule, getBufferRecorderToken } from './index';

interface EventRecord {
  type: string;
  tenantId: string;
}

/** The kind of service a user tests: it writes to buffers and knows nothing of the sink. */
@Injectable()
class EventsService {
  constructor(
    @InjectBuffer('events') private readonly events: DataBuffer<EventRecord>,
    @InjectBuffer('audit') private readonly audit: DataBuffer<string>,
  ) {}

  track(e: EventRecord) {
    this.events.insert(e, e.tenantId);
    this.audit.insert(`tracked ${e.type}`);
  }

  async trackConfirmed(e: EventRecord): Promise<'stored' | 'failed'> {
    try {
      await this.events.commit(e);
      return 'stored';
    } catch (error) {
      return error instanceof FlushFailedError ? 'failed' : Promise.reject(error);
    }
  }
}

describe('DataBufferTestingModule', () => {
  let moduleRef: TestingModule;
  let events: BufferRecorder<EventRecord, { table: string }>;
  let audit: BufferRecorder<string>;

  const start = async () => {
    moduleRef = await Test.createTestingModule({
      imports: [
        DataBufferTestingModule.forFeature([
          { name: 'events', interval: 1_000, retries: 0, meta: { table: 'events' } },
          { name: 'audit', interval: 60_000 },
        ]),
      ],
      providers: [EventsService],
    }).compile();
    await moduleRef.init();
    events = moduleRef.get(getBufferRecorderToken('events'));
    audit = moduleRef.get(getBufferRecorderToken('audit'));
    return moduleRef.get(EventsService);
  };

  afterEach(async () => {
    await moduleRef?.close();
    jest.useRealTimers();
  });

  it('records the batches and contexts of what a service wrote, flushed on demand', async () => {
    const service = await start();

    service.track({ type: 'signup', tenantId: 'a' });
    service.track({ type: 'login', tenantId: 'a' });
    service.track({ type: 'login', tenantId: 'b' });
    expect(events.flushes).toEqual([]);
    await events.flush();
    await audit.flush();

    expect(events.batches).toEqual([
      [{ type: 'signup', tenantId: 'a' }, { type: 'login', tenantId: 'a' }],
      [{ type: 'login', tenantId: 'b' }],
    ]);
    expect(events.contexts.map((c) => [c.key, c.reason, c.meta.table])).toEqual([
      ['a', 'manual', 'events'],
      ['b', 'manual', 'events'],
    ]);
    expect(audit.items).toEqual(['tracked signup', 'tracked login', 'tracked login']);
  });

  it('flushes by the interval under jest fake timers', async () => {
    jest.useFakeTimers();
    const service = await start();

    service.track({ type: 'signup', tenantId: 'a' });
    const next = events.nextFlush();
    await jest.advanceTimersByTimeAsync(999);
    expect(events.flushes).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);

    expect((await next).ctx.reason).toBe('interval');
    expect(events.items).toEqual([{ type: 'signup', tenantId: 'a' }]);
  });

  it('resolves commit() once the recorder took the batch, and fails it as the sink would', async () => {
    const service = await start();

    const stored = service.trackConfirmed({ type: 'checkout', tenantId: 'a' });
    await events.flush();
    expect(await stored).toBe('stored');

    events.failWith(new Error('database is down'));
    const failed = service.trackConfirmed({ type: 'refund', tenantId: 'a' });
    await events.flush();
    expect(await failed).toBe('failed');
    expect(events.failures).toEqual([
      expect.objectContaining({ error: new Error('database is down'), items: [{ type: 'refund', tenantId: 'a' }] }),
    ]);

    events.handleWith().clear();
    const again = service.trackConfirmed({ type: 'refund', tenantId: 'a' });
    await events.flush();
    expect(await again).toBe('stored');
    expect(events.batches).toEqual([[{ type: 'refund', tenantId: 'a' }]]);
  });

  it('exports the buffers to the importing module', async () => {
    @Module({ imports: [DataBufferTestingModule.forFeature({ name: 'events' }), DataBufferTestingModule.forFeature({ name: 'audit' })], providers: [EventsService] })
    class FeatureUnderTest {}
    moduleRef = await Test.createTestingModule({ imports: [FeatureUnderTest] }).compile();
    await moduleRef.init();

    moduleRef.get(EventsService).track({ type: 'signup', tenantId: 'a' });
    const recorder = moduleRef.get<BufferRecorder<EventRecord>>(getBufferRecorderToken('events'));
    await recorder.flush();
    expect(recorder.items).toEqual([{ type: 'signup', tenantId: 'a' }]);
  });
});

describe('createFlushContext, for calling a handler directly', () => {
  class EventsRepository {
    insertMany = jest.fn(async (_rows: EventRecord[], _options: { signal: AbortSignal; batchId: string }) => undefined);
  }

  class EventsFlushHandler implements DataBufferHandler<EventRecord> {
    constructor(private readonly repo: EventsRepository) {}

    async onFlush(items: EventRecord[], ctx: FlushContext) {
      await this.repo.insertMany(items, { signal: ctx.signal, batchId: ctx.batchId });
    }
  }

  it('gives a complete context whose fields the test may set', async () => {
    const repo = new EventsRepository();
    const ctx = createFlushContext({ buffer: 'events', batchId: 'b-7', attempt: 2 });

    await new EventsFlushHandler(repo).onFlush([{ type: 'signup', tenantId: 'a' }], ctx);

    expect(repo.insertMany).toHaveBeenCalledWith([{ type: 'signup', tenantId: 'a' }], { signal: ctx.signal, batchId: 'b-7' });
    expect(ctx).toEqual(expect.objectContaining({ buffer: 'events', partition: 0, attempt: 2, reason: 'manual', meta: undefined }));
    expect(ctx.signal.aborted).toBe(false);
  });
});
