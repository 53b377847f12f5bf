import { DataBufferError } from './errors';
import { OUTCOME_REJECT_WITHOUT_ITEM, OUTCOME_UNKNOWN_ITEM } from './engine.messages';

/** What an `@OnFlush` handler may return to report a partial result; items are named by identity among the attempt's items. */
export interface FlushOutcome<T> {
  /** Items of this attempt to write again. */
  retry?: readonly T[];
  /** Items that can never be written, each with its reason. */
  reject?: ReadonlyArray<{ item: T; error: unknown }>;
}

/** The items of an attempt's outcome marked by index: 0 written, 1 retry, 2 rejected. */
export interface ParsedOutcome {
  marks: Uint8Array;
  /** `errors[i]` for a rejected item i. */
  errors: unknown[];
  retry: number;
  reject: number;
}

export const WRITTEN = 0;
export const RETRY = 1;
export const REJECT = 2;

/**
 * Reads a handler's return value: null when it is no outcome (every item was written), the
 * marks when it is one, a `DataBufferError` when it names an item that is not among `items`
 * (or once more than it occurs there), or a reject entry without an item.
 */
export function readOutcome<T>(buffer: string, result: unknown, items: readonly T[]): ParsedOutcome | null | DataBufferError {
  const retry = (result as FlushOutcome<T>).retry;
  const reject = (result as FlushOutcome<T>).reject;
  const retryList = Array.isArray(retry) ? retry : null;
  const rejectList = Array.isArray(reject) ? reject : null;
  if ((retryList === null || retryList.length === 0) && (rejectList === null || rejectList.length === 0)) return null;
  // Each object's occurrences, in batch order; each naming takes the next one.
  const places = new Map<unknown, number[]>();
  for (let i = items.length - 1; i >= 0; i--) {
    const at = places.get(items[i]);
    if (at === undefined) places.set(items[i], [i]);
    else at.push(i);
  }
  const marks = new Uint8Array(items.length);
  const errors: unknown[] = [];
  const parsed: ParsedOutcome = { marks, errors, retry: 0, reject: 0 };
  if (retryList !== null) {
    for (let k = 0; k < retryList.length; k++) {
      const index = places.get(retryList[k])?.pop();
      if (index === undefined) return new DataBufferError(OUTCOME_UNKNOWN_ITEM(buffer, 'retry', k), buffer);
      marks[index] = RETRY;
      parsed.retry++;
    }
  }
  if (rejectList !== null) {
    for (let k = 0; k < rejectList.length; k++) {
      const entry = rejectList[k] as { item?: unknown; error?: unknown } | null;
      if (entry === null || typeof entry !== 'object' || !('item' in entry)) {
        return new DataBufferError(OUTCOME_REJECT_WITHOUT_ITEM(buffer, k), buffer);
      }
      const index = places.get(entry.item)?.pop();
      if (index === undefined) return new DataBufferError(OUTCOME_UNKNOWN_ITEM(buffer, 'reject', k), buffer);
      marks[index] = REJECT;
      errors[index] = entry.error;
      parsed.reject++;
    }
  }
  return parsed;
}

/** An attempt's items sorted by their outcome, in batch order, with their positions. */
export function partitionOutcome<T>(work: readonly T[], positions: readonly number[], outcome: ParsedOutcome) {
  const parts = { written: [] as number[], retry: [] as T[], retryPos: [] as number[], rejected: [] as T[], rejectedPos: [] as number[], causes: [] as unknown[] };
  for (let i = 0; i < work.length; i++) {
    const mark = outcome.marks[i];
    if (mark === RETRY) {
      parts.retry.push(work[i]);
      parts.retryPos.push(positions[i]);
    } else if (mark === REJECT) {
      parts.rejected.push(work[i]);
      parts.rejectedPos.push(positions[i]);
      parts.causes.push(outcome.errors[i]);
    } else parts.written.push(positions[i]);
  }
  return parts;
}
