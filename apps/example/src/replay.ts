import 'reflect-metadata';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { loadConfig } from './config/example-config';
import { openDatabase } from './database/database.providers';
import { DeadLetterReplayer, type ReplayReport } from './dead-letter/dead-letter-replayer';
import { EventsRepository } from './events/events.repository';
import { PageViewsRepository } from './page-views/page-views.repository';

/**
 * `npm run replay`: re-inserts the dead-letter files of `$DATA_DIR/dead-letter` into the database the
 * app is configured with (same environment variables), through the app's repositories, moves them
 * into `dead-letter/replayed/` and prints what it did. Idempotent: running it twice adds nothing.
 * On PostgreSQL it may run while the app runs (the app starts a new dead-letter file for new
 * failures); the embedded PGlite database is one process's: stop the app first.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const replayer = new DeadLetterReplayer(join(config.dataDir, 'dead-letter'), new EventsRepository(db), new PageViewsRepository(db));
    print(await replayer.replay());
  } finally {
    await db.close();
  }
}

function print(report: ReplayReport): void {
  const buffers = Object.entries(report.buffers);
  if (buffers.length === 0) {
    process.stdout.write('nothing to replay\n');
    return;
  }
  for (const [buffer, c] of buffers) {
    process.stdout.write(`${buffer}: ${c.lines} read, ${c.stored} stored, ${c.alreadyStored} already stored, ${c.failed} failed\n`);
  }
  for (const file of report.files) process.stdout.write(`moved to ${file}\n`);
}

main().catch((error: unknown) => {
  Logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error), 'Replay');
  process.exit(1);
});
