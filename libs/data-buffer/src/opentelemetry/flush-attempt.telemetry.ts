import diagnosticsChannel from 'node:diagnostics_channel';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Attributes, Meter, Span, Tracer } from '@opentelemetry/api';
import { FLUSH_CHANNEL_NAME } from '../engine';
import type { FlushTraceContext } from '../engine';
import {
  ATTR_BATCH_ID,
  ATTR_BATCH_SIZE,
  ATTR_BUFFER_NAME,
  ATTR_ERROR_TYPE,
  ATTR_FLUSH_ATTEMPT,
  ATTR_FLUSH_OUTCOME,
  ATTR_FLUSH_REASON,
  ATTR_FLUSH_REJECTED_ITEMS,
  ATTR_FLUSH_RETRY_ITEMS,
  ATTR_PARTITION,
  FLUSH_OUTCOME_FAILURE,
  FLUSH_OUTCOME_PARTIAL,
  FLUSH_OUTCOME_SUCCESS,
  METRIC_FLUSH_ATTEMPTS,
  METRIC_FLUSH_BATCH_SIZE,
  METRIC_FLUSH_DURATION,
} from './semantic-conventions';

/**
 * What the tracing channel hands its subscribers: the engine's trace context, plus what
 * `tracePromise` adds (`error`) and, for an attempt that returned an outcome, its counts.
 */
type TracedAttempt = FlushTraceContext & { error?: unknown; retry?: number; reject?: number };

/** One attempt between its `start` and the event that settles it. */
interface OpenAttempt {
  startedAt: number;
  span: Span;
  failed: boolean;
}

/** Seconds, for flush durations: from 5 ms to the default flushTimeout (60 s). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60];
/** Items per attempt, up to ten times the default maxSize. */
const SIZE_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/**
 * Subscribes to the `nestjs-data-buffer:flush` tracing channel and turns every attempt of the
 * named buffers into a span and into the flush-duration and batch-size histograms and the
 * attempts-by-outcome counter. Returns what unsubscribes.
 *
 * The events of one attempt, as `tracePromise` publishes them: `start`, `end` (the handler
 * returned its promise), then `asyncStart` and `asyncEnd` when it settled, with `error` just
 * before them when it failed. An attempt is settled at `asyncEnd`, or at `end` after an
 * `error` (a synchronous throw, which publishes no async events).
 */
export function traceFlushAttempts(meter: Meter, tracer: Tracer, bufferNames: ReadonlySet<string>): () => void {
  const duration = meter.createHistogram(METRIC_FLUSH_DURATION, {
    description: 'Duration of a flush attempt, from the handler call until it settled.',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const batchSize = meter.createHistogram(METRIC_FLUSH_BATCH_SIZE, {
    description: 'Items handed to a flush attempt.',
    unit: '{item}',
    advice: { explicitBucketBoundaries: SIZE_BUCKETS },
  });
  const attempts = meter.createCounter(METRIC_FLUSH_ATTEMPTS, { description: 'Flush attempts by outcome.', unit: '{attempt}' });
  const open = new WeakMap<object, OpenAttempt>();

  const settle = (ctx: TracedAttempt, attempt: OpenAttempt): void => {
    open.delete(ctx);
    const seconds = (performance.now() - attempt.startedAt) / 1000;
    const partial = (ctx.retry ?? 0) + (ctx.reject ?? 0) > 0;
    const outcome = attempt.failed ? FLUSH_OUTCOME_FAILURE : partial ? FLUSH_OUTCOME_PARTIAL : FLUSH_OUTCOME_SUCCESS;
    const attributes: Attributes = { [ATTR_BUFFER_NAME]: ctx.buffer, [ATTR_FLUSH_REASON]: ctx.reason, [ATTR_FLUSH_OUTCOME]: outcome };
    const { span } = attempt;
    span.setAttribute(ATTR_FLUSH_OUTCOME, outcome);
    if (ctx.retry !== undefined) span.setAttribute(ATTR_FLUSH_RETRY_ITEMS, ctx.retry);
    if (ctx.reject !== undefined) span.setAttribute(ATTR_FLUSH_REJECTED_ITEMS, ctx.reject);
    if (attempt.failed) {
      const error = ctx.error;
      attributes[ATTR_ERROR_TYPE] = errorType(error);
      span.setAttribute(ATTR_ERROR_TYPE, attributes[ATTR_ERROR_TYPE]);
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    }
    span.end();
    duration.record(seconds, attributes);
    batchSize.record(ctx.size, attributes);
    attempts.add(1, attributes);
  };

  const subscribers = {
    start(message: unknown): void {
      const ctx = message as TracedAttempt;
      if (!bufferNames.has(ctx.buffer)) return;
      // Root spans: a batch gathers the items of many requests, so none of them is its parent.
      const span = tracer.startSpan(`flush ${ctx.buffer}`, {
        kind: SpanKind.INTERNAL,
        root: true,
        attributes: {
          [ATTR_BUFFER_NAME]: ctx.buffer,
          [ATTR_PARTITION]: ctx.partition,
          [ATTR_BATCH_ID]: ctx.batchId,
          [ATTR_BATCH_SIZE]: ctx.size,
          [ATTR_FLUSH_ATTEMPT]: ctx.attempt,
          [ATTR_FLUSH_REASON]: ctx.reason,
        },
      });
      open.set(ctx, { startedAt: performance.now(), span, failed: false });
    },
    end(message: unknown): void {
      const attempt = open.get(message as object);
      if (attempt?.failed) settle(message as TracedAttempt, attempt);
    },
    asyncStart(): void {},
    asyncEnd(message: unknown): void {
      const attempt = open.get(message as object);
      if (attempt !== undefined) settle(message as TracedAttempt, attempt);
    },
    error(message: unknown): void {
      const attempt = open.get(message as object);
      if (attempt !== undefined) attempt.failed = true;
    },
  };
  const channel = diagnosticsChannel.tracingChannel(FLUSH_CHANNEL_NAME);
  channel.subscribe(subscribers);
  return () => channel.unsubscribe(subscribers);
}

/** The `error.type` of a failed attempt: the error's class name (`FlushTimeoutError`, ...), or `_OTHER`. */
function errorType(error: unknown): string {
  return error instanceof Error && error.name ? error.name : '_OTHER';
}
