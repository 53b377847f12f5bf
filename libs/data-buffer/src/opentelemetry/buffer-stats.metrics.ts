import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import type { BufferStats, DataBuffer } from '../engine';
import {
  ATTR_BUFFER_NAME,
  METRIC_CAPACITY,
  METRIC_FLUSH_RETRIES,
  METRIC_ITEMS_DRAINED,
  METRIC_ITEMS_DROPPED,
  METRIC_ITEMS_FAILED,
  METRIC_ITEMS_FLUSHED,
  METRIC_ITEMS_IN_FLIGHT,
  METRIC_ITEMS_INSERTED,
  METRIC_ITEMS_MERGED,
  METRIC_ITEMS_PENDING,
} from './semantic-conventions';

/** `merged` comes with coalescing buffers; a buffer without it has merged nothing. */
type StatsWithMerged = BufferStats & { merged?: number };

/**
 * Observable gauges (pending, in flight, capacity) and cumulative observable counters (the
 * item counters and retries of `stats()`), read from one `stats()` snapshot per buffer at
 * every collection. Returns what removes the callback.
 */
export function observeBufferStats(meter: Meter, buffers: readonly DataBuffer<any>[]): () => void {
  const gauge = (name: string, description: string) => meter.createObservableGauge(name, { description, unit: '{item}' });
  const counter = (name: string, description: string, unit = '{item}') => meter.createObservableCounter(name, { description, unit });
  const pending = gauge(METRIC_ITEMS_PENDING, 'Items the buffer holds that are not handed to a flush yet.');
  const inFlight = gauge(METRIC_ITEMS_IN_FLIGHT, 'Items handed to a flush that have not settled yet.');
  const capacity = gauge(METRIC_CAPACITY, 'The most items the buffer holds, pending and in flight together.');
  const counters: [Observable, (stats: StatsWithMerged) => number][] = [
    [counter(METRIC_ITEMS_INSERTED, 'Items accepted by insert, insertMany or commit.'), (s) => s.inserted],
    [counter(METRIC_ITEMS_FLUSHED, 'Items flushed successfully.'), (s) => s.flushed],
    [counter(METRIC_ITEMS_FAILED, 'Items that ended in the flush error handler.'), (s) => s.failed],
    [counter(METRIC_ITEMS_DROPPED, 'Items dropped by the overflow policy.'), (s) => s.dropped],
    [counter(METRIC_ITEMS_DRAINED, 'Items removed by drain().'), (s) => s.drained],
    [counter(METRIC_ITEMS_MERGED, 'Items merged into a pending value of a coalescing buffer.'), (s) => s.merged ?? 0],
    [counter(METRIC_FLUSH_RETRIES, 'Failed flush attempts that were retried.', '{attempt}'), (s) => s.retries],
  ];
  const observables = [pending, inFlight, capacity, ...counters.map(([instrument]) => instrument)];
  const callback: BatchObservableCallback = (result) => {
    for (const buffer of buffers) {
      const stats: StatsWithMerged = buffer.stats();
      const attributes: Attributes = { [ATTR_BUFFER_NAME]: buffer.name };
      result.observe(pending, stats.pending, attributes);
      result.observe(inFlight, stats.inFlight, attributes);
      result.observe(capacity, stats.capacity, attributes);
      for (const [instrument, read] of counters) result.observe(instrument, read(stats), attributes);
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
