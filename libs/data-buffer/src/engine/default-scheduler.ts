import type { BufferLogger, BufferScheduler, TimerHandle } from './buffer-scheduler.interface';

/**
 * Plain Node timers, for buffers used outside Nest. Lane timers keep the process alive
 * while items wait (so they are not lost on a natural exit); `setTimeout` timers do not.
 */
export class DefaultBufferScheduler implements BufferScheduler {
  private readonly laneTimers = new Map<string, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setLaneTimer(name: string, ms: number, callback: () => void): void {
    this.clearLaneTimer(name);
    const timer = setTimeout(() => {
      this.laneTimers.delete(name);
      callback();
    }, ms);
    this.laneTimers.set(name, timer);
  }

  clearLaneTimer(name: string): void {
    const timer = this.laneTimers.get(name);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.laneTimers.delete(name);
    }
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

/** Reports through process warnings, for buffers used outside Nest without a logger. */
export const processWarningLogger: BufferLogger = {
  error: (message) => process.emitWarning(message, 'DataBufferError'),
  warn: (message) => process.emitWarning(message, 'DataBufferWarning'),
};
