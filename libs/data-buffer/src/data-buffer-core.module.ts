import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DataBufferMetadataAccessor } from './data-buffer-metadata.accessor';
import { DataBufferExplorer } from './data-buffer.explorer';
import { DataBufferOrchestrator } from './data-buffer.orchestrator';
import { DataBufferRegistry } from './data-buffer.registry';
import { LaneTimerScheduler } from './lane-timer.scheduler';
import { AppSchedulerRegistryModule, schedulerRegistryProvider } from './scheduler-registry.provider';

/** The core every `forFeature` imports: registry, discovery of handlers, timers and lifecycle. */
@Global()
@Module({
  // Not ScheduleModule.forRoot(): a second ScheduleModule would mean a second registry and a
  // second explorer running the app's @Cron jobs twice. SchedulerRegistry stays unexported, so
  // AppSchedulerRegistryModule can only find the app's own.
  imports: [DiscoveryModule, AppSchedulerRegistryModule],
  providers: [
    schedulerRegistryProvider,
    LaneTimerScheduler,
    DataBufferRegistry,
    DataBufferMetadataAccessor,
    DataBufferExplorer,
    DataBufferOrchestrator,
  ],
  exports: [DataBufferRegistry],
})
export class DataBufferCoreModule {}
