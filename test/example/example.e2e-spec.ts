/**
 * @jest-environment ./test/example/pglite-environment.js
 */
import { readFile } from 'node:fs/promises';
import request from 'supertest';
import { DataBufferRegistry, getBufferToken, type DataBuffer } from 'nestjs-data-buffer';
import type { DeadLetterEntry } from '../../apps/example/src/dead-letter/dead-letter.service';
import { DeadLetterService } from '../../apps/example/src/dead-letter/dead-letter.service';
import type { EventRecord } from '../../apps/example/src/events/event-record.interface';
import { EVENTS_BUFFER } from '../../apps/example/src/events/events.constants';
import type { PageView } from '../../apps/example/src/page-views/page-view.interface';
import { PAGE_VIEWS_BUFFER } from '../../apps/example/src/page-views/page-views.constants';
import { PageViewsRepository } from '../../apps/example/src/page-views/page-views.repository';
import { SuiteDatabase, databaseTargets, startApp, type RunningApp } from './example-test.utils';
import { inParallel, waitFor } from './test.utils';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe.each(databaseTargets())('example app on $name (e2e)', (target) => {
  let suite: SuiteDatabase;
  let running: RunningApp | undefined;

  beforeAll(async () => {
    suite = await SuiteDatabase.open(target);
  });

  afterAll(async () => {
    await suite?.close();
  });

  beforeEach(async () => {
    await suite.truncate();
  });

  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  const start = async (overrides: Parameters<typeof startApp>[2] = {}): Promise<RunningApp> => {
    running = await startApp(target, suite.db, overrides);
    return running;
  };
  const eventsBuffer = (app: RunningApp) => app.app.get<DataBuffer<EventRecord>>(getBufferToken(EVENTS_BUFFER));
  const pageViewsBuffer = (app: RunningApp) => app.app.get<DataBuffer<PageView>>(getBufferToken(PAGE_VIEWS_BUFFER));
  const rowCount = async (where = 'TRUE', params: unknown[] = []): Promise<number> =>
    (await suite.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE ${where}`, params)).rows[0].n;
  const event = (i: number) => ({ type: 'page.opened', userId: `user-${i}`, payload: { i } });

  describe('POST /events', () => {
    it('stores 1000 events posted one by one with far fewer INSERT statements than events', async () => {
      const app = await start();
      const before = suite.db.counters().inserts;
      const statuses: number[] = [];
      const ids = Array.from({ length: 1000 }, (_, i) => i);

      // fetch keeps connections alive, which makes the 1000 requests quick.
      await inParallel(ids, 20, async (i) => {
        const res = await fetch(`${app.url}/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(event(i)),
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      });
      await eventsBuffer(app).flush();

      expect(statuses.filter((s) => s === 202)).toHaveLength(1000);
      expect(await rowCount()).toBe(1000);
      expect(await rowCount(`user_id = 'user-999' AND payload = '{"i": 999}'::jsonb`)).toBe(1);
      const inserts = suite.db.counters().inserts - before;
      // maxSize 100 on 2 lanes: about 10 batches, never one INSERT per event.
      expect(inserts).toBeGreaterThan(0);
      expect(inserts).toBeLessThanOrEqual(12);
    });

    it('answers 202 before the event is stored, and 201 with ?confirm=true only once it is in the database', async () => {
      const app = await start();
      const buffer = eventsBuffer(app);

      const accepted = await request(app.url).post('/events').send({ type: 'signup', userId: 'fire-and-forget' });
      expect(accepted.status).toBe(202);
      expect(accepted.body).toEqual({ status: 'accepted', id: expect.stringMatching(UUID) });
      expect(await rowCount(`user_id = 'fire-and-forget'`)).toBe(0);
      expect(buffer.size()).toBe(1);

      let answered = false;
      const confirmed = request(app.url)
        .post('/events?confirm=true')
        .send({ type: 'signup', userId: 'confirmed', occurredAt: '2024-05-01T12:00:00.000Z' })
        .then((res) => {
          answered = true;
          return res;
        });
      await waitFor(() => buffer.size() === 2, 'the confirmed event to be buffered');
      expect(answered).toBe(false);
      expect(await rowCount(`user_id = 'confirmed'`)).toBe(0);

      await buffer.flush();
      const res = await confirmed;
      expect(res.status).toBe(201);
      expect(res.body).toEqual({ status: 'stored', id: expect.stringMatching(UUID) });
      expect(await rowCount(`user_id = 'confirmed' AND occurred_at = '2024-05-01T12:00:00Z'`)).toBe(1);
      expect(await rowCount()).toBe(2);
    });

    it('with EVENTS_COMMIT_DELAY (group commit), answers ?confirm=true once stored without waiting for the interval', async () => {
      const app = await start({ events: { interval: 60_000, maxSize: 100, capacity: 10_000, partitions: 1, commitDelay: 0 } });
      await request(app.url).post('/events').send({ type: 'signup', userId: 'rides-along' }).expect(202);
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => request(app.url).post('/events?confirm=true').send({ type: 'signup', userId: `confirmed-${i}` })),
      );
      expect(answers.map((res) => res.status)).toEqual(Array(20).fill(201));
      expect(await rowCount(`user_id LIKE 'confirmed-%'`)).toBe(20);
      // the plain insert was in the batch the first commit made due
      expect(await rowCount(`user_id = 'rides-along'`)).toBe(1);
    });

    it.each([
      ['type is missing', { userId: 'u' }, 'type'],
      ['type is empty', { type: '', userId: 'u' }, 'type'],
      ['type is longer than 64 characters', { type: 'x'.repeat(65), userId: 'u' }, 'type'],
      ['userId is not a string', { type: 't', userId: 42 }, 'userId'],
      ['payload is not an object', { type: 't', userId: 'u', payload: 'text' }, 'payload'],
      ['occurredAt is not an ISO date', { type: 't', userId: 'u', occurredAt: 'yesterday' }, 'occurredAt'],
      ['an unknown field is sent', { type: 't', userId: 'u', tenant: 'acme' }, 'tenant'],
    ])('answers 400 naming the field and buffers nothing when %s', async (_, body, field) => {
      const app = await start();

      const res = await request(app.url).post('/events').send(body);

      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain(field);
      expect(eventsBuffer(app).stats().inserted).toBe(0);
    });

    it('accepts a 64-character type, the longest allowed', async () => {
      const app = await start();
      const res = await request(app.url).post('/events').send({ type: 'x'.repeat(64), userId: 'u' });
      expect(res.status).toBe(202);
    });
  });

  describe('POST /events/batch', () => {
    it('stores 1000 events of one request in a few INSERT statements', async () => {
      const app = await start();
      const before = suite.db.counters().inserts;

      const res = await request(app.url)
        .post('/events/batch')
        .send({ events: Array.from({ length: 1000 }, (_, i) => event(i)) });
      await eventsBuffer(app).flush();

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ status: 'accepted', count: 1000 });
      expect(new Set(res.body.ids).size).toBe(1000);
      expect(await rowCount()).toBe(1000);
      expect(suite.db.counters().inserts - before).toBeLessThanOrEqual(12);
    });

    it('answers 400 for more than 1000 events, or an invalid one naming its index and field', async () => {
      const app = await start();

      const tooMany = await request(app.url)
        .post('/events/batch')
        .send({ events: Array.from({ length: 1001 }, (_, i) => event(i)) });
      const invalid = await request(app.url)
        .post('/events/batch')
        .send({ events: [event(0), { type: 'x'.repeat(65), userId: 'u' }] });

      expect(tooMany.status).toBe(400);
      expect(JSON.stringify(tooMany.body.message)).toContain('events must contain no more than 1000 elements');
      expect(invalid.status).toBe(400);
      expect(JSON.stringify(invalid.body.message)).toContain('events.1.type');
      expect(eventsBuffer(app).stats().inserted).toBe(0);
    });
  });

  describe('a full buffer', () => {
    it('answers 503 with Retry-After, takes a batch whole or not at all, and recovers after a flush', async () => {
      const app = await start({ events: { interval: 60_000, maxSize: 100, capacity: 5, partitions: 1 } });
      const buffer = eventsBuffer(app);
      for (let i = 0; i < 4; i++) {
        expect((await request(app.url).post('/events').send(event(i))).status).toBe(202);
      }

      const batch = await request(app.url).post('/events/batch').send({ events: [event(4), event(5)] });
      expect(batch.status).toBe(503);
      expect(batch.headers['retry-after']).toBe('1');
      expect(buffer.size()).toBe(4);

      // The 5th event fills the buffer while nothing is in flight, so it flushes at once.
      expect((await request(app.url).post('/events').send(event(4))).status).toBe(202);
      await buffer.flush();
      expect(await rowCount()).toBe(5);
      const tooBig = await request(app.url)
        .post('/events/batch')
        .send({ events: Array.from({ length: 6 }, (_, i) => event(10 + i)) });
      expect(tooBig.status).toBe(503);
      expect(tooBig.body.message).toContain('full');
      expect(buffer.size()).toBe(0);

      expect((await request(app.url).get('/stats')).status).toBe(200);
      expect((await request(app.url).post('/events').send(event(6))).status).toBe(202);
      await buffer.flush();
      expect(await rowCount()).toBe(6);
    });
  });

  describe('a closed buffer', () => {
    it('answers 503 once shutdown has begun, after storing what was buffered before', async () => {
      const app = await start();
      await request(app.url).post('/events').send(event(1)).expect(202);

      // What the shutdown hook runs; the HTTP server is still up, as for a request that raced shutdown.
      await app.app.get(DataBufferRegistry).closeAll();
      const res = await request(app.url).post('/events').send(event(2));
      const batch = await request(app.url).post('/events/batch').send({ events: [event(3)] });

      expect(res.status).toBe(503);
      expect(res.body.message).toBe('the service is shutting down');
      expect(batch.status).toBe(503);
      expect(await rowCount()).toBe(1);
    });
  });

  describe('page views (coalescing buffer)', () => {
    it('holds one count per path and adds every path of a batch with one upsert', async () => {
      const app = await start();
      const buffer = pageViewsBuffer(app);
      const before = suite.db.counters().inserts;
      const paths = [...Array(30).fill('/pricing'), ...Array(12).fill('/docs'), '/'];

      await inParallel(paths, 10, async (path) => {
        expect((await request(app.url).post('/page-views').send({ path })).status).toBe(202);
      });
      expect(buffer.stats()).toMatchObject({ inserted: 43, merged: 40, pending: 3, keys: 3 });
      const report = await buffer.flush();

      // 3 paths on 2 lanes: one batch (and one upsert) per lane that holds a path.
      expect(report).toMatchObject({ items: 3, failed: 0 });
      expect(suite.db.counters().inserts - before).toBe(report.batches);
      await request(app.url).post('/page-views').send({ path: '/docs' }).expect(202);
      await buffer.flush();
      const top = await request(app.url).get('/page-views').expect(200);
      expect(top.body).toEqual([
        { path: '/pricing', views: 30 },
        { path: '/docs', views: 13 },
        { path: '/', views: 1 },
      ]);
    });

    it('makes 2,000 views of 200 paths into one upsert', async () => {
      const app = await start({ pageViews: { interval: 60_000, maxSize: 5000, capacity: 10_000, partitions: 1 } });
      const buffer = pageViewsBuffer(app);
      const before = suite.db.counters().inserts;
      const views = Array.from({ length: 2000 }, (_, i) => `/page/${i % 200}`);

      await inParallel(views, 20, async (path) => {
        const res = await fetch(`${app.url}/page-views`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path }),
        });
        await res.arrayBuffer();
        expect(res.status).toBe(202);
      });
      expect(buffer.stats()).toMatchObject({ inserted: 2000, merged: 1800, pending: 200, keys: 200 });
      await buffer.flush();

      expect(suite.db.counters().inserts - before).toBe(1);
      const stored = await suite.db.query<{ paths: number; views: number; least: number }>(
        'SELECT count(*)::int AS paths, sum(views)::int AS views, min(views)::int AS least FROM page_views',
      );
      expect(stored.rows[0]).toEqual({ paths: 200, views: 2000, least: 10 });
    });

    it('splits a batch of more than 10,000 paths into upserts of 10,000, each applied once under its part of the batch id', async () => {
      const repository = new PageViewsRepository(suite.db);
      const counts = new Map(Array.from({ length: 10_001 }, (_, i) => [`/p/${i}`, 2] as const));
      const before = suite.db.counters().inserts;

      expect(await repository.addViews(counts, 'batch-1')).toBe(10_001);
      expect(suite.db.counters().inserts - before).toBe(2);
      // the same batch again (a retry whose first attempt did commit): nothing added
      expect(await repository.addViews(counts, 'batch-1')).toBe(0);
      const stored = await suite.db.query<{ paths: number; views: number }>(
        'SELECT count(*)::int AS paths, sum(views)::int AS views FROM page_views',
      );
      expect(stored.rows[0]).toEqual({ paths: 10_001, views: 20_002 });
    });

    it('answers 400 for a path that does not start with a slash', async () => {
      const app = await start();
      const res = await request(app.url).post('/page-views').send({ path: 'pricing' });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('path');
    });
  });

  describe('GET /health', () => {
    it("shows every buffer's size and the database", async () => {
      const app = await start();
      for (let i = 0; i < 3; i++) await request(app.url).post('/events').send(event(i)).expect(202);

      const res = await request(app.url).get('/health');

      expect(res.status).toBe(200);
      expect(res.body.status).toBe('ok');
      expect(res.body.details.database).toEqual({ status: 'up', kind: suite.db.kind });
      expect(res.body.details.buffers.status).toBe('up');
      expect(res.body.details.buffers.buffers).toEqual({
        events: { pending: 3, inFlight: 0, capacity: 10_000, failed: 0, dropped: 0, lastFlushAt: null },
        'page-views': { pending: 0, inFlight: 0, capacity: 10_000, failed: 0, dropped: 0, lastFlushAt: null },
      });
    });

    it('goes down, naming the buffer, when a buffer is filled past its ratio, and up again once flushed', async () => {
      const app = await start({ events: { interval: 60_000, maxSize: 100, capacity: 10, partitions: 1 } });
      for (let i = 0; i < 8; i++) await request(app.url).post('/events').send(event(i)).expect(202);
      expect((await request(app.url).get('/health')).status).toBe(200);

      await request(app.url).post('/events').send(event(8)).expect(202);
      const down = await request(app.url).get('/health');

      expect(down.status).toBe(503);
      expect(down.body.status).toBe('error');
      expect(down.body.error.buffers.status).toBe('down');
      expect(down.body.error.buffers.message).toContain('events');
      expect(down.body.error.buffers.buffers.events.pending).toBe(9);
      expect(down.body.error).not.toHaveProperty('database');

      await eventsBuffer(app).flush();
      expect((await request(app.url).get('/health')).status).toBe(200);
    });
  });

  describe('when the database refuses the batch', () => {
    it('writes the batch to the dead-letter file with the error, reports down, and 503s confirmed writes', async () => {
      const app = await start();
      const buffer = eventsBuffer(app);
      await suite.db.exec('ALTER TABLE events RENAME TO events_offline');
      try {
        for (let i = 0; i < 3; i++) await request(app.url).post('/events').send(event(i)).expect(202);
        // `.then` sends the request now; supertest waits for it otherwise.
        const confirmed = request(app.url).post('/events?confirm=true').send(event(3)).then((res) => res);
        await waitFor(() => buffer.size() === 4, 'the confirmed event to be buffered');

        const report = await buffer.flush();
        const res = await confirmed;

        expect(report.failed).toBe(4);
        expect(res.status).toBe(503);
        const file = app.app.get(DeadLetterService).fileOf(EVENTS_BUFFER);
        const lines = (await readFile(file, 'utf8')).trim().split('\n');
        const entries = lines.map((line) => JSON.parse(line) as DeadLetterEntry<EventRecord>);
        expect(entries.map((e) => e.item.userId).sort()).toEqual(['user-0', 'user-1', 'user-2', 'user-3']);
        expect(entries[0]).toMatchObject({ buffer: 'events', error: { message: expect.stringContaining('events') } });
        expect(entries[0].item).toMatchObject({ type: 'page.opened', payload: { i: expect.any(Number) } });
        // Each line carries the event's id, so a replay stores it once whatever happened before.
        expect(entries.every((e) => /^[0-9a-f-]{36}$/.test(e.item.id))).toBe(true);
        expect(new Set(entries.map((e) => e.item.id)).size).toBe(4);

        const health = await request(app.url).get('/health');
        expect(health.status).toBe(503);
        expect(health.body.error.buffers.message).toContain('events');
        expect(health.body.error.buffers.buffers.events.failed).toBe(4);
      } finally {
        await suite.db.exec('ALTER TABLE events_offline RENAME TO events');
      }

      await request(app.url).post('/events').send(event(4)).expect(202);
      await buffer.flush();
      expect((await request(app.url).get('/health')).status).toBe(200);
      expect(await rowCount()).toBe(1);
    });
  });

  describe('when the database refuses one event of a batch', () => {
    it('stores the 999 others and writes only that one to the dead-letter file, with its own error and part id', async () => {
      const app = await start({ events: { interval: 60_000, maxSize: 2000, capacity: 10_000, partitions: 1 } });
      const buffer = eventsBuffer(app);
      // What validation cannot know: a rule of the database refuses this one event.
      await suite.db.exec(`ALTER TABLE events ADD CONSTRAINT events_no_banned_user CHECK (user_id <> 'banned-user')`);
      try {
        const events = Array.from({ length: 1000 }, (_, i) => (i === 613 ? { type: 'signup', userId: 'banned-user' } : event(i)));
        const res = await request(app.url).post('/events/batch').send({ events }).expect(202);
        const poisonId = res.body.ids[613] as string;
        expect(buffer.stats().pending).toBe(1000);

        const report = await buffer.flush();

        expect(report).toMatchObject({ batches: 1, items: 1000, failed: 1 });
        expect(await rowCount()).toBe(999);
        expect(await rowCount(`user_id = 'banned-user'`)).toBe(0);
        const file = app.app.get(DeadLetterService).fileOf(EVENTS_BUFFER);
        const entries = (await readFile(file, 'utf8'))
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as DeadLetterEntry<EventRecord>);
        expect(entries).toHaveLength(1);
        expect(entries[0].item).toMatchObject({ id: poisonId, userId: 'banned-user' });
        expect(entries[0].error.message).toContain('events_no_banned_user');
        // The part's id: the batch's id and the path of halves that led to the item (10 halvings of 1000).
        expect(entries[0].batchId).toMatch(/^[^.]+(\.[12]){10}$/);
        expect(buffer.stats()).toMatchObject({ flushed: 999, failed: 1, pending: 0, inFlight: 0 });
      } finally {
        await suite.db.exec('ALTER TABLE events DROP CONSTRAINT events_no_banned_user');
      }
    });
  });

  describe('GET /stats', () => {
    it("returns every buffer's stats and the database's statement counters", async () => {
      const app = await start();
      await request(app.url).post('/events').send(event(1)).expect(202);
      await request(app.url).post('/page-views').send({ path: '/a' }).expect(202);

      const res = await request(app.url).get('/stats').expect(200);

      expect(res.body.mode).toBe('buffered');
      expect(Object.keys(res.body.buffers).sort()).toEqual(['events', 'page-views']);
      expect(res.body.buffers.events).toMatchObject({ name: 'events', pending: 1, inserted: 1, capacity: 10_000 });
      expect(res.body.buffers['page-views']).toMatchObject({ name: 'page-views', pending: 1, keys: 1 });
      expect(res.body.database).toMatchObject({ kind: suite.db.kind, inserts: expect.any(Number) });
    });
  });

  describe('direct-insert mode', () => {
    it('stores each event at once with its own INSERT and answers 201', async () => {
      const app = await start({ directInsert: true });
      const before = suite.db.counters().inserts;

      for (let i = 0; i < 5; i++) {
        const res = await request(app.url).post('/events').send(event(i));
        expect(res.status).toBe(201);
      }

      expect(await rowCount()).toBe(5);
      expect(suite.db.counters().inserts - before).toBe(5);
      expect(eventsBuffer(app).stats().inserted).toBe(0);
      expect((await request(app.url).get('/stats')).body.mode).toBe('direct');
    });
  });

  describe('shutdown', () => {
    it('stores every buffered event and page view when the app closes', async () => {
      const app = await start();
      await request(app.url).post('/events/batch').send({ events: [event(1), event(2)] }).expect(202);
      await request(app.url).post('/page-views').send({ path: '/bye' }).expect(202);

      await app.close();
      running = undefined;

      expect(await rowCount()).toBe(2);
      const views = await suite.db.query<{ views: number }>(`SELECT views::int AS views FROM page_views WHERE path = '/bye'`);
      expect(views.rows).toEqual([{ views: 1 }]);
    });
  });
});
