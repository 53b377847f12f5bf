/** Options of {@link DataBufferHealthIndicator.checkBuffers}. */
export interface DataBufferHealthCheckOptions {
  /** Buffers to check; every registered buffer when omitted. */
  buffers?: string[];
  /** A buffer holding (pending + in flight) at least this share of its capacity is down. In (0, 1]; default 0.9. */
  maxFillRatio?: number;
}

/** What the indicator reports for one buffer. Counters only: never item contents. */
export interface DataBufferHealthDetails {
  pending: number;
  inFlight: number;
  capacity: number;
  failed: number;
  dropped: number;
  lastFlushAt: number | null;
}
