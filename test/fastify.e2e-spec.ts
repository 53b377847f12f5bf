import { Body, Controller, Get, HttpCode, Injectable, Module, Post, Query } from '@nestjs/common';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { BufferHandler, DataBuffer, DataBufferModule, getBufferToken, InjectBuffer, OnFlush } from 'nestjs-data-buffer';
import { DataBufferHealthIndicator } from 'nestjs-data-buffer/terminus';

interface PageView {
  path: string;
}

@Injectable()
class ViewsStore {
  readonly batches: PageView[][] = [];
}

@BufferHandler('views')
class ViewsHandler {
  constructor(private readonly store: ViewsStore) {}

  @OnFlush()
  save(items: PageView[]) {
    this.store.batches.push([...items]);
  }
}

@Controller()
class ViewsController {
  constructor(
    @InjectBuffer('views') private readonly views: DataBuffer<PageView>,
    private readonly health: HealthCheckService,
    private readonly buffers: DataBufferHealthIndicator,
  ) {}

  @Post('views')
  @HttpCode(202)
  async track(@Body() view: PageView, @Query('confirm') confirm?: string) {
    if (confirm === 'true') await this.views.commit(view);
    else this.views.insert(view);
    return { status: confirm === 'true' ? 'stored' : 'accepted' };
  }

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.buffers.checkBuffers('buffers', { maxFillRatio: 0.9 })]);
  }
}

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), DataBufferModule.forFeature({ name: 'views', interval: 60_000, capacity: 10 })],
  controllers: [ViewsController],
  providers: [ViewsStore, ViewsHandler, DataBufferHealthIndicator],
})
class FastifyAppModule {}

/** The library on Fastify (@nestjs/platform-fastify) instead of Express: a real server on a loopback port. */
describe('a Fastify app with a buffer', () => {
  let app: NestFastifyApplication;
  let base: string;

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [FastifyAppModule] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
  });

  afterEach(async () => {
    await app?.close();
  });

  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('buffers requests, reports the buffer in the health check, and flushes everything at app.close()', async () => {
    for (const path of ['/a', '/b', '/c']) expect((await post('/views', { path })).status).toBe(202);

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', info: { buffers: { buffers: { views: { pending: 3, capacity: 10 } } } } });
    const store = app.get(ViewsStore);
    expect(store.batches).toEqual([]);

    await app.close();

    expect(store.batches).toEqual([[{ path: '/a' }, { path: '/b' }, { path: '/c' }]]);
  });

  it('is down when the buffer is nearly full, and answers a committed request once its batch is flushed', async () => {
    const views = app.get<DataBuffer<PageView>>(getBufferToken('views'));
    for (let i = 0; i < 9; i++) views.insert({ path: `/p${i}` });

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'error', error: { buffers: { status: 'down', message: expect.stringContaining('views') } } });

    const committed = post('/views?confirm=true', { path: '/checkout' });
    // The 10th item fills the buffer, which then flushes at once (nothing else is in flight).
    await waitFor(() => views.stats().inserted === 10);
    await views.flush();
    const response = await committed;

    expect([response.status, await response.json()]).toEqual([202, { status: 'stored' }]);
    expect(app.get(ViewsStore).batches).toEqual([[...Array.from({ length: 9 }, (_, i) => ({ path: `/p${i}` })), { path: '/checkout' }]]);
  });
});

/** Waits, within a deadline, for what a request sent over the socket did on the server. */
async function waitFor(condition: () => boolean, deadlineMs = 5_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the request did not reach the buffer in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
