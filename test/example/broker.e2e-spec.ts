/**
 * The broker-fed path of the built app, against a real RabbitMQ and PostgreSQL: two instances on one
 * queue, one of them SIGKILLed halfway through 20,000 events and restarted, still store every event
 * exactly once; a SIGTERMed instance acknowledges what it stored before its channel closes; an event
 * the database refuses is acknowledged once it is in the dead-letter file, not before; an instance
 * whose broker connection is reset survives, reconnects, and stores the redelivered events once; a
 * channel that cannot be set up is logged and retried, not the end of the process.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { Client } from 'pg';
import { publishEvents, sampleEvent } from '../../apps/example/load/publish-events';
import type { DeadLetterEntry } from '../../apps/example/src/dead-letter/dead-letter.service';
import type { EventRecord } from '../../apps/example/src/events/event-record.interface';
import { FaultProxy } from './fault-proxy';
import { buildExample, exited, startExample, type ExampleProcess } from './process.utils';
import { uniqueSchema, waitFor } from './test.utils';

const dbUrl = process.env.TEST_DATABASE_URL;
const amqpUrl = process.env.TEST_AMQP_URL;
const describeWithBroker = dbUrl && amqpUrl ? describe : describe.skip;
if (!dbUrl || !amqpUrl) {
  const missing = [!dbUrl && 'TEST_DATABASE_URL', !amqpUrl && 'TEST_AMQP_URL'].filter(Boolean).join(' and ');
  process.stdout.write(
    `broker.e2e-spec: skipped the broker-fed path tests (two instances on one RabbitMQ queue, a SIGKILL, a SIGTERM, a dead-lettered message): ${missing} not set\n`,
  );
}

describeWithBroker('the built example app fed by RabbitMQ', () => {
  const schemas: string[] = [];
  const queues: string[] = [];
  const dirs: string[] = [];
  const apps: ExampleProcess[] = [];
  const proxies: FaultProxy[] = [];
  let admin: Client;
  let amqp: ChannelModel;
  let channel: Channel;

  beforeAll(async () => {
    await buildExample();
    admin = new Client({ connectionString: dbUrl });
    await admin.connect();
    amqp = await connect(amqpUrl!);
    channel = await amqp.createChannel();
  }, 150_000);

  afterAll(async () => {
    for (const app of apps) await app.kill();
    for (const proxy of proxies) await proxy.close();
    for (const queue of queues) await channel?.deleteQueue(queue);
    await amqp?.close();
    for (const schema of schemas) await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** A schema, a queue and the environment of an instance on them (each instance its own DATA_DIR). */
  async function setting(name: string, extra: Record<string, string> = {}) {
    const schema = uniqueSchema(`example_broker_${name}`);
    const queue = uniqueSchema(`example_broker_${name}`);
    schemas.push(schema);
    queues.push(queue);
    await channel.assertQueue(queue, { durable: true });
    const env = async (): Promise<Record<string, string>> => {
      const dataDir = await mkdtemp(join(tmpdir(), `example-broker-${name}-`));
      dirs.push(dataDir);
      return { DATA_DIR: dataDir, DATABASE_URL: dbUrl!, DATABASE_SCHEMA: schema, AMQP_URL: amqpUrl!, AMQP_QUEUE: queue, ...extra };
    };
    return { schema, queue, env };
  }

  async function start(env: Record<string, string>): Promise<ExampleProcess> {
    const app = await startExample(env);
    apps.push(app);
    await waitFor(() => /consuming queue/.test(app.output()), 'the app to consume its queue', 20_000, 20);
    return app;
  }

  /** Messages in the queue that no consumer holds (unacknowledged ones are not counted). */
  const ready = async (queue: string) => (await channel.checkQueue(queue)).messageCount;
  const count = async (schema: string) =>
    (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.events`)).rows[0].n;
  const held = async (app: ExampleProcess) => {
    const { events } = (await app.stats()).buffers;
    return events.pending + events.inFlight;
  };
  const deadLetters = async (env: Record<string, string>): Promise<DeadLetterEntry<EventRecord>[]> => {
    const file = join(env.DATA_DIR, 'dead-letter', 'events.ndjson');
    if (!existsSync(file)) return [];
    return (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as DeadLetterEntry<EventRecord>);
  };

  it('stores 20,000 events exactly once while one of two instances is SIGKILLed and restarted', async () => {
    const { schema, queue, env } = await setting('kill', { EVENTS_INTERVAL: '200' });
    const envA = await env();
    const envB = await env();
    const a = await start(envA);
    const b = await start(envB);
    let survivorExited = false;
    a.child.once('exit', () => (survivorExited = true));

    const publishing = publishEvents({ url: amqpUrl, queue, count: 20_000 });
    await waitFor(async () => (await count(schema)) >= 10_000, 'half the events in the table', 30_000, 10);
    // What the killed instance held in memory, taken from the queue but not yet acknowledged.
    const heldAtKill = await held(b);
    await b.kill();
    const { ids } = await publishing;
    const restarted = await start(envB);

    // Done: nothing ready in the queue, nothing held by either instance, and the count has stopped.
    let last = -1;
    await waitFor(
      async () => {
        const n = await count(schema);
        const settled = n === last && (await ready(queue)) === 0 && (await held(a)) === 0 && (await held(restarted)) === 0;
        last = n;
        return settled;
      },
      'the queue to be empty and the count to stop',
      30_000,
      500,
    );

    expect(heldAtKill).toBeGreaterThan(0);
    const { rows } = await admin.query<{ n: number; distinct: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct FROM ${schema}.events`,
    );
    expect(rows[0]).toEqual({ n: 20_000, distinct: 20_000 });
    const stored = await admin.query<{ id: string }>(`SELECT event_id::text AS id FROM ${schema}.events ORDER BY event_id`);
    expect(stored.rows.map((row) => row.id)).toEqual([...ids].sort());
    expect([...(await deadLetters(envA)), ...(await deadLetters(envB))]).toEqual([]);
    expect(survivorExited).toBe(false);
    expect(a.child.exitCode).toBeNull();
  }, 90_000);

  it('acknowledges every message it stored before its channel closes at SIGTERM', async () => {
    // Nothing is flushed before shutdown: the 500 events wait in the buffer, their messages unacknowledged.
    const { schema, queue, env } = await setting('term', { EVENTS_INTERVAL: '600000', EVENTS_COMMIT_DELAY: 'off' });
    const app = await start(await env());
    const { ids } = await publishEvents({ url: amqpUrl, queue, count: 500 });
    await waitFor(async () => (await held(app)) === 500, 'the app to hold the 500 events', 10_000, 20);
    expect(await ready(queue)).toBe(0);
    expect(await count(schema)).toBe(0);

    app.child.kill('SIGTERM');
    expect(await exited(app.child)).toEqual({ code: 0, signal: null });

    // Acknowledged before the channel closed: none went back to the queue.
    expect(await ready(queue)).toBe(0);
    const stored = await admin.query<{ id: string }>(`SELECT event_id::text AS id FROM ${schema}.events ORDER BY event_id`);
    expect(stored.rows.map((row) => row.id)).toEqual([...ids].sort());
    expect(app.output()).toContain('stopped taking messages');
  }, 60_000);

  it('takes invalid messages off the queue without storing them, and stores the valid one', async () => {
    const { schema, queue, env } = await setting('invalid', { EVENTS_INTERVAL: '100' });
    const app = await start(await env());
    const valid = { ...sampleEvent(0), id: randomUUID() };
    const bodies = [
      JSON.stringify({ pattern: 'event.tracked', data: { ...sampleEvent(1) } }), // no id
      JSON.stringify({ pattern: 'event.tracked', data: { ...sampleEvent(2), id: randomUUID(), type: '' } }),
      JSON.stringify({ pattern: 'event.tracked', data: { ...sampleEvent(3), id: randomUUID(), admin: true } }),
      JSON.stringify({ pattern: 'user.deleted', data: { ...sampleEvent(4), id: randomUUID() } }), // another pattern
      'not json at all',
      // A top-level id would make Nest take it for a request; here every message is an event.
      JSON.stringify({ pattern: 'event.tracked', data: valid, id: 'not-a-request' }),
    ];
    for (const body of bodies) channel.sendToQueue(queue, Buffer.from(body), { persistent: true });
    await waitFor(async () => (await count(schema)) === 1, 'the valid event to be stored', 10_000, 20);
    await waitFor(async () => (await ready(queue)) === 0 && (await held(app)) === 0, 'the queue to be empty', 10_000, 20);

    // Nothing is requeued at shutdown either: every message was acknowledged or rejected for good.
    app.child.kill('SIGTERM');
    expect(await exited(app.child)).toEqual({ code: 0, signal: null });
    expect(await ready(queue)).toBe(0);
    const stored = await admin.query<{ id: string }>(`SELECT event_id::text AS id FROM ${schema}.events`);
    expect(stored.rows).toEqual([{ id: valid.id }]);
    const output = app.output();
    expect(output.match(/is not a valid event and was acknowledged without storing it/g)).toHaveLength(3);
    expect(output).toContain('id must be a UUID set by the publisher');
    expect(output).toContain('type must be longer than or equal to 1 characters');
    expect(output).toContain('property admin should not exist');
    // Nest's RMQ server rejects (without requeue) what has no handler: another pattern, or no JSON.
    expect(output.match(/An unsupported event was received. It has been negative acknowledged/g)).toHaveLength(2);
  }, 30_000);

  it('acknowledges an event the database refuses once it is in the dead-letter file, not before', async () => {
    const { schema, queue, env } = await setting('poison', { EVENTS_INTERVAL: '100', FLUSH_RETRIES: '2', RETRY_DELAY: '1500' });
    const appEnv = await env();
    const first = await start(appEnv);
    // The database refuses these events, whatever the app does: a trigger raises on each of their rows.
    await admin.query(`
      CREATE FUNCTION ${schema}.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'poison event %', NEW.event_id; END $$;
      CREATE TRIGGER refuse_poison BEFORE INSERT ON ${schema}.events
        FOR EACH ROW WHEN (NEW.type = 'poison.test') EXECUTE FUNCTION ${schema}.refuse_poison();`);
    const { ids } = await publishEvents({
      url: amqpUrl,
      queue,
      count: 5,
      event: (i) => ({ ...sampleEvent(i), type: 'poison.test' }),
    });

    // While its batch is being retried, a message is not acknowledged: a SIGKILL now puts all 5 back.
    await waitFor(async () => (await first.stats()).buffers.events.retries >= 1, 'a failed first attempt', 10_000, 20);
    expect(await deadLetters(appEnv)).toEqual([]);
    await first.kill();
    await waitFor(async () => (await ready(queue)) === 5, 'the 5 messages back in the queue', 5_000, 20);

    // Restarted: the redelivered events fail again, go to the dead-letter file, and only then are acknowledged.
    const second = await start(appEnv);
    await waitFor(
      () => (second.output().match(/is in the dead-letter file; its message was acknowledged/g) ?? []).length === 5,
      'the 5 events acknowledged as dead letters',
      20_000,
      50,
    );
    const lines = await deadLetters(appEnv);
    expect(lines.map((line) => line.item.id).sort()).toEqual([...ids].sort());
    expect(lines.every((line) => line.error.message.startsWith('poison event'))).toBe(true);
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toEqual({ code: 0, signal: null });
    expect(await ready(queue)).toBe(0);
    expect(await count(schema)).toBe(0);
    // Nothing was written twice: the killed instance wrote no line, the restarted one one per event.
    expect(await deadLetters(appEnv)).toHaveLength(5);
  }, 60_000);

  it('survives a reset broker connection, reconnects, and stores the redelivered events once', async () => {
    // The events wait 3 s in the buffer, so the connection breaks while their messages are in hand.
    const { schema, queue, env } = await setting('reset', { EVENTS_INTERVAL: '3000', EVENTS_MAX_SIZE: '5000', EVENTS_COMMIT_DELAY: 'off' });
    const target = new URL(amqpUrl!);
    const proxy = new FaultProxy({ host: target.hostname, port: Number(target.port || 5672) });
    proxies.push(proxy);
    const viaProxy = new URL(amqpUrl!);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(await proxy.start());
    const app = await start({ ...(await env()), AMQP_URL: viaProxy.toString() });
    let exitedEarly = false;
    app.child.once('exit', () => (exitedEarly = true));

    const { ids } = await publishEvents({ url: amqpUrl, queue, count: 1000 });
    await waitFor(async () => (await held(app)) === 1000, 'the app to hold the 1000 events', 10_000, 20);
    proxy.refuse(true);
    proxy.resetAll();
    // The broker takes the unacknowledged messages back at once; the app still stores its copies.
    await waitFor(async () => (await ready(queue)) === 1000, 'the 1000 messages back in the queue', 5_000, 20);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the broker unreachable for a second
    proxy.refuse(false);

    // amqp-connection-manager reconnects (within its 5 s retry delay); each event comes in a second
    // time (2000 taken by the buffer), and the second copies insert nothing (1000 rows written).
    await waitFor(
      async () => {
        const { events } = (await app.stats()).buffers;
        return events.inserted === 2000 && events.pending + events.inFlight === 0 && (await ready(queue)) === 0;
      },
      'the redelivered events to be taken and settled',
      30_000,
      200,
    );
    expect(app.output()).toMatch(/the ack of event [0-9a-f-]+ could not be sent/);
    const stored = await admin.query<{ id: string }>(`SELECT event_id::text AS id FROM ${schema}.events ORDER BY event_id`);
    expect(stored.rows.map((row) => row.id)).toEqual([...ids].sort());
    expect((await app.stats()).database.rowsWritten).toBe(1000);
    expect(exitedEarly).toBe(false);
    expect(proxy.counts.accepted).toBeGreaterThanOrEqual(2);
  }, 60_000);

  it('keeps running when the channel cannot be set up (a queue declared with other arguments), and retries', async () => {
    // Nest's RMQ server alone ends the process here: the failed setup is an 'error' event nobody listens to.
    const { queue, env } = await setting('mismatch');
    await channel.deleteQueue(queue);
    await channel.assertQueue(queue, { durable: false });
    const app = await startExample(await env());
    apps.push(app);
    const failures = () => (app.output().match(/could not set up the channel of queue/g) ?? []).length;
    // amqp-connection-manager reconnects after 5 s and sets the channel up again.
    await waitFor(() => failures() >= 2 || app.child.exitCode !== null, 'a second setup attempt', 20_000, 50);
    expect(app.child.exitCode).toBeNull();
    expect(failures()).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${app.base}/health`)).status).toBe(200);
  }, 30_000);
});
