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
  /** The batch's items not settled yet when the attempt starts (split model). */
  inFlight?: number;
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
  const batches: Item[][] = [];
  for (let b = 0; b * maxSize < items.length; b++) batches.push(items.slice(b * maxSize, (b + 1) * maxSize));
  let cursor = 0;
  return modelOutcomeBatches(batches, retries, () => answers[cursor++ % answers.length]);
}

/**
 * The given batches, each attempted until written, rejected or out of attempts; `answerOf`
 * is asked once per attempt, in order. A thrown error names the batch by its first item.
 */
export function modelOutcomeBatches(batches: readonly Item[][], retries: number, answerOf: (batch: number, attempt: number) => Answer): Expected {
  const x = emptyExpected();
  for (const [b, batch] of batches.entries()) {
    let left = batch;
    for (let attempt = 1; left.length > 0; attempt++) {
      x.calls.push({ batch: b, part: '', attempt, items: left });
      const answer = answerOf(b, attempt);
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
        const error = answer.kind === 'throw' ? thrownBy(String(batch[0].n), attempt) : 'DataBufferError';
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

// ---- family 2: splitOnFailure ---------------------------------------------------------

/** How the sink answers: it refuses any attempt with a poison item, and every attempt while it is down. */
export interface Sink {
  poison: ReadonlySet<number>;
  /** Attempts (counted from 0 over the whole run) during which everything fails. */
  downFrom: number;
  downFor: number;
  /** Attempts of a whole batch of several items that the sink writes but for the second half (`retryOf`), which it asks to retry. */
  partialAt: ReadonlySet<number>;
}

export const sinkRefuses = (sink: Sink, items: readonly Item[], call: number): boolean =>
  (call >= sink.downFrom && call < sink.downFrom + sink.downFor) || items.some((item) => sink.poison.has(item.n));
/** The items a partial answer asks to retry: the second half. */
export const retryOf = <T>(items: readonly T[]): T[] => items.slice(Math.floor(items.length / 2));
/** What the sink does with an attempt: `whole` when it is an attempt of a whole batch, not of a split part. */
export const sinkAnswer = (sink: Sink, items: readonly Item[], call: number, whole: boolean): 'refuse' | 'partial' | 'ok' =>
  sinkRefuses(sink, items, call) ? 'refuse' : whole && items.length > 1 && sink.partialAt.has(call) ? 'partial' : 'ok';
export const sinkError = (call: number): string => `refused at call ${call}`;

/** An error-handler call of the split model; `part` is null for the items never attempted after a stop. */
export interface SplitError {
  batch: number;
  part: string | null;
  items: Item[];
  error: string;
}

export interface SplitExpected extends Omit<Expected, 'errors'> {
  errors: SplitError[];
  /** The wait before each call: retryDelay before a retry of a whole batch, none before a part. */
  waits: number[];
}

/**
 * Batches of `maxSize` on one lane: `retries + 1` attempts of the whole batch, then halves
 * depth-first, once each, until both halves of one split fail. Items an outcome asked to retry
 * are never split: when their attempts run out they fail as they are.
 */
export function modelSplit(items: readonly Item[], maxSize: number, retries: number, retryDelay: number, sink: Sink): SplitExpected {
  const x: SplitExpected = { ...emptyExpected(), errors: [], waits: [] };
  const lastAttempt = new Map<Item, number>();
  for (let b = 0; b * maxSize < items.length; b++) {
    const batch = items.slice(b * maxSize, (b + 1) * maxSize);
    let attempt = 0;
    let failedAttempts = 0;
    let lastFailed = false;
    const run = (part: Item[], suffix: string, wait: number): { ok: boolean; partial: boolean; error: string } => {
      const call = x.calls.length;
      attempt++;
      x.calls.push({ batch: b, part: suffix, attempt, items: part, inFlight: batch.filter((item) => !x.fates.has(item)).length });
      x.waits.push(wait);
      for (const item of part) lastAttempt.set(item, attempt);
      const answer = sinkAnswer(sink, part, call, suffix === '');
      if (answer === 'refuse') {
        failedAttempts++;
        lastFailed = true;
        return { ok: false, partial: false, error: sinkError(call) };
      }
      const written = answer === 'partial' ? part.slice(0, part.length - retryOf(part).length) : part;
      for (const item of written) x.fates.set(item, { place: 'flushed' });
      x.flushed += written.length;
      x.flushes++;
      lastFailed = answer === 'partial';
      if (lastFailed) failedAttempts++;
      return { ok: answer === 'ok', partial: answer === 'partial', error: '' };
    };
    const fail = (part: Item[], suffix: string | null, error: string) => {
      x.errors.push({ batch: b, part: suffix, items: part, error });
      for (const item of part) x.fates.set(item, { place: 'failed', error, attempt: lastAttempt.get(item) ?? 0 });
      x.failed += part.length;
    };
    /** Splits `part` (which failed); `after` is what the batch has not attempted yet behind it. True when splitting stopped. */
    const split = (part: Item[], suffix: string, after: Item[]): boolean => {
      const first = part.slice(0, Math.ceil(part.length / 2));
      const second = part.slice(first.length);
      const r1 = run(first, `${suffix}.1`, 0);
      if (!r1.ok) {
        if (first.length > 1) {
          if (split(first, `${suffix}.1`, [...second, ...after])) return true;
        } else fail(first, `${suffix}.1`, r1.error);
      }
      const r2 = run(second, `${suffix}.2`, 0);
      if (r2.ok) return false;
      if (!r1.ok) {
        fail(second, `${suffix}.2`, r2.error);
        if (after.length > 0) fail(after, null, r2.error);
        return true;
      }
      if (second.length > 1) return split(second, `${suffix}.2`, after);
      fail(second, `${suffix}.2`, r2.error);
      return false;
    };
    let left = batch;
    let askedRetry = false;
    let result = { ok: false, partial: false, error: '' };
    for (let a = 0; a <= retries && !result.ok; a++) {
      result = run(left, '', a === 0 ? 0 : retryDelay);
      if (result.partial) {
        left = retryOf(left);
        askedRetry = true;
      }
    }
    if (result.partial) {
      x.exhaustedAsks++;
      fail(left, '', 'PartialFlushError');
    } else if (!result.ok) {
      if (left.length > 1 && !askedRetry) split(left, '', []);
      else fail(left, '', result.error);
    }
    x.retries += failedAttempts - (lastFailed ? 1 : 0);
  }
  return x;
}

// ---- family 3: maxBatchBytes ----------------------------------------------------------

export type BytesCommand = { t: 'insert'; key: string | number | undefined; size: number } | { t: 'flush' };

export interface BytesBatch {
  items: Item[];
  reason: 'size' | 'manual';
}

/**
 * Per batch key (one lane): the batches in the order they are sealed. A batch is sealed
 * before an item would pass `maxBatchBytes`, at the exact sum, at `maxSize`, and an item
 * larger than the limit goes alone, after the open batch of its key.
 */
export function modelBytes(commands: readonly BytesCommand[], maxSize: number, maxBatchBytes: number): Map<unknown, BytesBatch[]> {
  const sealed = new Map<unknown, BytesBatch[]>();
  const open = new Map<unknown, { items: Item[]; sum: number }>();
  const seal = (key: unknown, reason: BytesBatch['reason']) => {
    const batch = open.get(key);
    if (batch === undefined || batch.items.length === 0) return;
    open.delete(key);
    sealed.set(key, [...(sealed.get(key) ?? []), { items: batch.items, reason }]);
  };
  let n = 0;
  for (const c of commands) {
    if (c.t === 'flush') {
      for (const key of [...open.keys()]) seal(key, 'manual');
      continue;
    }
    const item: Item = { n: n++, size: c.size };
    if (c.size > maxBatchBytes) {
      seal(c.key, 'size');
      open.set(c.key, { items: [item], sum: c.size });
      seal(c.key, 'size');
      continue;
    }
    const batch = open.get(c.key);
    if (batch !== undefined && batch.sum + c.size > maxBatchBytes) seal(c.key, 'size');
    const target = open.get(c.key) ?? { items: [], sum: 0 };
    open.set(c.key, target);
    target.items.push(item);
    target.sum += c.size;
    if (target.sum === maxBatchBytes || target.items.length === maxSize) seal(c.key, 'size');
  }
  return sealed;
}

// ---- family 5: coalesce ---------------------------------------------------------------

/** A counter increment; a merged value keeps the `n` of the item that opened it and sums `v`. */
export interface Count {
  readonly n: number;
  readonly k: string;
  readonly v: number;
}

export const sumMerge = (pending: Count, next: Count): Count => ({ n: pending.n, k: pending.k, v: pending.v + next.v });

/**
 * One lane of a coalescing buffer: the open batch holds one value per coalesce key, in the
 * order the keys came; an item whose key has a value there merges into it (no room taken),
 * otherwise it takes a place. The batch is sealed at maxSize values, at its interval
 * (counted from its first value), by flush(), and with `maxBytes` (sizes are the values' `v`)
 * before a new value would pass it, when it reaches it (through a merge too), and a value
 * larger than the limit goes alone. Sealed batches take no merges.
 */
export class CoalesceLane {
  merged = 0;
  readonly sealed: Count[][] = [];
  /** The value each item ended in, by the item's `n`. */
  readonly valueOf = new Map<number, number>();
  private open = new Map<string, Count>();
  private openedAt = 0;
  private bytes = 0;

  constructor(
    private readonly maxSize: number,
    private readonly interval: number,
    private readonly maxBytes?: number,
  ) {}

  /** Seals the open batch when its interval ran out by `now`. */
  tick(now: number): void {
    if (this.open.size > 0 && now >= this.openedAt + this.interval) this.seal();
  }

  /** Whether `item` would merge into a value of the open batch at `now`. */
  merges(item: Count, now: number): boolean {
    this.tick(now);
    return this.open.has(item.k);
  }

  insert(item: Count, now: number): void {
    this.tick(now);
    const value = this.open.get(item.k);
    const limit = this.maxBytes ?? Infinity;
    if (value !== undefined) {
      this.open.set(item.k, sumMerge(value, item));
      this.bytes += item.v;
      this.merged++;
      this.valueOf.set(item.n, value.n);
      if (this.bytes >= limit) this.seal();
      return;
    }
    if (this.open.size > 0 && (item.v > limit || this.bytes + item.v > limit)) this.seal();
    if (this.open.size === 0) this.openedAt = now;
    this.open.set(item.k, item);
    this.bytes += item.v;
    this.valueOf.set(item.n, item.n);
    if (this.open.size === this.maxSize || this.bytes >= limit) this.seal();
  }

  seal(): void {
    if (this.open.size === 0) return;
    this.sealed.push([...this.open.values()]);
    this.open = new Map();
    this.bytes = 0;
  }

  /** drain(): the open batch goes, and the sealed batches from `handed` on (still waiting for the lane). */
  drain(handed: number): Count[] {
    const taken = [...this.sealed.splice(handed).flat(), ...this.open.values()];
    this.open = new Map();
    this.bytes = 0;
    return taken;
  }
}
