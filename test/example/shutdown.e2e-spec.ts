/**
 * @jest-environment ./test/example/pglite-environment.js
 */
import './native-pglite';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import type { StatsResponse } from '../../apps/example/src/stats/stats.controller';
import { buildExample, exited, listeningUrl, MAIN, ROOT } from './process.utils';
import { inParallel, uniqueSchema, waitFor } from './test.utils';

interface Target {
  name: string;
  env(): Record<string, string>;
  /** Opens the database the app wrote to, after it exited. */
  connect(dataDir: string): Promise<{ query<R>(sql: string): Promise<R[]>; close(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'PGlite',
    env: () => ({}),
    connect: async (dataDir) => {
      const db = await PGlite.create(join(dataDir, 'pglite'));
      return { query: async <R>(sql: string) => (await db.query<R>(sql)).rows, close: () => db.close() };
    },
  },
];
const url = process.env.TEST_DATABASE_URL;
if (url) {
  const schema = uniqueSchema('example_process');
  targets.push({
    name: 'PostgreSQL',
    env: () => ({ DATABASE_URL: url, DATABASE_SCHEMA: schema }),
    connect: async () => {
      const client = new Client({ connectionString: url, options: `-c search_path=${schema}` });
      await client.connect();
      return {
        query: async <R>(sql: string) => (await client.query(sql)).rows as R[],
        close: async () => {
          await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await client.end();
        },
      };
    },
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function post(base: string, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('the built example app as a process', () => {
  beforeAll(async () => {
    await buildExample();
    expect(existsSync(MAIN)).toBe(true);
  }, 150_000);

  describe.each(targets)('on $name', (target) => {
    let child: ChildProcess | undefined;
    let dataDir: string;
    let output = '';

    beforeEach(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'example-process-'));
      output = '';
    });

    afterEach(async () => {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
      child = undefined;
      await rm(dataDir, { recursive: true, force: true });
    });

    it('stores every buffered event when SIGTERM arrives before the flush interval, with the database module imported after the buffers and no hook awaiting closeAll()', async () => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        // Ten minutes: no timer flushes during the test, only the graceful flush at shutdown.
        EVENTS_INTERVAL: '600000',
        PAGE_VIEWS_INTERVAL: '600000',
        EVENTS_MAX_SIZE: '10000',
        ...target.env(),
      };
      if (!target.env().DATABASE_URL) delete env.DATABASE_URL;
      delete env.PGLITE_DIR;
      delete env.DIRECT_INSERT;

      const app = spawn(process.execPath, [MAIN], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = app;
      app.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      app.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

      await waitFor(
        () => {
          if (app.exitCode !== null) throw new Error(`the app exited with ${app.exitCode}:\n${output}`);
          return listeningUrl(output) !== undefined;
        },
        'the app to listen',
        60_000,
        50,
      );
      const base = listeningUrl(output)!;

      const single = Array.from({ length: 300 }, (_, i) => ({ type: 'click', userId: `single-${i}`, payload: { i } }));
      const batch = Array.from({ length: 200 }, (_, i) => ({ type: 'view', userId: `batch-${i}` }));
      const statuses: number[] = [];
      try {
        await inParallel(single, 10, async (event) => {
          statuses.push(await post(base, '/events', event));
        });
        statuses.push(await post(base, '/events/batch', { events: batch }));
        for (let i = 0; i < 40; i++) statuses.push(await post(base, '/page-views', { path: i % 4 === 0 ? '/home' : '/docs' }));
      } catch (error) {
        // Say what the app did: a request that cannot connect means the app is gone or never listened there.
        throw new Error(`posting failed (${String(error)}); app exit code ${app.exitCode}, signal ${app.signalCode}:\n${output}`);
      }
      expect(statuses.every((status) => status === 202)).toBe(true);

      const stats = (await (await fetch(`${base}/stats`)).json()) as StatsResponse;
      expect(stats.buffers.events.pending).toBe(500);
      // coalesced: one value per path
      expect(stats.buffers['page-views']).toMatchObject({ inserted: 40, merged: 38, pending: 2 });
      expect(stats.database.inserts).toBe(0);

      app.kill('SIGTERM');
      const exit = await withTimeout(exited(app), 30_000, 'the app to exit after SIGTERM');
      expect({ ...exit, output: exit.code === 0 ? '' : output }).toEqual({ code: 0, signal: null, output: '' });

      const db = await target.connect(dataDir);
      try {
        const ids = await db.query<{ user_id: string }>('SELECT user_id FROM events');
        expect(ids).toHaveLength(500);
        expect(new Set(ids.map((row) => row.user_id))).toEqual(
          new Set([...single, ...batch].map((event) => event.userId)),
        );
        const views = await db.query<{ path: string; views: number }>(
          'SELECT path, views::int AS views FROM page_views ORDER BY path',
        );
        expect(views).toEqual([
          { path: '/docs', views: 30 },
          { path: '/home', views: 10 },
        ]);
      } finally {
        await db.close();
      }
      expect(existsSync(join(dataDir, 'dead-letter'))).toBe(false);
    }, 90_000);
  });
});
