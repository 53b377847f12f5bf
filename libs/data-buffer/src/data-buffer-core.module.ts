import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataBufferMetadataAccessor } from './data-buffer-metadata.accessor';
import { DataBufferExplorer } from './data-buffer.explorer';
import { DataBufferOrchestrator } from './data-buffer.orchestrator';
import { DataBufferRegistry } from './data-buffer.registry';
import { DataBufferSchedulerRegistry } from './data-buffer-scheduler.registry';
import { SchedulerRegistryAdapter } from './scheduler-registry.adapter';

/** The core every `forFeature` imports: registry, discovery of handlers, timers and lifecycle. */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    // Not ScheduleModule.forRoot(): a second ScheduleModule would mean a second registry and
    // a second explorer. This registry defers to the app's own when the app has one.
    { provide: SchedulerRegistry, useClass: DataBufferSchedulerRegistry },
    SchedulerRegistryAdapter,
    DataBufferRegistry,
    DataBufferMetadataAccessor,
    DataBufferExplorer,
    DataBufferOrchestrator,
  ],
  exports: [DataBufferRegistry, SchedulerRegistry],
})
export class DataBufferCoreModule {}
