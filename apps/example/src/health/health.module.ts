import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DataBufferHealthIndicator } from 'nestjs-data-buffer/terminus';
import { DatabaseHealthIndicator } from './database.health';
import { HealthController } from './health.controller';

/** `GET /health`: the buffers' indicator plus a database ping. */
@Module({
  imports: [TerminusModule],
  controllers: [HealthController],
  providers: [DataBufferHealthIndicator, DatabaseHealthIndicator],
})
export class HealthModule {}
