import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DataBufferRegistry } from 'nestjs-data-buffer';
import { Database } from './database';
import { OWNS_DATABASE } from './database.providers';

/**
 * Closes the database last. Nest runs the shutdown hooks of the app's modules before those of
 * global modules, so this hook may run before the buffers' own graceful flush: it flushes every
 * buffer first (the HTTP server is already closed, nothing can insert any more), then closes.
 */
@Injectable()
export class DatabaseShutdownService implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    private readonly db: Database,
    private readonly registry: DataBufferRegistry,
    @Inject(OWNS_DATABASE) private readonly ownsDatabase: boolean,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    const reports = await Promise.all(this.registry.getAll().map((buffer) => buffer.flush()));
    const items = reports.reduce((sum, report) => sum + report.items, 0);
    if (items > 0) this.logger.log(`flushed ${items} buffered item(s) before closing the database`);
    if (this.ownsDatabase) {
      await this.db.close();
      this.logger.log('closed');
    }
  }
}
