/**
 * @jest-environment ./test/example/pglite-environment.js
 */
import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import { getBufferToken, type DataBuffer } from 'nestjs-data-buffer';
import type { EventRecord } from '../../apps/example/src/events/event-record.interface';
import { EVENTS_BUFFER } from '../../apps/example/src/events/events.constants';
import { SuiteDatabase, databaseTargets, startApp, type RunningApp } from './example-test.utils';

/** Validation runs before anything reaches the database, so the embedded one is enough here. */
const [target] = databaseTargets();

/** A logger that keeps what it is given. */
class RecordingLogger implements LoggerService {
  readonly lines: Array<{ level: string; args: unknown[] }> = [];
  log = (...args: unknown[]) => this.lines.push({ level: 'log', args });
  warn = (...args: unknown[]) => this.lines.push({ level: 'warn', args });
  error = (...args: unknown[]) => this.lines.push({ level: 'error', args });
  debug = () => undefined;
  verbose = () => undefined;
  fatal = (...args: unknown[]) => this.lines.push({ level: 'fatal', args });
}

/** An object nested `depth` levels deep (the object itself is level 1). */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('example app validation (e2e)', () => {
  let suite: SuiteDatabase;
  let running: RunningApp;
  let logger: RecordingLogger;

  beforeAll(async () => {
    suite = await SuiteDatabase.open(target);
  });

  afterAll(async () => {
    await suite?.close();
  });

  beforeEach(async () => {
    await suite.truncate();
    logger = new RecordingLogger();
    running = await startApp(target, suite.db, {}, logger);
  });

  afterEach(async () => {
    await running?.close();
  });

  const buffer = () => running.app.get<DataBuffer<EventRecord>>(getBufferToken(EVENTS_BUFFER));
  const post = (body: unknown, path = '/events') => request(running.url).post(path).send(body as object);
  const stored = async (): Promise<Array<{ user_id: string; occurred_at: string }>> =>
    (await suite.db.query<{ user_id: string; occurred_at: string }>(
      `SELECT user_id, to_json(occurred_at) #>> '{}' AS occurred_at FROM events ORDER BY user_id`,
    )).rows;

  describe('occurredAt', () => {
    it.each([
      ['a week date', '2024-W01-1'],
      ['an ordinal date', '2024-032'],
      ['a bare date', '2024-05-01'],
      ['a local time without a zone', '2024-05-01T12:00:00'],
      ['a day that does not exist', '2024-02-30T12:00:00Z'],
      ['an hour 24', '2024-05-01T24:00:00Z'],
      ['year 0', '0000-01-01T00:00:00Z'],
    ])('answers 400 for %s (%s), buffering nothing', async (_, occurredAt) => {
      const res = await post({ type: 't', userId: 'u', occurredAt });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('occurredAt must be an ISO 8601 date-time with a time zone');
      expect(buffer().stats().inserted).toBe(0);
    });

    it('accepts date-times with Z or an offset, and stores the instant they name', async () => {
      await post({ type: 't', userId: 'a', occurredAt: '2024-05-01T12:00:00Z' }).expect(202);
      await post({ type: 't', userId: 'b', occurredAt: '2024-05-01T14:00:00.123+02:00' }).expect(202);
      await post({ type: 't', userId: 'c', occurredAt: '2024-02-29T23:59:59-0130' }).expect(202);
      await buffer().flush();
      expect(await stored()).toEqual([
        { user_id: 'a', occurred_at: '2024-05-01T12:00:00+00:00' },
        { user_id: 'b', occurred_at: '2024-05-01T12:00:00.123+00:00' },
        { user_id: 'c', occurred_at: '2024-03-01T01:29:59+00:00' },
      ]);
    });
  });

  describe('strings the database cannot store', () => {
    it.each([
      ['a NUL in type', { type: 'a\u0000b', userId: 'u' }, 'type must not contain a NUL character'],
      ['a NUL in userId', { type: 't', userId: '\u0000' }, 'userId must not contain a NUL character'],
      ['a lone high surrogate in userId', { type: 't', userId: 'x\ud800' }, 'userId must not contain an unpaired surrogate'],
      ['a lone low surrogate in type', { type: '\udc00x', userId: 'u' }, 'type must not contain an unpaired surrogate'],
      ['a NUL deep in the payload', { type: 't', userId: 'u', payload: { a: [{ b: 'x\u0000' }] } }, 'payload contains a NUL character (at a[0].b)'],
      ['a NUL in a payload key', { type: 't', userId: 'u', payload: { 'k\u0000': 1 } }, 'payload has a key with a NUL character'],
      ['a lone surrogate in the payload', { type: 't', userId: 'u', payload: { s: '\ud83d' } }, 'payload contains an unpaired surrogate (at s)'],
    ])('answers 400 for %s', async (_, body, message) => {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain(message);
      expect(buffer().stats().inserted).toBe(0);
    });

    it('answers 400 for one bad event of a batch, naming its index, and buffers none of the batch', async () => {
      const res = await post({ events: [{ type: 't', userId: 'ok' }, { type: 't', userId: 'bad\u0000' }] }, '/events/batch');
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('events.1.userId must not contain a NUL character');
      expect(buffer().stats().inserted).toBe(0);
    });

    it('stores paired surrogates (emoji) and other unicode as sent', async () => {
      await post({ type: 't', userId: 'u-😀-ü', payload: { s: '😀\u2028' } }).expect(202);
      await buffer().flush();
      const rows = await suite.db.query<{ user_id: string; payload: unknown }>('SELECT user_id, payload FROM events');
      expect(rows.rows).toEqual([{ user_id: 'u-😀-ü', payload: { s: '😀\u2028' } }]);
    });

    it('answers 400 for a page view whose path has a NUL', async () => {
      const res = await post({ path: '/a\u0000' }, '/page-views');
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('path must not contain a NUL character');
    });
  });

  describe('payload depth and size', () => {
    it('accepts a payload 8 levels deep and answers 400 naming the limit for 9', async () => {
      await post({ type: 't', userId: 'u', payload: nested(8) }).expect(202);
      const res = await post({ type: 't', userId: 'u', payload: nested(9) });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('payload nests deeper than 8 levels');
    });

    it('answers 400 naming the limit, not 500, for a payload nested 10,000 deep, on both endpoints', async () => {
      const deep = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
      const single = await request(running.url)
        .post('/events')
        .set('content-type', 'application/json')
        .send(`{"type":"t","userId":"u","payload":${deep}}`);
      const batch = await request(running.url)
        .post('/events/batch')
        .set('content-type', 'application/json')
        .send(`{"events":[{"type":"t","userId":"u","payload":${deep}}]}`);
      for (const res of [single, batch]) {
        expect(res.status).toBe(400);
        expect(res.body.message).toBe('request body nests deeper than 11 levels');
      }
      expect(buffer().stats().inserted).toBe(0);
    });

    it('parses a full batch whose payloads are at the depth limit', async () => {
      const events = Array.from({ length: 1000 }, (_, i) => ({ type: 't', userId: `u-${i}`, payload: nested(8) }));
      const res = await post({ events }, '/events/batch');
      expect(res.status).toBe(202);
      expect(buffer().stats().inserted).toBe(1000);
    });

    it('answers 400 naming the limit for a payload larger than 16384 bytes', async () => {
      const res = await post({ type: 't', userId: 'u', payload: { s: 'x'.repeat(16_384) } });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('payload is larger than 16384 bytes as JSON');
    });

    it('answers 413 naming the limit for a body larger than 5mb', async () => {
      const res = await request(running.url)
        .post('/events/batch')
        .set('content-type', 'application/json')
        .send(`{"events":[],"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`);
      expect(res.status).toBe(413);
      expect(res.body.message).toBe('request body is larger than 5mb');
    });

    it('answers 400 for a body that is not JSON', async () => {
      const res = await request(running.url).post('/events').set('content-type', 'application/json').send('{"type":');
      expect(res.status).toBe(400);
      expect(res.body.message).toBe('request body is not valid JSON');
    });
  });

  describe('content types', () => {
    it.each([
      ['form-urlencoded', 'application/x-www-form-urlencoded', 'type=t&userId=u'],
      ['plain text', 'text/plain', '{"type":"t","userId":"u"}'],
      ['no content type', undefined, '{"type":"t","userId":"u"}'],
    ])('answers 415 for a %s body and buffers nothing', async (_, contentType, body) => {
      let req = request(running.url).post('/events');
      if (contentType) req = req.set('content-type', contentType);
      else req = req.set('content-type', '');
      const res = await req.send(body);
      expect(res.status).toBe(415);
      expect(res.body.message).toContain('content-type must be application/json');
      expect(buffer().stats().inserted).toBe(0);
    });

    it('takes application/json with a charset', async () => {
      const res = await request(running.url)
        .post('/events')
        .set('content-type', 'application/json; charset=utf-8')
        .send('{"type":"t","userId":"u"}');
      expect(res.status).toBe(202);
    });
  });

  describe('query parameters', () => {
    it.each(['maybe', '1', '0', 'TRUE', ''])('answers 400 for ?confirm=%s and buffers nothing', async (confirm) => {
      const res = await request(running.url).post(`/events?confirm=${confirm}`).send({ type: 't', userId: 'u' });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body.message)).toContain('confirm must be true or false');
      expect(buffer().stats().inserted).toBe(0);
    });

    it('takes ?confirm=false as a buffered write (202)', async () => {
      const res = await request(running.url).post('/events?confirm=false').send({ type: 't', userId: 'u' });
      expect(res.status).toBe(202);
      expect(res.body.status).toBe('accepted');
    });

    it.each(['abc', '1.5', '-1', '1001', '', '1e3'])('answers 400 for ?limit=%s on both list endpoints', async (limit) => {
      for (const path of ['/events', '/page-views']) {
        const res = await request(running.url).get(`${path}?limit=${limit}`);
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect(JSON.stringify(res.body.message)).toContain('limit');
      }
    });

    it('lists with ?limit=2, and 20 without it', async () => {
      await post({ events: Array.from({ length: 25 }, (_, i) => ({ type: 't', userId: `u-${i}` })) }, '/events/batch').expect(202);
      await buffer().flush();
      expect((await request(running.url).get('/events?limit=2').expect(200)).body.events).toHaveLength(2);
      expect((await request(running.url).get('/events').expect(200)).body).toMatchObject({ count: 25 });
      expect((await request(running.url).get('/events').expect(200)).body.events).toHaveLength(20);
    });
  });

  describe('event ids', () => {
    it("returns the client's id, stores an id sent twice once, and answers 400 for an id that is not a UUID", async () => {
      const id = '0b1c8e0e-6f0a-4b5e-9d43-7a2f4b1c9e11';
      const first = await post({ id, type: 't', userId: 'first' }).expect(202);
      const again = await post({ id: id.toUpperCase(), type: 't', userId: 'retry' }).expect(202);
      expect(first.body.id).toBe(id);
      expect(again.body.id).toBe(id);
      const bad = await post({ id: 'not-a-uuid', type: 't', userId: 'u' });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.body.message)).toContain('id must be a UUID');

      await buffer().flush();
      const rows = await suite.db.query<{ id: string; user_id: string }>('SELECT event_id::text AS id, user_id FROM events');
      expect(rows.rows).toEqual([{ id, user_id: 'first' }]);
    });

    it('gives every event of a batch its own id, in order, and lists events by it', async () => {
      const res = await post({ events: [{ type: 't', userId: 'a' }, { type: 't', userId: 'b' }] }, '/events/batch').expect(202);
      await buffer().flush();
      const listed = (await request(running.url).get('/events').expect(200)).body.events as Array<{ id: string; userId: string }>;
      const byUser = Object.fromEntries(listed.map((e) => [e.userId, e.id]));
      expect(res.body.ids).toEqual([byUser.a, byUser.b]);
      expect(res.body.ids[0]).not.toBe(res.body.ids[1]);
    });
  });

  it('logs every 4xx at warn in one line without a stack, and none at error', async () => {
    await post({ type: '', userId: 'u' }).expect(400);
    await request(running.url).post('/events').set('content-type', 'text/plain').send('x').expect(415);
    await request(running.url).post('/events').set('content-type', 'application/json').send('{').expect(400);
    await request(running.url).get('/nowhere').expect(404);

    const http = logger.lines.filter((line) => line.args.includes('Http'));
    expect(http.map((line) => line.level)).toEqual(['warn', 'warn', 'warn', 'warn']);
    expect(http.map((line) => line.args[0])).toEqual([
      expect.stringMatching(/^POST \/events 400: type must be longer/),
      expect.stringMatching(/^POST \/events 415: content-type must be application\/json/),
      'POST /events 400: request body is not valid JSON',
      expect.stringMatching(/^GET \/nowhere 404: Cannot GET \/nowhere/),
    ]);
    expect(JSON.stringify(http)).not.toMatch(/\\n\s+at /);
    expect(logger.lines.filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
  });
});
