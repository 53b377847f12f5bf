import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

/**
 * A batch waiting for its retry is data the process still holds: the retry wait must keep a
 * plain Node process alive, as lane timers do, or the process ends in the wait and the batch is
 * lost without reaching a handler. Run in a child process: only a real event loop can show it.
 */
const run = promisify(execFile);
const engine = resolve(__dirname, 'index.ts');
const script = `
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

describe('a retry wait', () => {
  it('keeps the process alive until the retry ran', async () => {
    const { stdout } = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
      cwd: resolve(__dirname, '../../../..'),
      timeout: 15_000,
    });
    expect(stdout).toBe('written 1,2 on attempt 2\n');
  }, 30_000);
});
