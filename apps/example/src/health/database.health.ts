import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { Database } from '../database/database';

/** Up when `SELECT 1` answers within the timeout. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly db: Database,
    private readonly healthIndicatorService: HealthIndicatorService,
  ) {}

  async pingCheck<const Key extends string>(key: Key, timeoutMs = 1000): Promise<HealthIndicatorResult<Key>> {
    const indicator = this.healthIndicatorService.check(key);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.db.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      return indicator.up({ kind: this.db.kind });
    } catch (error) {
      return indicator.down({ kind: this.db.kind, message: error instanceof Error ? error.message : String(error) });
    } finally {
      clearTimeout(timer);
    }
  }
}
