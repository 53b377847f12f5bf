import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * A batch waiting for its retry, or for the shutdown budget to run out, is data the process still
 * holds: those timers must keep a plain Node process alive, as lane timers do, or the process ends
 * in the wait and the batch is lost without reaching a handler. Run in a child process: only a
 * real event loop can show it.
 */
const run = promisify(execFile);
const engine = resolve(__dirname, 'index.ts');
const inChild = (script: string) =>
  run(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], { cwd: resolve(__dirname, '../../../..'), timeout: 15_000 });

const retryScript = `
const { DataBuffer } = require(${JSON.stringify(engine)});
let attempts = 0;
const buffer = new DataBuffer({ name: 'alive', retries: 1, retryDelay: 300, interval: 50 }, {
  onFlush: (items) => {
    attempts++;
    if (attempts === 1) throw new Error('first attempt fails');
    process.stdout.write('written ' + items.join(',') + ' on attempt ' + attempts + '\\n');
  },
  onFlushError: () => process.stdout.write('failed\\n'),
});
buffer.start();
buffer.insert(1);
buffer.insert(2); // the interval fires, the first attempt fails: only the retry wait is left
`;

// The handler never settles and holds nothing that keeps the process alive (no socket, no timer).
const budgetScript = `
const { DataBuffer } = require(${JSON.stringify(engine)});
const buffer = new DataBuffer({ name: 'stuck', interval: 60000, flushTimeout: 60000 }, {
  onFlush: () => new Promise(() => undefined),
  onFlushError: (error, items) => process.stdout.write(error.name + ' for ' + items.join(',') + '\\n'),
});
buffer.start();
buffer.insert(1);
buffer.insert(2);
buffer.close(300).then(() => process.stdout.write('closed\\n'));
`;

describe('a retry wait', () => {
  it('keeps the process alive until the retry ran', async () => {
    const { stdout } = await inChild(retryScript);
    expect(stdout).toBe('written 1,2 on attempt 2\n');
  }, 30_000);
});

describe('the shutdown budget', () => {
  it('keeps the process alive until it ran out and the stuck items reached the error handler', async () => {
    const { stdout } = await inChild(budgetScript);
    expect(stdout).toBe('ShutdownTimeoutError for 1,2\nclosed\n');
  }, 30_000);
});
