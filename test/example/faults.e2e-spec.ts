/**
 * The built app under load while the connections to PostgreSQL break: a TCP proxy between them
 * resets idle and busy connections, stalls them, and refuses new ones. Afterwards the app is still
 * the same process, `/health` went down and came back by itself, every accepted event is in the
 * table or the dead-letter file, every confirmed one is in the table, and a replay leaves each one
 * in the table exactly once.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { DeadLetterEntry } from '../../apps/example/src/dead-letter/dead-letter.service';
import type { EventRecord } from '../../apps/example/src/events/event-record.interface';
import { FaultProxy } from './fault-proxy';
import { REPLAY, ROOT, buildExample, exited, startExample, type ExampleProcess } from './process.utils';
import { uniqueSchema, waitFor } from './test.utils';

const url = process.env.TEST_DATABASE_URL;
const describeWithPostgres = url ? describe : describe.skip;
if (!url) {
  process.stdout.write(
    'faults.e2e-spec: skipped the fault-injection test (TCP proxy in front of PostgreSQL): TEST_DATABASE_URL is not set\n',
  );
}

/** Real time passes for the app, the proxy and the load alike: the fault schedule is wall-clock. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithPostgres('the built example app while the database connections break', () => {
  const schema = uniqueSchema('example_faults');
  let dataDir: string;
  let proxy: FaultProxy;
  let app: ExampleProcess | undefined;
  let admin: Client;

  beforeAll(async () => {
    await buildExample();
    admin = new Client({ connectionString: url, options: `-c search_path=${schema}` });
    await admin.connect();
  }, 150_000);

  afterAll(async () => {
    await app?.kill();
    await proxy?.close();
    await admin?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin?.end();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('never exits, recovers by itself, and keeps every accepted event', async () => {
    const target = new URL(url!);
    proxy = new FaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxyPort = await proxy.start();
    const viaProxy = new URL(url!);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxyPort);
    dataDir = await mkdtemp(join(tmpdir(), 'example-faults-'));
    const env = {
      DATA_DIR: dataDir,
      DATABASE_SCHEMA: schema,
      EVENTS_INTERVAL: '200',
      EVENTS_MAX_SIZE: '500',
      FLUSH_RETRIES: '2',
      RETRY_DELAY: '100',
      DATABASE_QUERY_TIMEOUT: '1500',
      DATABASE_CONNECT_TIMEOUT: '1000',
    };
    app = await startExample({ ...env, DATABASE_URL: viaProxy.toString() });
    const running = app;
    let exitedEarly = false;
    running.child.once('exit', () => (exitedEarly = true));

    // The load: 8 clients posting single events, a confirmed one every 10th, a batch of 20 every 25th.
    const accepted = new Set<string>();
    const confirmed = new Set<string>();
    const answers = new Map<number, number>();
    let stop = false;
    const client = async (c: number) => {
      for (let n = 0; !stop; n++) {
        const batch = n % 25 === 24;
        const confirm = !batch && n % 10 === 9;
        const path = batch ? '/events/batch' : confirm ? '/events?confirm=true' : '/events';
        const event = (i: number) => ({ type: 'fault.test', userId: `c${c}-${n}-${i}`, payload: { n } });
        const body = batch ? { events: Array.from({ length: 20 }, (_, i) => event(i)) } : event(0);
        try {
          const res = await fetch(`${running.base}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(10_000),
          });
          const json = (await res.json()) as { id?: string; ids?: string[] };
          answers.set(res.status, (answers.get(res.status) ?? 0) + 1);
          const ids = json.ids ?? (json.id ? [json.id] : []);
          if (res.status === 202 || res.status === 201) for (const id of ids) accepted.add(id);
          if (res.status === 201) for (const id of ids) confirmed.add(id);
        } catch {
          answers.set(0, (answers.get(0) ?? 0) + 1);
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, c) => client(c)));

    // /health while the database cannot be reached: down, with the database named.
    const healthDown = async (): Promise<boolean> => {
      const res = await fetch(`${running.base}/health`);
      const body = (await res.json()) as { error?: { database?: { status: string } } };
      return res.status === 503 && body.error?.database?.status === 'down';
    };

    // The faults, bounded: about 12 s of them, then 3 s of calm under the same load.
    await pause(1500);
    proxy.resetAll();
    await pause(1500);
    proxy.stall();
    await pause(2000);
    proxy.resume();
    await pause(1000);
    proxy.resetAll();
    await pause(1000);
    proxy.stall();
    await pause(2500);
    proxy.resetAll(); // busy connections stalled mid-statement
    proxy.resume();
    await pause(1000);
    proxy.refuse(true);
    proxy.resetAll();
    await waitFor(healthDown, '/health to show the database down', 5_000, 100);
    await pause(1500);
    proxy.refuse(false);
    await pause(1000);
    proxy.resetAll();
    await pause(3000);
    stop = true;
    await load;

    // Recovered by itself: once the buffers flushed on healthy connections, /health is up again.
    await waitFor(async () => (await fetch(`${running.base}/health`)).ok, '/health to be up again', 20_000, 200);
    await waitFor(
      async () => {
        const { events } = (await running.stats()).buffers;
        return events.pending + events.inFlight === 0;
      },
      'the events buffer to drain',
      20_000,
      100,
    );
    expect(exitedEarly).toBe(false);
    expect(proxy.counts.reset).toBeGreaterThan(0);
    expect(proxy.counts.refused).toBeGreaterThan(0);
    expect(accepted.size).toBeGreaterThan(500);
    expect(confirmed.size).toBeGreaterThan(0);

    running.child.kill('SIGTERM');
    const exit = await exited(running.child);
    expect({ ...exit, output: exit.code === 0 ? '' : running.output() }).toEqual({ code: 0, signal: null, output: '' });
    expect(running.output()).not.toMatch(/Unhandled|uncaught/i);

    // Every accepted event is in the table or the dead-letter file; every confirmed one is in the table.
    const stored = new Set(
      (await admin.query<{ id: string }>('SELECT event_id::text AS id FROM events')).rows.map((row) => row.id),
    );
    const deadLetterFile = join(dataDir, 'dead-letter', 'events.ndjson');
    const deadLettered = new Set(
      existsSync(deadLetterFile)
        ? (await readFile(deadLetterFile, 'utf8'))
            .trim()
            .split('\n')
            .map((line) => (JSON.parse(line) as DeadLetterEntry<EventRecord>).item.id)
        : [],
    );
    const missing = [...accepted].filter((id) => !stored.has(id) && !deadLettered.has(id));
    expect(missing).toEqual([]);
    expect([...confirmed].filter((id) => !stored.has(id))).toEqual([]);

    // `npm run replay` (the built command) stores the dead letters once; a second run adds nothing.
    const replay = async () =>
      (
        await promisify(execFile)(process.execPath, [REPLAY], {
          cwd: ROOT,
          env: { ...process.env, ...env, DATABASE_URL: url },
          timeout: 30_000,
        })
      ).stdout;
    const first = await replay();
    if (deadLettered.size > 0) expect(first).toMatch(/^events: \d+ read, \d+ stored, \d+ already stored, 0 failed$/m);
    expect(await replay()).toBe('nothing to replay\n');
    const after = await admin.query<{ rows: number; ids: number }>(
      'SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS ids FROM events',
    );
    const afterIds = new Set((await admin.query<{ id: string }>('SELECT event_id::text AS id FROM events')).rows.map((r) => r.id));
    expect([...accepted].filter((id) => !afterIds.has(id))).toEqual([]);
    expect(after.rows[0].rows).toBe(after.rows[0].ids);
    process.stdout.write(
      `faults.e2e-spec: ${accepted.size} events accepted, ${stored.size} stored during the faults, ` +
        `${deadLettered.size} dead-lettered then replayed; proxy: ${JSON.stringify(proxy.counts)}; ` +
        `answers: ${JSON.stringify(Object.fromEntries(answers))}\n`,
    );
  }, 90_000);
});
