/**
 * Load test of the example app: builds it, starts it as a child process once per mode, runs
 * autocannon against POST /events on 127.0.0.1 and prints requests/s, p99 latency, rows written
 * and INSERT statements. Modes: `buffered` (the data buffer: 202, bulk INSERTs), `direct` (one
 * INSERT per request, 201) and `confirm` (`?confirm=true`: 201 once the event's batch is written,
 * with group commit). Then it POSTs 10,000 page views over 1,000 paths and counts the upsert
 * statements the coalescing `page-views` buffer made of them (`--no-page-views` skips this).
 * Uses PGlite in a fresh temporary directory, or PostgreSQL when DATABASE_URL is set (in a
 * schema of its own, dropped afterwards).
 *
 *   npm run load                                  # 10 s per mode, 50 connections
 *   npm run load -- --duration 5 --connections 100 --modes buffered,confirm
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run load
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Client } from 'pg';

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/apps/example/apps/example/src/main.js');

type Mode = 'buffered' | 'direct' | 'confirm';
const MODES: Record<Mode, { env: Record<string, string>; path: string; describe: string }> = {
  buffered: { env: { DIRECT_INSERT: 'false' }, path: '/events', describe: 'buffered (202, bulk INSERT)' },
  direct: { env: { DIRECT_INSERT: 'true' }, path: '/events', describe: 'direct (201, one INSERT per request)' },
  confirm: { env: { DIRECT_INSERT: 'false' }, path: '/events?confirm=true', describe: 'buffered + ?confirm=true (201)' },
};

interface Row {
  mode: string;
  requestsPerSecond: number;
  p99: number;
  ok: number;
  failed: number;
  rows: number;
  inserts: number;
}

interface Stats {
  buffers: Record<string, { pending: number; inFlight: number; merged: number }>;
  database: { inserts: number; rowsWritten: number };
}

const { values: args } = parseArgs({
  allowNegative: true,
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    modes: { type: 'string', default: 'buffered,direct,confirm' },
    'page-views': { type: 'boolean', default: true },
    'skip-build': { type: 'boolean', default: false },
  },
});
const duration = Number(args.duration);
const connections = Number(args.connections);
const modes = args.modes.split(',').map((mode) => mode.trim()) as Mode[];
for (const mode of modes) if (!(mode in MODES)) throw new Error(`unknown mode "${mode}" (buffered, direct, confirm)`);

async function until(condition: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function stats(base: string): Promise<Stats> {
  return (await (await fetch(`${base}/stats`)).json()) as Stats;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

/**
 * Starts the built app with `env` on a port the kernel picks (PORT=0; the URL is read from its
 * `listening on` log line), runs `fn` against it, then stops it and drops its data.
 */
async function withApp<R>(env: Record<string, string>, fn: (base: string) => Promise<R>): Promise<R> {
  const dataDir = mkdtempSync(join(tmpdir(), 'example-load-'));
  const schema = `example_load_${randomBytes(4).toString('hex')}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...env,
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    DATABASE_SCHEMA: schema,
  };
  let output = '';
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  try {
    let base: string | undefined;
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`the app exited:\n${output}`);
      base = /listening on (http:\/\/\S+)/.exec(output)?.[1];
      return base !== undefined && (await fetch(`${base}/health`)).ok;
    }, 'the app to start', 60_000);
    return await fn(base as string);
  } finally {
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
    if (process.env.DATABASE_URL) {
      const client = new Client({ connectionString: process.env.DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  }
}

/** Waits until `buffer` holds nothing (its interval flushed the rest). */
function drained(base: string, buffer: string): Promise<void> {
  return until(async () => {
    const held = (await stats(base)).buffers[buffer];
    return held.pending + held.inFlight === 0;
  }, `the buffer "${buffer}" to drain`, 60_000);
}

function run(mode: Mode): Promise<Row> {
  return withApp(MODES[mode].env, async (base) => {
    const before = await stats(base);
    const result = await autocannon({
      url: `${base}${MODES[mode].path}`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'page.opened', userId: 'user-[<id>]', payload: { path: '/pricing', ref: 'load' } }),
      idReplacement: true,
      connections,
      duration,
    });
    await drained(base, 'events');
    const after = await stats(base);
    return {
      mode: MODES[mode].describe,
      requestsPerSecond: result.requests.average,
      p99: result.latency.p99,
      ok: result['2xx'],
      failed: result.non2xx + result.errors + result.timeouts,
      rows: after.database.rowsWritten - before.database.rowsWritten,
      inserts: after.database.inserts - before.database.inserts,
    };
  });
}

/** Page views per run of the coalescing measurement, spread evenly over {@link PAGE_VIEW_PATHS} paths. */
const PAGE_VIEWS = 10_000;
const PAGE_VIEW_PATHS = 1_000;

interface PageViewsRow {
  views: number;
  paths: number;
  merged: number;
  statements: number;
  stored: number;
}

/** POSTs 10,000 views over 1,000 paths, waits for the flush and counts the upsert statements. */
function runPageViews(): Promise<PageViewsRow> {
  return withApp({}, async (base) => {
    const before = await stats(base);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < PAGE_VIEWS) {
        const path = `/page/${next++ % PAGE_VIEW_PATHS}`;
        const res = await fetch(`${base}/page-views`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path }),
        });
        if (res.status !== 202) throw new Error(`POST /page-views answered ${res.status}: ${await res.text()}`);
      }
    };
    await Promise.all(Array.from({ length: connections }, worker));
    await drained(base, 'page-views');
    const after = await stats(base);
    const top = (await (await fetch(`${base}/page-views?limit=${PAGE_VIEW_PATHS}`)).json()) as Array<{ views: number }>;
    return {
      views: PAGE_VIEWS,
      paths: PAGE_VIEW_PATHS,
      merged: after.buffers['page-views'].merged - before.buffers['page-views'].merged,
      statements: after.database.inserts - before.database.inserts,
      stored: top.reduce((sum, row) => sum + row.views, 0),
    };
  });
}

async function main(): Promise<void> {
  if (!args['skip-build']) {
    console.log('building the app (nest build example)...');
    execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build', 'example'], { cwd: ROOT, stdio: 'inherit' });
  }
  const database = process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'PGlite (embedded)';
  console.log(`database: ${database}; ${duration} s per mode, ${connections} connections; ${cpus().length} CPU cores`);
  const rows: Row[] = [];
  for (const mode of modes) {
    console.log(`running ${mode}...`);
    rows.push(await run(mode));
  }

  const header = ['mode', 'requests/s', 'p99 latency', '2xx', 'non-2xx/errors', 'rows written', 'INSERT statements', 'rows per INSERT'];
  const lines = rows.map((r) => [
    r.mode,
    Math.round(r.requestsPerSecond).toLocaleString('en-US'),
    `${r.p99} ms`,
    r.ok.toLocaleString('en-US'),
    r.failed.toLocaleString('en-US'),
    r.rows.toLocaleString('en-US'),
    r.inserts.toLocaleString('en-US'),
    r.inserts === 0 ? '-' : (r.rows / r.inserts).toFixed(1),
  ]);
  console.log('');
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const line of lines) console.log(`| ${line.join(' | ')} |`);

  if (args['page-views']) {
    console.log('');
    console.log(`running page views (${PAGE_VIEWS.toLocaleString('en-US')} views over ${PAGE_VIEW_PATHS.toLocaleString('en-US')} paths)...`);
    const views = await runPageViews();
    console.log('');
    console.log('| page views | paths | merged in memory | upsert statements | views stored |');
    console.log('|---:|---:|---:|---:|---:|');
    console.log(
      `| ${[views.views, views.paths, views.merged, views.statements, views.stored].map((n) => n.toLocaleString('en-US')).join(' | ')} |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
