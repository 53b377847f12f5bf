import type { BufferScheduler } from './buffer-scheduler.interface';
import type { Lane } from './lane';

/**
 * The `flushTimeout` of a lane's running attempt. Making and cancelling a timer for every
 * batch costs more than the rest of a flush, so the lane's watchdog timer outlives attempts:
 * armed no later than the deadline, it re-arms itself for the rest of the time when it fires
 * early, and fires into nothing (and stays off) when the lane is idle.
 */
export class FlushWatchdog<T> {
  constructor(private readonly scheduler: BufferScheduler) {}

  attach(lane: Lane<T>): void {
    lane.onWatchdog = () => this.fire(lane);
  }

  /** Sets the running attempt's deadline, `timeout` ms from now; `lane.onDeadline` runs then. */
  arm(lane: Lane<T>, timeout: number): void {
    lane.deadlineAt = this.scheduler.now() + timeout;
    if (lane.watchdog !== null) {
      if (lane.watchdogAt <= lane.deadlineAt) return;
      this.scheduler.clearTimeout(lane.watchdog);
    }
    lane.watchdogAt = lane.deadlineAt;
    lane.watchdog = this.scheduler.setTimeout(timeout, lane.onWatchdog);
  }

  stop(lane: Lane<T>): void {
    lane.onDeadline = null;
    if (lane.watchdog === null) return;
    this.scheduler.clearTimeout(lane.watchdog);
    lane.watchdog = null;
  }

  private fire(lane: Lane<T>): void {
    lane.watchdog = null;
    if (lane.onDeadline === null) return;
    const now = this.scheduler.now();
    if (lane.deadlineAt > now) {
      lane.watchdogAt = lane.deadlineAt;
      lane.watchdog = this.scheduler.setTimeout(lane.deadlineAt - now, lane.onWatchdog);
      return;
    }
    const onDeadline = lane.onDeadline;
    lane.onDeadline = null;
    onDeadline();
  }
}
