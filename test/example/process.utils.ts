import { execFile, spawn, type ChildProcess } from 'node:child_process';
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

/**
 * The URL the app logged once it listened (`listening on http://127.0.0.1:<port> ...`). The app is
 * started with PORT=0 so that the kernel picks a port when it binds: a port picked beforehand
 * could be taken by another socket before the app bound it, and the test would then talk to
 * whatever answers there.
 */
export function listeningUrl(output: string): string | undefined {
  return /listening on (http:\/\/[^\s]+)/.exec(output)?.[1];
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
  const full: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'DATABASE_SCHEMA', 'DIRECT_INSERT', 'AMQP_URL', 'AMQP_QUEUE', 'PGLITE_DIR']) delete full[name];
  Object.assign(full, { PORT: '0', HOST: '127.0.0.1' }, env);
  let output = '';
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const app: ExampleProcess = {
    child,
    base: '',
    output: () => output,
    stats: async () => (await (await fetch(`${app.base}/stats`)).json()) as StatsResponse,
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
      return listeningUrl(output) !== undefined;
    },
    'the app to listen',
    60_000,
    50,
  );
  app.base = listeningUrl(output)!;
  return app;
}
