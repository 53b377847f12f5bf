import { Controller, Get, Inject } from '@nestjs/common';
import { DataBufferRegistry, type BufferStats } from 'nestjs-data-buffer';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';
import { Database, type DatabaseCounters } from '../database/database';

/** Body of `GET /stats`. */
export interface StatsResponse {
  mode: 'buffered' | 'direct';
  buffers: Record<string, BufferStats>;
  database: { kind: Database['kind'] } & DatabaseCounters;
}

@Controller('stats')
export class StatsController {
  constructor(
    private readonly registry: DataBufferRegistry,
    private readonly db: Database,
    @Inject(EXAMPLE_CONFIG) private readonly config: ExampleConfig,
  ) {}

  /** Every buffer's `stats()` and the database's statement counters. */
  @Get()
  stats(): StatsResponse {
    const buffers: Record<string, BufferStats> = {};
    for (const buffer of this.registry.getAll()) buffers[buffer.name] = buffer.stats();
    return {
      mode: this.config.directInsert ? 'direct' : 'buffered',
      buffers,
      database: { kind: this.db.kind, ...this.db.counters() },
    };
  }
}
