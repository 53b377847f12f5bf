import { metrics, trace } from '@opentelemetry/api';
import type { DataBuffer } from '../engine';
import { observeBufferStats } from './buffer-stats.metrics';
import type { DataBufferOpenTelemetryOptions } from './data-buffer-opentelemetry-options.interface';
import { traceFlushAttempts } from './flush-attempt.telemetry';

/** The instrumentation scope of every metric and span of the library. */
export const INSTRUMENTATION_SCOPE = 'nestjs-data-buffer';

/** What `instrumentDataBuffers` set up; `disable()` undoes it. */
export interface DataBufferInstrumentation {
  /** Stops observing the buffers and unsubscribes from the flush tracing channel. Idempotent. */
  disable(): void;
}

/**
 * Metrics and spans for `buffers` without Nest: observable gauges and counters from their
 * `stats()`, and a span, histograms and a counter for every flush attempt (from the
 * `nestjs-data-buffer:flush` tracing channel). Call `disable()` when the buffers are closed.
 */
export function instrumentDataBuffers(
  buffers: Iterable<DataBuffer<any>>,
  options: DataBufferOpenTelemetryOptions = {},
): DataBufferInstrumentation {
  const list = [...buffers];
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
  const undo = [observeBufferStats(meter, list), traceFlushAttempts(meter, tracer, new Set(list.map((b) => b.name)))];
  return {
    disable() {
      for (const step of undo.splice(0)) step();
    },
  };
}
