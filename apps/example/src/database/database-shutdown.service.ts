import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Database } from './database';
import { OWNS_DATABASE } from './database.providers';

/**
 * Closes the database when the app shuts down. Nothing here waits for the buffers: they hand
 * every pending batch over in beforeApplicationShutdown, before any onApplicationShutdown runs,
 * so the order of this hook and the buffers' own does not matter.
 */
@Injectable()
export class DatabaseShutdownService implements OnApplicationShutdown {
  private readonly logger = new Logger('Database');

  constructor(
    private readonly db: Database,
    @Inject(OWNS_DATABASE) private readonly ownsDatabase: boolean,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.ownsDatabase) {
      await this.db.close();
      this.logger.log('closed');
    }
  }
}
