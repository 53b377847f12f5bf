import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { DataBufferHealthIndicator } from 'nestjs-data-buffer/terminus';
import { EXAMPLE_CONFIG, type ExampleConfig } from '../config/example-config';
import { DatabaseHealthIndicator } from './database.health';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly buffers: DataBufferHealthIndicator,
    private readonly database: DatabaseHealthIndicator,
    @Inject(EXAMPLE_CONFIG) private readonly config: ExampleConfig,
  ) {}

  /** 200 when every buffer and the database are up, 503 otherwise (terminus' format). */
  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.buffers.checkBuffers('buffers', { maxFillRatio: this.config.maxFillRatio }),
      () => this.database.pingCheck('database'),
    ]);
  }
}
