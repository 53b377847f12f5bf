/** A snapshot of a buffer's counters. Always: inserted = flushed + failed + dropped + drained + merged + pending + inFlight. */
export interface BufferStats {
  name: string;
  partitions: number;
  capacity: number;
  /** Items not yet handed to a handler: in open batches and in sealed batches waiting for their lane. */
  pending: number;
  /** Items of the batches whose handler attempt is running or waits for a retry (at most one batch per lane). */
  inFlight: number;
  /** Keys (coalesce keys on a coalescing buffer) with pending items. */
  keys: number;
  /** Items accepted by insert, insertMany or commit (dropped ones included). */
  inserted: number;
  /** Items flushed successfully. */
  flushed: number;
  /** Items whose batch ended in failure (`@OnFlushError`). */
  failed: number;
  /** Items dropped by the overflow policy. */
  dropped: number;
  /** Items removed by `drain()`. */
  drained: number;
  /** Items merged into a pending value of the same coalesce key (0 unless coalescing). */
  merged: number;
  /** Successful handler calls. */
  flushes: number;
  /** Failed attempts that were retried. */
  retries: number;
  /** When the last successful flush ended (epoch ms). */
  lastFlushAt: number | null;
  /** The error of the last items that ended in failure. */
  lastError: { message: string; at: number } | null;
}
