import type { BufferLogger, BufferScheduler, TimerHandle } from './buffer-scheduler.interface';

/** Where a scheduler keeps its named lane timers; `delete` also cancels the timer. */
export interface LaneTimerStore {
  get(name: string): unknown;
  add(name: string, timer: NodeJS.Timeout): void;
  delete(name: string): void;
}

/** Lane timers in a private Map. */
class MapLaneTimerStore implements LaneTimerStore {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  get(name: string): unknown {
    return this.timers.get(name);
  }

  add(name: string, timer: NodeJS.Timeout): void {
    this.timers.set(name, timer);
  }

  delete(name: string): void {
    const timer = this.timers.get(name);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.timers.delete(name);
  }
}

/**
 * Plain Node timers, for buffers used outside Nest (the Nest module keeps lane timers in
 * `SchedulerRegistry` instead). Lane timers keep the process alive while items wait, so they
 * are not lost on a natural exit, and so do retry waits and the shutdown budget; the other
 * `setTimeout` timers do not.
 */
export class DefaultBufferScheduler implements BufferScheduler {
  constructor(private readonly laneTimers: LaneTimerStore = new MapLaneTimerStore()) {}

  now(): number {
    return Date.now();
  }

  setLaneTimer(name: string, ms: number, callback: () => void): void {
    this.laneTimers.delete(name);
    const timer = setTimeout(() => {
      if (this.laneTimers.get(name) === timer) this.laneTimers.delete(name);
      callback();
    }, ms);
    this.laneTimers.add(name, timer);
  }

  clearLaneTimer(name: string): void {
    this.laneTimers.delete(name);
  }

  setTimeout(ms: number, callback: () => void, keepAlive = false): TimerHandle {
    const timer = setTimeout(callback, ms);
    if (!keepAlive) timer.unref();
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
  }
}

/** Reports through process warnings, for buffers used outside Nest without a logger. */
export const processWarningLogger: BufferLogger = {
  error: (message) => process.emitWarning(message, 'DataBufferError'),
  warn: (message) => process.emitWarning(message, 'DataBufferWarning'),
};
