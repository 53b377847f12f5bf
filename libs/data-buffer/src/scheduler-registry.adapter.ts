import { Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DefaultBufferScheduler } from './engine/default-scheduler';

/**
 * Lane timers as named timeouts in `@nestjs/schedule`'s `SchedulerRegistry` (the app's own
 * when it imports `ScheduleModule`), at most one per lane; retry waits and timeouts stay plain timers.
 */
@Injectable()
export class SchedulerRegistryAdapter extends DefaultBufferScheduler {
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
