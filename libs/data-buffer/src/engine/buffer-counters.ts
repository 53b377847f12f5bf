import type { BufferStats } from './buffer-stats.interface';
import { messageOf } from './errors';

/**
 * The buffer's counters, changed only by the rooms that move items, and the balance rule: every
 * item accepted is in exactly one place, so
 * `inserted === flushed + failed + dropped + drained + merged + pending + inFlight`.
 */
export class BufferCounters {
  /** Items not yet handed to a handler: in open batches and in sealed batches waiting for their lane. */
  pending = 0;
  /** The part of `pending` in sealed batches waiting for their lane. */
  queued = 0;
  /** Items of running batches (an attempt running, or waiting for a retry) not yet settled. */
  inFlight = 0;
  flushed = 0;
  failed = 0;
  dropped = 0;
  drained = 0;
  merged = 0;
  flushes = 0;
  retries = 0;
  lastFlushAt: number | null = null;
  lastError: { message: string; at: number } | null = null;
  /** True while the most recent settlement of items was a failure. */
  lastFailed = false;

  /** Items held now, pending and in flight: what `capacity` bounds. */
  get held(): number {
    return this.pending + this.inFlight;
  }

  /** `n` items of a running batch were written. */
  written(n: number, now: number): void {
    this.inFlight -= n;
    this.flushed += n;
    this.flushes++;
    this.lastFlushAt = now;
    this.lastFailed = false;
  }

  /** `n` items of a running batch ended in failure with `error`. */
  lost(n: number, error: unknown, now: number): void {
    this.inFlight -= n;
    this.failed += n;
    this.lastError = { message: messageOf(error), at: now };
    this.lastFailed = true;
  }

  /** `n` pending items left through `drain()` (`queued` of them from sealed batches). */
  drainedOut(n: number, queued: number): void {
    this.pending -= n;
    this.queued -= queued;
    this.drained += n;
  }

  /** `n` pending items of a sealed batch were handed to their lane's handler. */
  handedOver(n: number): void {
    this.pending -= n;
    this.queued -= n;
    this.inFlight += n;
  }

  /** A snapshot for `stats()`. */
  snapshot(name: string, partitions: number, capacity: number, keys: number): BufferStats {
    return {
      name,
      partitions,
      capacity,
      pending: this.pending,
      inFlight: this.inFlight,
      keys,
      inserted: this.flushed + this.failed + this.dropped + this.drained + this.merged + this.pending + this.inFlight,
      flushed: this.flushed,
      failed: this.failed,
      dropped: this.dropped,
      drained: this.drained,
      merged: this.merged,
      flushes: this.flushes,
      retries: this.retries,
      lastFlushAt: this.lastFlushAt,
      lastError: this.lastError === null ? null : { ...this.lastError },
    };
  }
}
