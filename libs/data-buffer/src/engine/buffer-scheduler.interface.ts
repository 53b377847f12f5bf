/** A timer handle returned by a `BufferScheduler`. */
export type TimerHandle = unknown;

/**
 * Where the engine gets time from. Lane timers are named (`name`) so an adapter can keep
 * them in a registry; `delay` timers (retry waits, timeouts) are anonymous and short-lived.
 */
export interface BufferScheduler {
  /** Current time in epoch ms. */
  now(): number;
  /** Runs `callback` once after `ms`; a timer of the same name is replaced. */
  setLaneTimer(name: string, ms: number, callback: () => void): void;
  /** Cancels the named lane timer if it is still there. */
  clearLaneTimer(name: string): void;
  /**
   * Runs `callback` once after `ms`. It does not keep the process alive on its own, unless
   * `keepAlive` is set: the engine sets it for a retry wait, which holds a batch's items.
   */
  setTimeout(ms: number, callback: () => void, keepAlive?: boolean): TimerHandle;
  /** Cancels a timer made by `setTimeout`. */
  clearTimeout(handle: TimerHandle): void;
}

/** The logger the engine reports lost items and handler errors to. */
export interface BufferLogger {
  error(message: string): void;
  warn(message: string): void;
}
