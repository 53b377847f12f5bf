/**
 * `npm run bench`: runs every scenario in its own process (node --expose-gc), one after the
 * other, then prints the tables and writes bench/results/latest.{json,md} and the results
 * section of bench/README.md. Env: BENCH_QUICK=1 for a quick run; BENCH_ONLY=unkeyed,heap to
 * run some scenarios (quick and partial runs leave the results files alone unless BENCH_WRITE=1);
 * see README.
 */
import { execFileSync, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from './common/config';
import type { ScenarioResult } from './common/result';
import { consoleText, resultsMarkdown, type BenchReport } from './report';
import { SCENARIOS } from './scenarios';

const README_START = '<!-- bench:results:start -->';
const README_END = '<!-- bench:results:end -->';

function runScenario(id: string): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'worker.ts'), [id], {
      execArgv: ['--expose-gc', '-r', 'ts-node/register/transpile-only'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: ScenarioResult | undefined;
    child.on('message', (msg: { type?: string; result?: ScenarioResult }) => {
      if (msg?.type === 'result') result = msg.result;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result && code === 0) resolve(result);
      else reject(new Error(`scenario ${id} exited with ${signal ?? code}`));
    });
  });
}

function machine(): BenchReport['machine'] {
  const cpus = os.cpus();
  return {
    cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    node: process.versions.node,
    v8: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    loadAtStart: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

/** Which library code was measured: the commit, and whether its sources had local changes. */
function libraryVersion(): string {
  if (process.env.BENCH_LIBRARY) return `BENCH_LIBRARY=${process.env.BENCH_LIBRARY}`;
  try {
    const root = path.resolve(__dirname, '..');
    const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();
    const commit = git('log', '-1', '--format=%h', '--', 'libs/data-buffer/src');
    const dirty = git('status', '--porcelain', '--', 'libs/data-buffer/src') !== '';
    return `libs/data-buffer/src at ${commit}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'libs/data-buffer/src';
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  const host = machine();
  const ids = SCENARIOS.map((s) => s.id).filter((id) => !config.only || config.only.includes(id));
  const started = Date.now();
  const scenarios: ScenarioResult[] = [];
  const failures: BenchReport['failures'] = [];
  for (const id of ids) {
    const t0 = Date.now();
    process.stderr.write(`\n== ${id}\n`);
    try {
      scenarios.push(await runScenario(id));
    } catch (err) {
      failures.push({ id, error: (err as Error).message });
    }
    process.stderr.write(`== ${id} done in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  }

  const envUsed = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const report: BenchReport = {
    date: new Date().toISOString().slice(0, 10),
    command: `${envUsed}npm run bench`,
    library: libraryVersion(),
    machine: host,
    config: {
      items: config.items,
      commitItems: config.commitItems,
      heapItems: config.heapItems,
      trials: config.trials,
      warmup: config.warmup,
      slowRate: config.slowRate,
      slowSeconds: config.slowSeconds,
      groupMs: config.groupMs,
      coalesceItems: config.coalesceItems,
    },
    scenarios,
    failures,
  };
  process.stdout.write(`${consoleText(report)}\n\nTotal ${((Date.now() - started) / 1000).toFixed(0)} s\n`);

  // only a full run replaces the recorded results, unless BENCH_WRITE=1 asks for it
  const write = (!config.only && !config.quick) || process.env.BENCH_WRITE === '1';
  if (write) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    const md = resultsMarkdown(report);
    fs.writeFileSync(path.join(dir, 'latest.md'), `# nestjs-data-buffer benchmark results\n\n${md}\n`);
    const readme = path.join(__dirname, 'README.md');
    if (fs.existsSync(readme)) {
      const text = fs.readFileSync(readme, 'utf8');
      const a = text.indexOf(README_START);
      const b = text.indexOf(README_END);
      if (a >= 0 && b > a) {
        fs.writeFileSync(readme, `${text.slice(0, a + README_START.length)}\n\n${md}\n\n${text.slice(b)}`);
      }
    }
    process.stdout.write('Wrote bench/results/latest.json, bench/results/latest.md and the results in bench/README.md\n');
  }
  if (failures.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
