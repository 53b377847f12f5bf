/**
 * Optional CPU profiling of the timed regions only: with BENCH_PROFILE=<dir>, `begin()` starts the
 * V8 profiler just before a timed region and `end(label)` stops it right after, writing
 * <dir>/<label>-<n>.cpuprofile (sum them with bench/profile-top.ts). Without BENCH_PROFILE both
 * are no-ops that resolve at once. Use with BENCH_FILTER to profile one contender.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Session } from 'node:inspector';

const dir = process.env.BENCH_PROFILE ? path.resolve(process.env.BENCH_PROFILE) : null;
let session: Session | null = null;
let count = 0;

function post<R>(method: string, params?: object): Promise<R> {
  return new Promise<R>((resolve, reject) =>
    session!.post(method, params ?? {}, (err: Error | null, result?: unknown) => (err ? reject(err) : resolve(result as R))),
  );
}

export const profiling = dir !== null;

export async function begin(): Promise<void> {
  if (dir === null) return;
  if (session === null) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const inspector = require('node:inspector') as typeof import('node:inspector');
    session = new inspector.Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    fs.mkdirSync(dir, { recursive: true });
  }
  await post('Profiler.start');
}

export async function end(label: string): Promise<void> {
  if (dir === null || session === null) return;
  const { profile } = await post<{ profile: unknown }>('Profiler.stop');
  const file = path.join(dir, `${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${++count}.cpuprofile`);
  fs.writeFileSync(file, JSON.stringify(profile));
}
