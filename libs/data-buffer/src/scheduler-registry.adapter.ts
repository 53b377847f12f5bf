import { Injectable } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { BufferScheduler, TimerHandle } from './engine';

/**
 * Lane timers as named timeouts in `@nestjs/schedule`'s `SchedulerRegistry` (the app's own
 * when it imports `ScheduleModule`), at most one per lane; retry waits and timeouts stay plain timers.
 */
@Injectable()
export class SchedulerRegistryAdapter implements BufferScheduler {
  constructor(private readonly registry: SchedulerRegistry) {}

  now(): number {
    return Date.now();
  }

  setLaneTimer(name: string, ms: number, callback: () => void): void {
    const registry = this.registry;
    if (registry.doesExist('timeout', name)) registry.deleteTimeout(name);
    const timer = setTimeout(() => {
      if (registry.doesExist('timeout', name) && registry.getTimeout(name) === timer) registry.deleteTimeout(name);
      callback();
    }, ms);
    registry.addTimeout(name, timer);
  }

  clearLaneTimer(name: string): void {
    const registry = this.registry;
    if (registry.doesExist('timeout', name)) registry.deleteTimeout(name);
  }

  setTimeout(ms: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}
