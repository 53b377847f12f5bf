import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FlushContext } from 'nestjs-data-buffer';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';

/** One line of a dead-letter file: an item that could not be stored, and why. */
export interface DeadLetterEntry<T = unknown> {
  failedAt: string;
  buffer: string;
  batchId: string;
  key?: string | number;
  attempts: number;
  reason: FlushContext['reason'];
  error: { name: string; message: string };
  item: T;
}

/**
 * Appends the items of a failed batch to `<dataDir>/dead-letter/<buffer>.ndjson`, one JSON line
 * per item, so that nothing is lost while the database is down and the items can be replayed.
 */
@Injectable()
export class DeadLetterService {
  private readonly logger = new Logger(DeadLetterService.name);
  private readonly dir: string;

  constructor(@Inject(EXAMPLE_CONFIG) config: ExampleConfig) {
    this.dir = join(config.dataDir, 'dead-letter');
  }

  /** The file that holds the dead letters of `buffer`. */
  fileOf(buffer: string): string {
    return join(this.dir, `${buffer}.ndjson`);
  }

  /**
   * Writes the batch, each item with the error; resolves once the lines are on disk (fsynced), so
   * a caller that acknowledges the items when this resolves (the broker path) loses none of them
   * to a power loss either.
   */
  async write<T>(error: unknown, items: readonly T[], ctx: FlushContext): Promise<void> {
    const failedAt = new Date().toISOString();
    const err = error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
    const lines = items
      .map((item) => {
        const entry: DeadLetterEntry<T> = {
          failedAt,
          buffer: ctx.buffer,
          batchId: ctx.batchId,
          key: ctx.key,
          attempts: ctx.attempt,
          reason: ctx.reason,
          error: err,
          item,
        };
        return JSON.stringify(entry) + '\n';
      })
      .join('');
    await mkdir(this.dir, { recursive: true });
    const file = await open(this.fileOf(ctx.buffer), 'a');
    try {
      await file.appendFile(lines, 'utf8');
      await file.datasync();
    } finally {
      await file.close();
    }
    this.logger.warn(
      `${items.length} item(s) of buffer "${ctx.buffer}" written to ${this.fileOf(ctx.buffer)} after ${ctx.attempt} attempt(s): ${err.message}`,
    );
  }
}
