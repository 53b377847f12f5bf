import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { StatsResponse } from '../../apps/example/src/stats/stats.controller';
import { waitFor } from './test.utils';

export const ROOT = resolve(__dirname, '../..');
/** Where `nest build example` puts the app and the replay command. */
export const MAIN = join(ROOT, 'dist/apps/example/apps/example/src/main.js');
export const REPLAY = join(ROOT, 'dist/apps/example/apps/example/src/replay.js');

/** `nest build example`. */
export async function buildExample(): Promise<void> {
  await promisify(execFile)(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build', 'example'], {
    cwd: ROOT,
    timeout: 120_000,
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolveExit) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolveExit({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => resolveExit({ code, signal }));
  });
}

/** The built app as a child process on 127.0.0.1. */
export interface ExampleProcess {
  child: ChildProcess;
  base: string;
  /** Everything it printed so far. */
  output(): string;
  stats(): Promise<StatsResponse>;
  /** SIGKILL if still running (cleanup). */
  kill(): Promise<void>;
}

/**
 * Starts the built app with `env` on top of a clean environment (no DATABASE_URL, DIRECT_INSERT,
 * AMQP_URL, PGLITE_DIR unless given) and waits until it listens.
 */
export async function startExample(env: Record<string, string>): Promise<ExampleProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const full: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'DATABASE_SCHEMA', 'DIRECT_INSERT', 'AMQP_URL', 'AMQP_QUEUE', 'PGLITE_DIR']) delete full[name];
  Object.assign(full, { PORT: String(port), HOST: '127.0.0.1' }, env);
  let output = '';
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const app: ExampleProcess = {
    child,
    base,
    output: () => output,
    stats: async () => (await (await fetch(`${base}/stats`)).json()) as StatsResponse,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    },
  };
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`the app exited with ${child.exitCode}:\n${output}`);
      return /listening on/.test(output);
    },
    'the app to listen',
    60_000,
    50,
  );
  return app;
}
