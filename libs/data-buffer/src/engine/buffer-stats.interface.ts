/** A snapshot of a buffer's counters. Always: inserted = flushed + failed + dropped + drained + pending + inFlight. */
export interface BufferStats {
  name: string;
  partitions: number;
  capacity: number;
  /** Items in open batches, not yet handed to a flush. */
  pending: number;
  /** Items in batches handed to a flush (queued on their lane or running), not yet settled. */
  inFlight: number;
  /** Keys with pending items. */
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
  /** Successful handler calls. */
  flushes: number;
  /** Failed attempts that were retried. */
  retries: number;
  /** When the last successful flush ended (epoch ms). */
  lastFlushAt: number | null;
  /** The error of the last batch that ended in failure. */
  lastError: { message: string; at: number } | null;
}
