import fc from 'fast-check';
import { BufferFullError, DataBufferError, FlushFailedError, PartialFlushError, RejectedItemsError } from './errors';
import type { FlushContext } from './flush-context.interface';
import { Bench, expectOnePlace, idOf, runs, SEED, START_TIME, underFakeTimers, watch, type Settled } from './testing/v2-harness';
import { type Answer, type BytesCommand, CoalesceLane, type Count, type Item, type Mark, markAt, sumMerge, modelBytes, modelOutcomeBatches, modelOutcomes, modelSplit, refusedBy, retryOf, sinkAnswer, sinkError, thrownBy } from './testing/v2-model';

/*
 * Model-based properties of version 2 of the contract, one per option family: random runs
 * against one DataBuffer under fake timers, compared with models built from API.md
 * (testing/v2-model.ts). FC_SEED=<seed> and FC_RUNS=<runs> choose the runs (seed 1 and a few
 * hundred runs per family by default). The balance of stats() is checked in every handler
 * call and after every step, and stats().inserted against the items each run inserted, so
 * that the balance holds for the run and not only among the counters.
 */

const describeError = (error: unknown): string => {
  if (error instanceof RejectedItemsError) return 'RejectedItemsError';
  if (error instanceof PartialFlushError) return 'PartialFlushError';
  if (error instanceof DataBufferError && error.constructor === DataBufferError) return 'DataBufferError';
  return error instanceof Error ? error.message : String(error);
};

/** A handler delay past FLUSH_TIMEOUT: the attempt times out. */
const HANGS = 100;
const FLUSH_TIMEOUT = 40;

const items = (count: number): Item[] => Array.from({ length: count }, (_, n) => ({ n }));
const ns = (list: readonly Item[]): number[] => list.map((item) => item.n);

/** Items whose commit() must settle only after their error handler returned. */
function commitWatcher() {
  const handled = new Set<Item>();
  const early: Item[] = [];
  const settled = new Map<Item, Settled>();
  return {
    handled,
    early,
    settled,
    track(item: Item, promise: Promise<void>) {
      settled.set(
        item,
        watch(promise, (s) => {
          if (s.state === 'rejected' && !handled.has(item)) early.push(item);
        }),
      );
    },
  };
}

/** The handler's side of an `Answer`: throws, returns an outcome, or returns nothing; `pick` chooses the answer of each attempt. */
function answerer(pick: (first: number, attempt: number) => Answer): (got: Item[], ctx: FlushContext) => unknown {
  const firstOf = new Map<string, number>();
  return (got, ctx) => {
    if (!firstOf.has(ctx.batchId)) firstOf.set(ctx.batchId, got[0].n);
    const first = firstOf.get(ctx.batchId) ?? -1;
    const a = pick(first, ctx.attempt);
    switch (a.kind) {
      case 'ok':
        return undefined;
      case 'other':
        return { rows: got.length, retry: 'not an array' };
      case 'throw':
        throw new Error(thrownBy(String(first), ctx.attempt));
      case 'invalid':
        return a.how === 'foreign' ? { retry: [{ n: -1 }] } : { retry: [got[0]], reject: [{ item: got[0], error: new Error('twice') }] };
      case 'outcome':
        return {
          retry: got.filter((_, i) => markAt(a.marks, i) === 1),
          reject: got.filter((_, i) => markAt(a.marks, i) === 2).map((item) => ({ item, error: new Error(refusedBy(item, ctx.attempt)) })),
        };
    }
  };
}

describe('DataBuffer version 2 (model-based properties)', () => {
  it('outcomes: retry and reject lists, throws and retries end where the contract says', async () => {
    const answerArb: fc.Arbitrary<Answer> = fc.oneof(
      { weight: 2, arbitrary: fc.constant({ kind: 'ok' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'other' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'throw' as const }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('invalid' as const), how: fc.constantFrom('foreign' as const, 'twice' as const) }) },
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('outcome' as const), marks: fc.array(fc.constantFrom<Mark>(0, 0, 1, 2), { minLength: 1, maxLength: 7 }) }) },
    );
    const scenarioArb = fc.record({
      count: fc.integer({ min: 1, max: 20 }),
      maxSize: fc.integer({ min: 1, max: 8 }),
      retries: fc.integer({ min: 0, max: 3 }),
      retryDelay: fc.integer({ min: 0, max: 20 }),
      retryBackoff: fc.constantFrom('fixed' as const, 'exponential' as const),
      maxRetryDelay: fc.integer({ min: 0, max: 50 }),
      answers: fc.array(answerArb, { minLength: 1, maxLength: 10 }),
      commits: fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
      errorHandlerThrows: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) =>
        underFakeTimers(async () => {
          const all = items(s.count);
          const x = modelOutcomes(all, s.maxSize, s.retries, s.answers);
          const commits = commitWatcher();
          let cursor = 0;
          const answer = answerer(() => s.answers[cursor++ % s.answers.length]);
          const bench = new Bench<Item>(
            { maxSize: s.maxSize, retries: s.retries, retryDelay: s.retryDelay, retryBackoff: s.retryBackoff, maxRetryDelay: s.maxRetryDelay, interval: 3_600_000 },
            {
              onFlush: (got, ctx) => answer(got, ctx),
              onFlushError: (_error, got) => {
                for (const item of got) commits.handled.add(item);
                if (s.errorHandlerThrows) throw new Error('dead-letter store is down');
              },
            },
          );
          for (const item of all) {
            if (s.commits[item.n]) commits.track(item, bench.buffer.commit(item));
            else bench.buffer.insert(item);
            bench.balanced(`after inserting ${item.n}`);
          }
          const report = watch(bench.buffer.flush());
          await bench.rest(5);
          expect(report.state).toBe('resolved');

          // The handler saw the model's attempts, in order, with one batch id per batch.
          expect(bench.calls.map((c) => [ns(c.items), c.attempt])).toEqual(x.calls.map((c) => [ns(c.items), c.attempt]));
          const idOfBatch = new Map<number, string>();
          bench.calls.forEach((call, i) => {
            const batch = x.calls[i].batch;
            if (!idOfBatch.has(batch)) idOfBatch.set(batch, call.id);
            expect(call.id).toBe(idOfBatch.get(batch));
          });
          expect(new Set(idOfBatch.values()).size).toBe(idOfBatch.size);
          // Retry n starts retryDelay (exponential: retryDelay * 2^(n-1), capped at maxRetryDelay) after the attempt before it; the next batch at once.
          const wait = (n: number) => (s.retryBackoff === 'fixed' ? s.retryDelay : Math.min(s.retryDelay * 2 ** (n - 1), s.maxRetryDelay));
          let at = START_TIME;
          bench.calls.forEach((call, i) => {
            if (i > 0 && x.calls[i - 1].batch === x.calls[i].batch) at += wait(x.calls[i - 1].attempt);
            expect(call.at - START_TIME).toBe(at - START_TIME);
          });

          // The error handler saw each failure once, with the right error and items.
          expect(bench.errors.map((e) => [ns(e.items), describeError(e.error), e.id])).toEqual(
            x.errors.map((e) => [ns(e.items), e.error, idOfBatch.get(e.batch)]),
          );
          bench.errors.forEach((e, i) => {
            if (e.error instanceof RejectedItemsError) {
              expect(e.error.failures.map((f) => [(f.item as Item).n, describeError(f.error)])).toEqual(x.errors[i].items.map((item) => [item.n, x.fates.get(item)?.place === 'failed' ? (x.fates.get(item) as { error: string }).error : '?']));
            }
            if (e.error instanceof PartialFlushError) expect(e.error.items).toBe(x.errors[i].items.length);
          });

          // Every item ends in one place, and its commit() settles the way it ended, after its error handler.
          const flushedItems = all.filter((item) => x.fates.get(item)?.place === 'flushed');
          expectOnePlace(all, { flushed: flushedItems, failed: bench.errors.flatMap((e) => e.items) });
          for (const [item, settled] of commits.settled) {
            const fate = x.fates.get(item);
            if (fate?.place === 'flushed') expect([item.n, settled.state]).toEqual([item.n, 'resolved']);
            else {
              expect([item.n, settled.state]).toEqual([item.n, 'rejected']);
              expect(settled.error).toBeInstanceOf(FlushFailedError);
              const error = settled.error as FlushFailedError;
              expect([item.n, describeError(error.cause), error.attempts]).toEqual([item.n, fate?.error, fate?.attempt]);
            }
          }
          expect(commits.early.map((item) => item.n)).toEqual([]);

          const stats = bench.buffer.stats();
          expect({ inserted: stats.inserted, flushed: stats.flushed, failed: stats.failed, flushes: stats.flushes, pending: stats.pending, inFlight: stats.inFlight }).toEqual({
            inserted: s.count,
            flushed: x.flushed,
            failed: x.failed,
            flushes: x.flushes,
            pending: 0,
            inFlight: 0,
          });
          expect([x.retries, x.retries + x.exhaustedAsks]).toContain(stats.retries);
          if (x.failed > 0) expect(stats.lastError).not.toBeNull();
        }),
      ),
      { seed: SEED, numRuns: runs(300) },
    );
    // On several lanes, keyed: each key's batches in its order, one batch at a time per lane, the same rules.
    const keys = ['a', 'b', 'c', 1] as const;
    const lanesArb = fc.record({
      partitions: fc.integer({ min: 2, max: 3 }),
      keys: fc.array(fc.constantFrom(...keys), { minLength: 1, maxLength: 24 }),
      maxSize: fc.integer({ min: 1, max: 5 }),
      retries: fc.integer({ min: 0, max: 2 }),
      retryDelay: fc.integer({ min: 0, max: 10 }),
      answers: fc.array(answerArb, { minLength: 1, maxLength: 10 }),
      handlerDelay: fc.integer({ min: 0, max: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(lanesArb, (s) =>
        underFakeTimers(async () => {
          const all = s.keys.map((_, n): Item => ({ n }));
          const keyOf = (item: Item) => s.keys[item.n];
          const batches: Item[][] = [];
          for (const key of keys) {
            const mine = all.filter((item) => keyOf(item) === key);
            for (let i = 0; i < mine.length; i += s.maxSize) batches.push(mine.slice(i, i + s.maxSize));
          }
          const pick = (first: number, attempt: number) => s.answers[(first + attempt) % s.answers.length];
          const x = modelOutcomeBatches(batches, s.retries, (b, attempt) => pick(batches[b][0].n, attempt));
          const answer = answerer(pick);
          const bench = new Bench<Item>(
            { partitions: s.partitions, maxSize: s.maxSize, retries: s.retries, retryDelay: s.retryDelay, interval: 3_600_000 },
            {
              onFlush: (got, ctx) => {
                const settle = () => answer(got, ctx);
                if (s.handlerDelay === 0) return settle();
                return new Promise((resolve) => setTimeout(resolve, s.handlerDelay)).then(settle);
              },
            },
          );
          for (const item of all) bench.buffer.insert(item, keyOf(item));
          void bench.buffer.flush();
          await bench.rest(1);
          // A lane runs one batch at a time: no call of another batch of the lane comes between two attempts of one batch.
          const overlaps: string[] = [];
          bench.calls.forEach((call, i) => {
            const last = bench.calls.map((c) => c.id).lastIndexOf(call.id);
            const between = bench.calls.slice(i + 1, last).find((c) => c.partition === call.partition && c.id !== call.id);
            if (between !== undefined) overlaps.push(`${between.id} ran on lane ${call.partition} between attempts of ${call.id}`);
          });
          expect(overlaps).toEqual([]);
          // Per key, the model's attempts in order; a key keeps its lane.
          const idOfBatch = new Map<number, string>();
          for (const key of keys) {
            const got = bench.calls.filter((c) => c.key === key);
            const want = x.calls.filter((c) => keyOf(c.items[0]) === key);
            expect([key, got.map((c) => [ns(c.items), c.attempt])]).toEqual([key, want.map((c) => [ns(c.items), c.attempt])]);
            got.forEach((call, i) => {
              if (!idOfBatch.has(want[i].batch)) idOfBatch.set(want[i].batch, call.id);
              expect(call.id).toBe(idOfBatch.get(want[i].batch));
            });
            expect(new Set(got.map((c) => c.partition)).size).toBeLessThanOrEqual(1);
          }
          // Consecutive attempts of one batch are retryDelay apart.
          for (const [i, call] of bench.calls.entries()) {
            const next = bench.calls.slice(i + 1).find((c) => c.id === call.id);
            if (next !== undefined) expect([call.id, next.at - call.at]).toEqual([call.id, s.retryDelay + s.handlerDelay]);
          }
          expect(bench.errors.map((e) => [e.id, ns(e.items), describeError(e.error)]).sort()).toEqual(x.errors.map((e) => [idOfBatch.get(e.batch), ns(e.items), e.error]).sort());
          const stats = bench.buffer.stats();
          expect({ flushed: stats.flushed, failed: stats.failed, flushes: stats.flushes, pending: stats.pending, inFlight: stats.inFlight, inserted: stats.inserted }).toEqual({
            flushed: x.flushed,
            failed: x.failed,
            flushes: x.flushes,
            pending: 0,
            inFlight: 0,
            inserted: all.length,
          });
          expect([x.retries, x.retries + x.exhaustedAsks]).toContain(stats.retries);
        }),
      ),
      { seed: SEED, numRuns: runs(200) },
    );
  }, 120_000);

  it('splitOnFailure: poison items are isolated depth-first, the rest written in order, retry items never split, each item settled once', async () => {
    const scenarioArb = fc.record({
      count: fc.integer({ min: 1, max: 24 }),
      maxSize: fc.integer({ min: 1, max: 16 }),
      retries: fc.integer({ min: 0, max: 2 }),
      retryDelay: fc.integer({ min: 0, max: 10 }),
      poison: fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { maxLength: 4 }),
      down: fc.option(fc.record({ from: fc.integer({ min: 0, max: 12 }), length: fc.integer({ min: 1, max: 8 }) }), { freq: 3 }),
      partialAt: fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { maxLength: 3 }),
      commits: fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
    });
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) =>
        underFakeTimers(async () => {
          const all = items(s.count);
          const sink = { poison: new Set(s.poison), downFrom: s.down?.from ?? 0, downFor: s.down?.length ?? 0, partialAt: new Set(s.partialAt) };
          const x = modelSplit(all, s.maxSize, s.retries, s.retryDelay, sink);
          const commits = commitWatcher();
          const written: Item[] = [];
          const bench = new Bench<Item>(
            { maxSize: s.maxSize, retries: s.retries, retryDelay: s.retryDelay, interval: 3_600_000, splitOnFailure: true },
            {
              onFlush: (got, ctx) => {
                const call = bench.calls.length - 1;
                const answer = sinkAnswer(sink, got, call, !idOf(ctx).includes('.'));
                if (answer === 'refuse') throw new Error(sinkError(call));
                if (answer === 'ok') return void written.push(...got);
                const retry = retryOf(got);
                written.push(...got.slice(0, got.length - retry.length));
                return { retry };
              },
              onFlushError: (_error, got) => {
                for (const item of got) commits.handled.add(item);
              },
            },
          );
          for (const item of all) {
            if (s.commits[item.n]) commits.track(item, bench.buffer.commit(item));
            else bench.buffer.insert(item);
          }
          void bench.buffer.flush();
          await bench.rest(5);

          // Depth-first order, the part ids, ctx.attempt counting on through the parts.
          const base = new Map<number, string>();
          expect(
            bench.calls.map((call, i) => {
              const expected = x.calls[i];
              if (expected !== undefined && expected.part === '') base.set(expected.batch, call.id);
              return [ns(call.items), call.attempt, call.id];
            }),
          ).toEqual(x.calls.map((c) => [ns(c.items), c.attempt, `${base.get(c.batch)}${c.part}`]));
          expect(new Set(base.values()).size).toBe(base.size);
          let at = START_TIME;
          bench.calls.forEach((call, i) => {
            at += x.waits[i];
            expect([i, call.at - START_TIME]).toEqual([i, at - START_TIME]);
          });
          // The batch's items stay in flight until each is settled: at least the part being attempted, at most the batch.
          expect(bench.calls.map((call) => [call.id, call.inFlight])).toEqual(bench.calls.map((call, i) => [call.id, x.calls[i]?.inFlight]));
          // What is written keeps insertion order, but for items an outcome asked to retry.
          if (s.partialAt.length === 0) expect(ns(written)).toEqual(ns(written).sort((a, b) => a - b));

          // One error-handler call per failed single item or failed half, and one for what a stop left unattempted.
          expect(bench.errors.map((e) => [ns(e.items), describeError(e.error)])).toEqual(x.errors.map((e) => [ns(e.items), e.error]));
          bench.errors.forEach((e, i) => {
            const part = x.errors[i].part;
            if (part !== null) expect(e.id).toBe(`${base.get(x.errors[i].batch)}${part}`);
          });
          expectOnePlace(all, { flushed: written, failed: bench.errors.flatMap((e) => e.items) });
          for (const [item, settled] of commits.settled) {
            const fate = x.fates.get(item);
            if (fate?.place === 'flushed') expect([item.n, settled.state]).toEqual([item.n, 'resolved']);
            else {
              expect([item.n, settled.state]).toEqual([item.n, 'rejected']);
              const error = settled.error as FlushFailedError;
              expect(error).toBeInstanceOf(FlushFailedError);
              expect([item.n, describeError(error.cause)]).toEqual([item.n, fate?.error]);
              // ctx.attempt of the item's own last attempt, also for an item a stopped split never attempted again
              expect([item.n, error.attempts]).toEqual([item.n, fate?.place === 'failed' ? fate.attempt : 0]);
            }
          }
          expect(commits.early.map((item) => item.n)).toEqual([]);
          const stats = bench.buffer.stats();
          expect({ flushed: stats.flushed, failed: stats.failed, flushes: stats.flushes, pending: stats.pending, inFlight: stats.inFlight }).toEqual({
            flushed: x.flushed,
            failed: x.failed,
            flushes: x.flushes,
            pending: 0,
            inFlight: 0,
          });
          expect([x.retries, x.retries + x.exhaustedAsks]).toContain(stats.retries);
        }),
      ),
      { seed: SEED, numRuns: runs(300) },
    );
  }, 120_000);

  it('maxBatchBytes: batches are cut by the byte sum of sizeOf, an oversized item goes alone in its place, a bad size inserts nothing', async () => {
    const keyArb = fc.constantFrom<string | number | undefined>(undefined, 'a', 'b', 7);
    const scenarioArb = fc.integer({ min: 1, max: 20 }).chain((limit) =>
      fc.record({
        maxBatchBytes: fc.constant(limit),
        maxSize: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(1000)),
        handlerDelay: fc.integer({ min: 0, max: 3 }),
        commands: fc.array(
          fc.oneof(
            { weight: 12, arbitrary: fc.record({ t: fc.constant('insert' as const), key: keyArb, size: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 0, max: limit }) }, { weight: 1, arbitrary: fc.integer({ min: limit + 1, max: limit + 5 }) }) }) },
            { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
            {
              weight: 3,
              arbitrary: fc.record({
                t: fc.constant('many' as const),
                key: keyArb,
                sizes: fc.array(fc.integer({ min: 0, max: limit + 2 }), { minLength: 1, maxLength: 4 }),
                bad: fc.option(fc.record({ at: fc.nat(), size: fc.constantFrom<number | 'throw'>(Number.NaN, -1, Number.POSITIVE_INFINITY, 'throw') }), { freq: 2 }),
              }),
            },
          ),
          { minLength: 1, maxLength: 40 },
        ),
        gaps: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 40, maxLength: 40 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) =>
        underFakeTimers(async () => {
          const measured = new Map<Item, number>();
          const bench = new Bench<Item>(
            {
              maxSize: s.maxSize,
              maxBatchBytes: s.maxBatchBytes,
              interval: 3_600_000,
              sizeOf: (item) => {
                measured.set(item, (measured.get(item) ?? 0) + 1);
                if (item.size === undefined) throw new Error('cannot measure');
                return item.size;
              },
            },
            { onFlush: () => (s.handlerDelay === 0 ? undefined : new Promise((resolve) => setTimeout(resolve, s.handlerDelay))) },
          );
          const all: Item[] = [];
          const modelled: BytesCommand[] = [];
          for (const [i, c] of s.commands.entries()) {
            if (c.t === 'flush') {
              void bench.buffer.flush();
              modelled.push(c);
            } else if (c.t === 'insert') {
              const item: Item = { n: all.length, size: c.size };
              all.push(item);
              bench.buffer.insert(item, c.key);
              modelled.push(c);
            } else if (c.bad === null) {
              // insertMany: as insert for each item.
              const many = c.sizes.map((size, j): Item => ({ n: all.length + j, size }));
              all.push(...many);
              bench.buffer.insertMany(many, c.key);
              modelled.push(...c.sizes.map((size) => ({ t: 'insert' as const, key: c.key, size })));
            } else {
              // A measurement that is no size makes the whole insertMany throw a TypeError naming the buffer and the index.
              const at = c.bad.at % c.sizes.length;
              const size = c.bad.size;
              const many = c.sizes.map((good, j): Item => ({ n: -1, size: j !== at ? good : size === 'throw' ? undefined : size }));
              const before = bench.buffer.stats();
              expect(() => bench.buffer.insertMany(many, c.key)).toThrow(TypeError);
              expect(() => bench.buffer.insertMany(many, c.key)).toThrow(new RegExp(`v2-prop.*index ${at}|index ${at}.*v2-prop`));
              expect(bench.buffer.stats()).toEqual(before);
              expect(() => bench.buffer.insert(many[at], c.key)).toThrow(/v2-prop/);
              expect(bench.buffer.stats()).toEqual(before);
            }
            await bench.advance(s.gaps[i], `after command ${i}`);
            // No batch over maxSize or over maxBatchBytes, but an oversized item alone.
            for (const call of bench.calls) {
              const sum = call.items.reduce((total, item) => total + (item.size ?? 0), 0);
              expect(call.items.length).toBeLessThanOrEqual(s.maxSize);
              if (call.items.length > 1) expect(sum).toBeLessThanOrEqual(s.maxBatchBytes);
            }
          }
          void bench.buffer.flush();
          await bench.rest(5);
          const x = modelBytes([...modelled, { t: 'flush' }], s.maxSize, s.maxBatchBytes);
          const keys = new Set<unknown>([...x.keys(), ...bench.calls.map((c) => c.key)]);
          for (const key of keys) {
            const got = bench.calls.filter((c) => Object.is(c.key, key)).map((c) => [ns(c.items), c.reason]);
            expect([key, got]).toEqual([key, (x.get(key) ?? []).map((b) => [ns(b.items), b.reason])]);
          }
          // sizeOf ran once per inserted item.
          expect(all.filter((item) => measured.get(item) !== 1).map((item) => item.n)).toEqual([]);
          expectOnePlace(all, { flushed: bench.calls.flatMap((c) => c.items) });
          expect(bench.buffer.stats()).toMatchObject({ inserted: all.length, flushed: all.length, pending: 0, inFlight: 0 });
        }),
      ),
      { seed: SEED, numRuns: runs(300) },
    );
  }, 120_000);

  it('commitDelay: every commit settles (close() too), a failed one after its error handler, none waits past its delay on an idle lane, reason commit', async () => {
    const commandArb = fc.oneof(
      { weight: 4, arbitrary: fc.record({ t: fc.constant('commit' as const), key: fc.constantFrom<string | undefined>(undefined, 'a') }) },
      { weight: 3, arbitrary: fc.record({ t: fc.constant('insert' as const), key: fc.constantFrom<string | undefined>(undefined, 'a') }) },
      { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15 }) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant('drain' as const), key: fc.constantFrom<string | undefined>(undefined, 'a') }) },
    );
    const scenarioArb = fc.record({
      commitDelay: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
      maxSize: fc.integer({ min: 1, max: 6 }),
      interval: fc.integer({ min: 20, max: 200 }),
      retries: fc.integer({ min: 0, max: 1 }),
      retryDelay: fc.integer({ min: 0, max: 5 }),
      attempts: fc.array(fc.record({ delay: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 8 }) }, { weight: 1, arbitrary: fc.constant(HANGS) }), fail: fc.boolean() }), { minLength: 1, maxLength: 8 }),
      errorHandler: fc.record({ delay: fc.integer({ min: 0, max: 5 }), throws: fc.boolean() }),
      commands: fc.array(commandArb, { minLength: 1, maxLength: 40 }),
      close: fc.option(fc.record({ timeout: fc.integer({ min: 0, max: 60 }) }), { freq: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) =>
        underFakeTimers(async () => {
          const commits = commitWatcher();
          const committedAt = new Map<Item, number>();
          const insertedAt = new Map<Item, number>();
          const ends: number[] = [];
          const written: Item[] = [];
          const keyOf = new Map<Item, string | undefined>();
          const bench = new Bench<Item>(
            { commitDelay: s.commitDelay, maxSize: s.maxSize, interval: s.interval, retries: s.retries, retryDelay: s.retryDelay, flushTimeout: FLUSH_TIMEOUT },
            {
              onFlush: (got, ctx, call) => {
                const a = s.attempts[(bench.calls.length - 1) % s.attempts.length];
                ctx.signal.addEventListener('abort', () => ends.push(Date.now()), { once: true });
                const end = () => {
                  if (ctx.signal.aborted) throw new Error('too late');
                  ends.push(Date.now());
                  if (a.fail) throw new Error(`refused ${call.id}#${call.attempt}`);
                  written.push(...got);
                };
                if (a.delay === 0) return end();
                return new Promise((resolve) => setTimeout(resolve, a.delay)).then(end);
              },
              onFlushError: (_error, got) => {
                const done = () => {
                  for (const item of got) commits.handled.add(item);
                  ends.push(Date.now());
                  if (s.errorHandler.throws) throw new Error('dead-letter store is down');
                };
                if (s.errorHandler.delay === 0) return done();
                return new Promise((resolve) => setTimeout(resolve, s.errorHandler.delay)).then(done);
              },
            },
          );
          const all: Item[] = [];
          const drained: Item[] = [];
          for (const [i, c] of s.commands.entries()) {
            if (c.t === 'advance') {
              await bench.advance(c.ms, `after command ${i}`);
              continue;
            }
            if (c.t === 'drain') {
              // drain() (all, or the key's) takes pending items only: none that reached the handler.
              const taken = c.key === undefined ? bench.buffer.drain() : bench.buffer.drain(c.key);
              expect(taken.filter((item) => bench.calls.some((call) => call.items.includes(item))).map((item) => item.n)).toEqual([]);
              if (c.key !== undefined) expect(taken.filter((item) => keyOf.get(item) !== c.key).map((item) => item.n)).toEqual([]);
              drained.push(...taken);
              // A drained item has no error handler call: its commit may reject at once.
              for (const item of taken) commits.handled.add(item);
              if (c.key === undefined) expect(bench.buffer.size()).toBe(0);
              else expect(bench.buffer.size(c.key)).toBe(0);
              await bench.advance(0, `after command ${i}`);
              continue;
            }
            const item: Item = { n: all.length };
            all.push(item);
            keyOf.set(item, c.key);
            insertedAt.set(item, Date.now());
            if (c.t === 'commit') {
              committedAt.set(item, Date.now());
              commits.track(item, bench.buffer.commit(item, c.key));
            } else bench.buffer.insert(item, c.key);
            bench.balanced(`after command ${i}`);
            expect(bench.buffer.stats().inserted).toBe(all.length);
          }
          const before = bench.calls.length;
          if (s.close === null) await bench.rest(5);
          else {
            // close(): leftovers go to the error handler with ShutdownTimeoutError once the budget ran out.
            const closed = watch(bench.buffer.close(s.close.timeout));
            for (let t = 0; t < 2_000 && closed.state === 'pending'; t += 5) await bench.advance(5, 'closing');
            expect(closed.state).toBe('resolved');
          }
          await bench.advance(HANGS, 'after rest');
          const calls = s.close === null ? bench.calls : bench.calls.slice(0, before);

          // Batches never exceed maxSize; what is written keeps the order per key.
          for (const call of bench.calls) expect(call.items.length).toBeLessThanOrEqual(s.maxSize);
          // Reason 'commit' only for a batch holding a commit; a batch with a commit that is neither full nor
          // as old as its interval was handed over because of its commit.
          for (const call of calls.filter((c) => c.attempt === 1)) {
            const committed = call.items.some((item) => committedAt.has(item));
            const opened = Math.min(...call.items.map((item) => insertedAt.get(item) ?? Infinity));
            if (!committed) expect([call.id, call.reason]).not.toEqual([call.id, 'commit']);
            else if (call.items.length < s.maxSize && call.at < opened + s.interval) expect([call.id, call.reason]).toEqual([call.id, 'commit']);
            expect(['size', 'interval', 'commit']).toContain(call.reason);
          }
          // Batches made due by their commits reach the busy lane in the order they became due.
          const dueAt = calls
            .filter((c) => c.attempt === 1 && c.reason === 'commit')
            .map((c) => Math.min(...c.items.map((item) => committedAt.get(item) ?? Infinity)) + s.commitDelay);
          expect(dueAt).toEqual([...dueAt].sort((a, b) => a - b));
          for (const key of [undefined, 'a']) {
            const order = written.filter((item) => keyOf.get(item) === key).map((item) => item.n);
            expect(order).toEqual([...order].sort((a, b) => a - b));
          }
          const failed = bench.errors.flatMap((e) => e.items);
          expectOnePlace(all, { flushed: written, failed, drained });
          expect(drained.filter((item) => bench.calls.some((call) => call.items.includes(item))).map((item) => item.n)).toEqual([]);
          // Every commit settled, the way its item ended; a rejection only after the error handler returned.
          for (const [item, settled] of commits.settled) {
            expect([item.n, settled.state]).toEqual([item.n, written.includes(item) ? 'resolved' : 'rejected']);
            if (settled.state === 'rejected' && drained.includes(item)) expect([item.n, settled.error instanceof DataBufferError && !(settled.error instanceof FlushFailedError)]).toEqual([item.n, true]);
            else if (settled.state === 'rejected') expect(settled.error).toBeInstanceOf(FlushFailedError);
          }
          expect(commits.early.map((item) => item.n)).toEqual([]);
          // A committed item reaches the handler within commitDelay, or the moment its lane was done with the batch before.
          for (const [item, at] of committedAt) {
            const first = calls.find((call) => call.items.includes(item));
            if (s.close === null && !drained.includes(item)) expect(first).toBeDefined();
            if (first === undefined) continue;
            const handedAt = first?.at ?? 0;
            const laneFree = Math.max(0, ...ends.filter((end) => end <= handedAt));
            expect([item.n, handedAt - START_TIME]).toEqual([item.n, Math.min(handedAt, Math.max(at + s.commitDelay, laneFree)) - START_TIME]);
          }
          expect(bench.buffer.stats()).toMatchObject({ inserted: all.length, flushed: written.length, failed: failed.length, drained: drained.length, pending: 0, inFlight: 0 });
        }),
      ),
      { seed: SEED, numRuns: runs(300) },
    );
  }, 120_000);

  it('coalesce: one summed value per coalesce key per batch (cut by maxBatchBytes on merged values), merges counted and taking no room, every increment conserved', async () => {
    const keyArb = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('a', 'b') }, { weight: 1, arbitrary: fc.constantFrom('c', 'd', 'e') });
    const commandArb = fc.oneof(
      { weight: 8, arbitrary: fc.record({ t: fc.constantFrom('insert' as const, 'commit' as const), k: keyArb, v: fc.integer({ min: 1, max: 6 }) }) },
      { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
      { weight: 1, arbitrary: fc.constant({ t: 'drain' as const }) },
      { weight: 3, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }) },
    );
    const scenarioArb = fc.record({
      partitions: fc.constantFrom(1, 1, 1, 2, 3),
      maxSize: fc.integer({ min: 1, max: 6 }),
      interval: fc.integer({ min: 10, max: 200 }),
      retries: fc.integer({ min: 0, max: 1 }),
      retryDelay: fc.integer({ min: 0, max: 3 }),
      maxBatchBytes: fc.option(fc.integer({ min: 1, max: 15 }), { freq: 2 }),
      capacity: fc.option(fc.integer({ min: 2, max: 8 }), { freq: 2 }),
      attempts: fc.array(fc.record({ delay: fc.integer({ min: 0, max: 5 }), fail: fc.boolean() }), { minLength: 1, maxLength: 6 }),
      commands: fc.array(commandArb, { minLength: 1, maxLength: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(scenarioArb, (s) =>
        underFakeTimers(async () => {
          const exact = s.partitions === 1;
          // On one lane, capacity too: a new value at capacity is refused, a merge is not.
          const capacity = exact ? (s.capacity ?? undefined) : undefined;
          const lane = new CoalesceLane(s.maxSize, s.interval, s.maxBatchBytes ?? undefined);
          const written: Count[] = [];
          const commits = new Map<number, Settled>();
          const bench = new Bench<Count>(
            {
              partitions: s.partitions,
              maxSize: s.maxSize,
              interval: s.interval,
              retries: s.retries,
              retryDelay: s.retryDelay,
              coalesce: { key: (item) => item.k, merge: sumMerge },
              ...(capacity !== undefined ? { capacity } : {}),
              ...(s.maxBatchBytes !== null ? { maxBatchBytes: s.maxBatchBytes, sizeOf: (item: Count) => item.v } : {}),
            },
            {
              onFlush: (got) => {
                const a = s.attempts[(bench.calls.length - 1) % s.attempts.length];
                const end = () => {
                  if (a.fail) throw new Error('refused');
                  written.push(...got);
                };
                if (a.delay === 0) return end();
                return new Promise((resolve) => setTimeout(resolve, a.delay)).then(end);
              },
            },
          );
          const drained: Count[] = [];
          let inserted = 0;
          let total = 0;
          const handed = () => new Set(bench.calls.map((call) => call.id)).size;
          for (const [i, c] of s.commands.entries()) {
            if (c.t === 'insert' || c.t === 'commit') {
              const item: Count = { n: inserted, k: c.k, v: c.v };
              const merges = lane.merges(item, Date.now());
              const before = bench.buffer.stats();
              if (capacity !== undefined && !merges && before.pending + before.inFlight >= capacity) {
                expect(() => bench.buffer.insert(item)).toThrow(BufferFullError);
                expect(bench.buffer.stats()).toEqual(before);
              } else {
                inserted++;
                total += c.v;
                // commit() waits for room: on a buffer with a capacity it is an insert here.
                if (c.t === 'commit' && capacity === undefined) commits.set(item.n, watch(bench.buffer.commit(item)));
                else bench.buffer.insert(item);
                lane.insert(item, Date.now());
                const after = bench.buffer.stats();
                // A full buffer with nothing sealed or in flight seals its open batch.
                if (capacity !== undefined && after.pending + after.inFlight >= capacity && after.inFlight === 0 && lane.sealed.length === handed()) lane.seal();
              }
            } else if (c.t === 'flush') {
              lane.tick(Date.now());
              void bench.buffer.flush();
              lane.seal();
            } else if (c.t === 'drain') {
              lane.tick(Date.now());
              const taken = bench.buffer.drain();
              drained.push(...taken);
              const expected = lane.drain(handed());
              if (exact) expect(['drain', taken]).toEqual(['drain', expected]);
            }
            await bench.advance(c.t === 'advance' ? c.ms : 0, `after command ${i}`);
            // One value per coalesce key in a batch, at most maxSize values.
            for (const call of bench.calls) {
              expect(new Set(call.items.map((item) => item.k)).size).toBe(call.items.length);
              expect(call.items.length).toBeLessThanOrEqual(s.maxSize);
            }
            // The balance holds against the items this run inserted, not only among the counters.
            expect(bench.buffer.stats().inserted).toBe(inserted);
            if (exact) expect(bench.buffer.stats().merged).toBe(lane.merged);
          }
          void bench.buffer.flush();
          lane.tick(Date.now());
          lane.seal();
          await bench.rest(5);

          const failed = bench.errors.flatMap((e) => e.items);
          const sum = (list: readonly Count[]) => list.reduce((acc, item) => acc + item.v, 0);
          // Increments are conserved: what came in is written, failed or drained.
          expect({ total, accounted: sum(written) + sum(failed) + sum(drained) }).toEqual({ total, accounted: total });
          const stats = bench.buffer.stats();
          expect(stats).toMatchObject({ inserted, pending: 0, inFlight: 0, flushed: written.length, failed: failed.length, drained: drained.length });
          expect(stats.merged).toBe(inserted - written.length - failed.length - drained.length);
          if (!exact) return;
          // The batches are the model's, in order; each commit settles the way the value it merged into ended.
          const batches = [...new Set(bench.calls.map((call) => call.id))].map((id) => bench.calls.find((call) => call.id === id)?.items);
          expect(batches).toEqual(lane.sealed);
          expect(stats.merged).toBe(lane.merged);
          const ended = new Map<number, string>([...written.map((v) => [v.n, 'resolved'] as const), ...failed.map((v) => [v.n, 'rejected'] as const), ...drained.map((v) => [v.n, 'rejected'] as const)]);
          for (const [n, settled] of commits) expect([n, settled.state]).toEqual([n, ended.get(lane.valueOf.get(n) ?? -1)]);
        }),
      ),
      { seed: SEED, numRuns: runs(300) },
    );
  }, 120_000);
});
