import { Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DefaultBufferScheduler } from './engine/default-scheduler';

/**
 * The `BufferScheduler` of the buffers the module creates: lane timers are named timeouts in
 * `SchedulerRegistry` (see `schedulerRegistryProvider`), at most one per lane. Retry waits, flush
 * timeouts and the shutdown budget stay plain timers, so `ScheduleModule` clearing its registry
 * in its `beforeApplicationShutdown` does not cancel them.
 */
@Injectable()
export class LaneTimerScheduler extends DefaultBufferScheduler {
  constructor(registry: SchedulerRegistry) {
    super({
      get: (name) => (registry.doesExist('timeout', name) ? registry.getTimeout(name) : undefined),
      add: (name, timer) => registry.addTimeout(name, timer),
      delete: (name) => {
        if (registry.doesExist('timeout', name)) registry.deleteTimeout(name);
      },
    });
  }
}
