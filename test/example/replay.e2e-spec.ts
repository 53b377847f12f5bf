/**
 * @jest-environment ./test/example/pglite-environment.js
 */
import { appendFile, copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import request from 'supertest';
import { getBufferToken, type DataBuffer } from 'nestjs-data-buffer';
import { DeadLetterReplayer } from '../../apps/example/src/dead-letter/dead-letter-replayer';
import type { DeadLetterEntry } from '../../apps/example/src/dead-letter/dead-letter.service';
import type { EventRecord } from '../../apps/example/src/events/event-record.interface';
import { EVENTS_BUFFER } from '../../apps/example/src/events/events.constants';
import { EventsRepository } from '../../apps/example/src/events/events.repository';
import type { PageView } from '../../apps/example/src/page-views/page-view.interface';
import { PAGE_VIEWS_BUFFER } from '../../apps/example/src/page-views/page-views.constants';
import { PageViewsRepository } from '../../apps/example/src/page-views/page-views.repository';
import { SuiteDatabase, databaseTargets, startApp, type RunningApp } from './example-test.utils';

describe.each(databaseTargets())('replaying the dead-letter files on $name', (target) => {
  let suite: SuiteDatabase;
  let running: RunningApp;

  beforeAll(async () => {
    suite = await SuiteDatabase.open(target);
  });
  afterAll(async () => {
    await suite?.close();
  });
  beforeEach(async () => {
    await suite.truncate();
    running = await startApp(target, suite.db);
  });
  afterEach(async () => {
    await running?.close();
  });

  const deadLetterDir = () => join(running.config.dataDir, 'dead-letter');
  const replayer = () =>
    new DeadLetterReplayer(deadLetterDir(), running.app.get(EventsRepository), running.app.get(PageViewsRepository));
  const eventIds = async (): Promise<string[]> =>
    (await suite.db.query<{ id: string }>('SELECT event_id::text AS id FROM events ORDER BY event_id')).rows.map((r) => r.id);
  const views = async () =>
    (await suite.db.query<{ path: string; views: number }>('SELECT path, views::int AS views FROM page_views ORDER BY path')).rows;

  /** Posts events and views while their tables are gone, so every batch ends in the dead-letter files. */
  async function failEverything(): Promise<string[]> {
    const events = running.app.get<DataBuffer<EventRecord>>(getBufferToken(EVENTS_BUFFER));
    const pageViews = running.app.get<DataBuffer<PageView>>(getBufferToken(PAGE_VIEWS_BUFFER));
    await suite.db.exec('ALTER TABLE events RENAME TO events_away; ALTER TABLE page_views RENAME TO page_views_away');
    try {
      const res = await request(running.url)
        .post('/events/batch')
        .send({ events: Array.from({ length: 5 }, (_, i) => ({ type: 't', userId: `u-${i}` })) })
        .expect(202);
      for (const path of ['/a', '/a', '/b']) await request(running.url).post('/page-views').send({ path }).expect(202);
      expect((await events.flush()).failed).toBe(5);
      // coalesced: '/a' twice is one value of 2 views
      expect((await pageViews.flush()).failed).toBe(2);
      return res.body.ids as string[];
    } finally {
      await suite.db.exec('ALTER TABLE events_away RENAME TO events; ALTER TABLE page_views_away RENAME TO page_views');
    }
  }

  it('stores what is missing, skips what is stored, moves the files aside, and adds nothing when run again', async () => {
    const ids = await failEverything();
    // A batch that committed but whose answer was lost is in the table and in the file: two such events.
    const lines = (await readFile(join(deadLetterDir(), 'events.ndjson'), 'utf8')).trim().split('\n');
    const committed = lines.slice(0, 2).map((line) => (JSON.parse(line) as DeadLetterEntry<EventRecord>).item);
    await running.app.get(EventsRepository).insertMany(committed, 'the-lost-answer');

    const first = await replayer().replay();

    expect(first.buffers).toEqual({
      events: { lines: 5, stored: 3, alreadyStored: 2, failed: 0 },
      'page-views': { lines: 2, stored: 3, alreadyStored: 0, failed: 0 },
    });
    expect(await eventIds()).toEqual([...ids].sort());
    expect(await views()).toEqual([{ path: '/a', views: 2 }, { path: '/b', views: 1 }]);
    expect((await readdir(deadLetterDir())).sort()).toEqual(['replayed', 'replaying']);
    expect(await readdir(join(deadLetterDir(), 'replaying'))).toEqual([]);
    expect(first.files).toHaveLength(2);

    const second = await replayer().replay();
    expect(second).toEqual({ buffers: {}, files: [] });

    // The same files again (say, restored from a backup): everything is already stored.
    for (const file of first.files) await copyFile(file, join(deadLetterDir(), `${file.includes('page-views') ? 'page-views' : 'events'}.ndjson`));
    const third = await replayer().replay();
    expect(third.buffers).toEqual({
      events: { lines: 5, stored: 0, alreadyStored: 5, failed: 0 },
      'page-views': { lines: 2, stored: 0, alreadyStored: 3, failed: 0 },
    });
    expect(await eventIds()).toEqual([...ids].sort());
    expect(await views()).toEqual([{ path: '/a', views: 2 }, { path: '/b', views: 1 }]);
  });

  it('keeps an event the database refuses again in the dead-letter file and stores the rest of its chunk', async () => {
    const ids = await failEverything();
    const poison: DeadLetterEntry<EventRecord> = {
      failedAt: new Date().toISOString(),
      buffer: 'events',
      batchId: 'b-poison',
      attempts: 1,
      reason: 'interval',
      error: { name: 'Error', message: 'invalid input syntax for type timestamp with time zone' },
      item: { id: '7d3f1c2a-0000-4000-8000-000000000001', type: 't', userId: 'p', payload: null, occurredAt: 'not a time', receivedAt: new Date().toISOString() },
    };
    await appendFile(join(deadLetterDir(), 'events.ndjson'), JSON.stringify(poison) + '\n');
    // A line of a page-views buffer that did not coalesce yet: one view, no `views` field.
    const oneView: DeadLetterEntry<{ path: string; at: number }> = {
      ...poison,
      buffer: 'page-views',
      batchId: 'b-one-view',
      item: { path: '/old', at: Date.now() },
    };
    await appendFile(join(deadLetterDir(), 'page-views.ndjson'), JSON.stringify(oneView) + '\n');

    const report = await replayer().replay();

    expect(report.buffers['page-views']).toEqual({ lines: 3, stored: 4, alreadyStored: 0, failed: 0 });
    expect(await views()).toEqual([{ path: '/a', views: 2 }, { path: '/b', views: 1 }, { path: '/old', views: 1 }]);
    expect(report.buffers.events).toEqual({ lines: 6, stored: 5, alreadyStored: 0, failed: 1 });
    expect(await eventIds()).toEqual([...ids].sort());
    const kept = (await readFile(join(deadLetterDir(), 'events.ndjson'), 'utf8')).trim().split('\n');
    expect(kept.map((line) => JSON.parse(line))).toEqual([poison]);
  });
});
