import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { DataBufferMetadataAccessor } from './data-buffer-metadata.accessor';
import { DataBufferExplorer } from './data-buffer.explorer';
import { DataBufferOrchestrator } from './data-buffer.orchestrator';
import { DataBufferRegistry } from './data-buffer.registry';
import { SchedulerRegistryAdapter } from './scheduler-registry.adapter';

/**
 * `SchedulerRegistry` for apps that do not import `ScheduleModule` themselves. Its explorer
 * is told to register nothing, so an app's own `@Cron`/`@Interval`/`@Timeout` jobs are never
 * registered twice when the app imports `ScheduleModule.forRoot()` as well.
 */
const SCHEDULE_FOR_BUFFERS = ScheduleModule.forRoot({ cronJobs: false, intervals: false, timeouts: false });

/** The core every `forFeature` imports: registry, discovery of handlers, timers and lifecycle. */
@Global()
@Module({
  imports: [DiscoveryModule, SCHEDULE_FOR_BUFFERS],
  providers: [
    SchedulerRegistryAdapter,
    DataBufferRegistry,
    DataBufferMetadataAccessor,
    DataBufferExplorer,
    DataBufferOrchestrator,
  ],
  exports: [DataBufferRegistry],
})
export class DataBufferCoreModule {}
