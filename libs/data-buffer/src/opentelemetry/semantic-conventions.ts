/**
 * Names of the metrics, span attributes and values that `nestjs-data-buffer/opentelemetry`
 * records, in OpenTelemetry's semantic-convention style: a `data_buffer.` namespace, dotted
 * lowercase names, units in UCUM (`s`, `{item}`, `{attempt}`).
 */

/** Items pending (in open batches, or sealed and waiting for their lane); observable gauge, `{item}`. */
export const METRIC_ITEMS_PENDING = 'data_buffer.items.pending';
/** Items handed to a flush and not settled yet; observable gauge, `{item}`. */
export const METRIC_ITEMS_IN_FLIGHT = 'data_buffer.items.in_flight';
/** The most items the buffer holds (`capacity`); observable gauge, `{item}`. */
export const METRIC_CAPACITY = 'data_buffer.capacity';
/** Items accepted by insert, insertMany or commit; observable counter, `{item}`. */
export const METRIC_ITEMS_INSERTED = 'data_buffer.items.inserted';
/** Items flushed successfully; observable counter, `{item}`. */
export const METRIC_ITEMS_FLUSHED = 'data_buffer.items.flushed';
/** Items that ended in `@OnFlushError`; observable counter, `{item}`. */
export const METRIC_ITEMS_FAILED = 'data_buffer.items.failed';
/** Items dropped by the overflow policy; observable counter, `{item}`. */
export const METRIC_ITEMS_DROPPED = 'data_buffer.items.dropped';
/** Items removed by `drain()`; observable counter, `{item}`. */
export const METRIC_ITEMS_DRAINED = 'data_buffer.items.drained';
/** Items merged into a pending value of a coalescing buffer; observable counter, `{item}`. */
export const METRIC_ITEMS_MERGED = 'data_buffer.items.merged';
/** Failed attempts that were retried (`stats().retries`); observable counter, `{attempt}`. */
export const METRIC_FLUSH_RETRIES = 'data_buffer.flush.retries';
/** Flush attempts by outcome (`data_buffer.flush.outcome`); counter, `{attempt}`. */
export const METRIC_FLUSH_ATTEMPTS = 'data_buffer.flush.attempts';
/** How long a flush attempt took, from the handler call until it settled; histogram, `s`. */
export const METRIC_FLUSH_DURATION = 'data_buffer.flush.duration';
/** Items handed to a flush attempt; histogram, `{item}`. */
export const METRIC_FLUSH_BATCH_SIZE = 'data_buffer.flush.batch.size';

/** The buffer's name (every metric and span). */
export const ATTR_BUFFER_NAME = 'data_buffer.name';
/** The lane of the batch, `0 .. partitions-1` (spans). */
export const ATTR_PARTITION = 'data_buffer.partition';
/** The batch's id, the same for every attempt of the batch (spans). */
export const ATTR_BATCH_ID = 'data_buffer.batch.id';
/** Items handed to the attempt (spans). */
export const ATTR_BATCH_SIZE = 'data_buffer.batch.size';
/** The 1-based attempt number (spans). */
export const ATTR_FLUSH_ATTEMPT = 'data_buffer.flush.attempt';
/** What triggered the flush: `size`, `interval`, `manual`, `shutdown` or `commit` (spans and flush metrics). */
export const ATTR_FLUSH_REASON = 'data_buffer.flush.reason';
/** How the attempt ended (spans and flush metrics): see `FLUSH_OUTCOME_*`. */
export const ATTR_FLUSH_OUTCOME = 'data_buffer.flush.outcome';
/** Items of the attempt that the handler's outcome asked to write again (spans, when the handler returned an outcome). */
export const ATTR_FLUSH_RETRY_ITEMS = 'data_buffer.flush.retry_items';
/** Items of the attempt that the handler's outcome rejected (spans, when the handler returned an outcome). */
export const ATTR_FLUSH_REJECTED_ITEMS = 'data_buffer.flush.rejected_items';
/** The class of the error of a failed attempt (the general `error.type` attribute). */
export const ATTR_ERROR_TYPE = 'error.type';

/** Every item of the attempt was written. */
export const FLUSH_OUTCOME_SUCCESS = 'success';
/** The handler returned an outcome that retries or rejects some items. */
export const FLUSH_OUTCOME_PARTIAL = 'partial';
/** The attempt threw, rejected or timed out. */
export const FLUSH_OUTCOME_FAILURE = 'failure';
