/*
 * Models of version 2 of the contract, built from API.md alone: given the items and how the
 * handler answers each attempt, what the handler and the error handler must see, in order,
 * where every item ends, and what the stats count. One model per option family.
 */

/** An item of the models: its identity is the object, its `n` the insertion order. */
export interface Item {
  readonly n: number;
  readonly size?: number;
}

export type Fate = { place: 'flushed' } | { place: 'failed'; error: string; attempt: number };

export interface ExpectedCall {
  batch: number;
  part: string;
  attempt: number;
  items: Item[];
}

export interface ExpectedError {
  batch: number;
  part: string;
  kind: 'thrown' | 'rejected' | 'partial' | 'invalid';
  items: Item[];
  /** The error of each item, by description (see `describeFailure`). */
  error: string;
}

export interface Expected {
  calls: ExpectedCall[];
  errors: ExpectedError[];
  fates: Map<Item, Fate>;
  flushed: number;
  failed: number;
  flushes: number;
  /** Attempts followed by another attempt of the same batch. */
  retries: number;
  /** Last attempts whose outcome still asked for a retry (read as a retry or not, see the spec). */
  exhaustedAsks: number;
}

const emptyExpected = (): Expected => ({ calls: [], errors: [], fates: new Map(), flushed: 0, failed: 0, flushes: 0, retries: 0, exhaustedAsks: 0 });

// ---- family 1: FlushOutcome -----------------------------------------------------------

/** 0 written, 1 retry, 2 reject, per item position in the attempt (cycling). */
export type Mark = 0 | 1 | 2;

export type Answer =
  | { kind: 'ok' }
  | { kind: 'other' }
  | { kind: 'throw' }
  | { kind: 'invalid'; how: 'foreign' | 'twice' }
  | { kind: 'outcome'; marks: Mark[] };

export const markAt = (marks: readonly Mark[], i: number): Mark => marks[i % marks.length];

/** The description of the error an item or attempt failed with, for comparing with what the buffer gave. */
export const thrownBy = (part: string, attempt: number): string => `thrown by ${part}#${attempt}`;
export const refusedBy = (item: Item, attempt: number): string => `refused ${item.n}#${attempt}`;

/**
 * Batches of `maxSize` in insertion order on one lane, each attempted until written, rejected
 * or out of attempts (`retries + 1`); answers are taken one per attempt, cycling.
 */
export function modelOutcomes(items: readonly Item[], maxSize: number, retries: number, answers: readonly Answer[]): Expected {
  const x = emptyExpected();
  let cursor = 0;
  for (let b = 0; b * maxSize < items.length; b++) {
    let left = items.slice(b * maxSize, (b + 1) * maxSize);
    for (let attempt = 1; left.length > 0; attempt++) {
      x.calls.push({ batch: b, part: '', attempt, items: left });
      const answer = answers[cursor++ % answers.length];
      const last = attempt === retries + 1;
      if (answer.kind === 'ok' || answer.kind === 'other') {
        for (const item of left) x.fates.set(item, { place: 'flushed' });
        x.flushed += left.length;
        x.flushes++;
        break;
      }
      if (answer.kind === 'throw' || answer.kind === 'invalid') {
        if (!last) {
          x.retries++;
          continue;
        }
        const error = answer.kind === 'throw' ? thrownBy(String(b), attempt) : 'DataBufferError';
        x.errors.push({ batch: b, part: '', kind: answer.kind === 'throw' ? 'thrown' : 'invalid', items: left, error });
        for (const item of left) x.fates.set(item, { place: 'failed', error, attempt });
        x.failed += left.length;
        break;
      }
      const written = left.filter((_, i) => markAt(answer.marks, i) === 0);
      const again = left.filter((_, i) => markAt(answer.marks, i) === 1);
      const refused = left.filter((_, i) => markAt(answer.marks, i) === 2);
      for (const item of written) x.fates.set(item, { place: 'flushed' });
      x.flushed += written.length;
      if (written.length > 0) x.flushes++;
      if (refused.length > 0) {
        x.errors.push({ batch: b, part: '', kind: 'rejected', items: refused, error: 'RejectedItemsError' });
        for (const item of refused) x.fates.set(item, { place: 'failed', error: refusedBy(item, attempt), attempt });
        x.failed += refused.length;
      }
      if (again.length > 0 && last) {
        x.exhaustedAsks++;
        x.errors.push({ batch: b, part: '', kind: 'partial', items: again, error: 'PartialFlushError' });
        for (const item of again) x.fates.set(item, { place: 'failed', error: 'PartialFlushError', attempt });
        x.failed += again.length;
        break;
      }
      if (again.length > 0) x.retries++;
      left = again;
    }
  }
  return x;
}
