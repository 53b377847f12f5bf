import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { DataBufferRegistry } from 'nestjs-data-buffer';
import { Database } from './database';
import { OWNS_DATABASE } from './database.providers';

/**
 * Closes the database after the buffers' graceful flush. Nest runs the shutdown hooks of the
 * app's modules before those of global modules such as the buffers' own, so this hook runs that
 * flush first (`closeAll()` is the same, idempotent flush) and only then closes the connection.
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
    await this.registry.closeAll();
    if (this.ownsDatabase) {
      await this.db.close();
      this.logger.log('closed');
    }
  }
}
