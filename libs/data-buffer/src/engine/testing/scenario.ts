/*
 * The random scenarios of the model-based test: the buffer's options, a run of commands
 * (inserts, commits, flushes, drains, option changes, clock advances), how the handlers
 * behave attempt by attempt, and how the run ends (close with some budget, or left alone).
 */
import fc from 'fast-check';
import type { BufferKey, OverflowStrategy, RetryBackoff } from '../../index';

export type Key = BufferKey | undefined;

/** Keys of both types, with the ones Map semantics keep apart (0 / '' / 1 / '1'). */
export const KEYS: readonly BufferKey[] = [0, '', 1, '1', 'a'];

/** Handler delays stay below the smallest flushTimeout drawn, so a slow success is a success. */
export const MAX_HANDLER_DELAY = 10;
export const MIN_FLUSH_TIMEOUT = 15;

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'okLater'; ms: number }
  | { kind: 'throw' }
  | { kind: 'rejectLater'; ms: number }
  | { kind: 'hang' };

export type ErrorBehaviour = { kind: 'ok' } | { kind: 'throw' } | { kind: 'okLater'; ms: number };

export type Command =
  | { t: 'insert'; key: Key }
  | { t: 'insertMany'; n: number; key: Key; asIterable: boolean }
  | { t: 'commit'; key: Key }
  | { t: 'flush'; key: Key }
  | { t: 'advance'; ms: number }
  | { t: 'update'; patch: Record<string, unknown>; invalid: Record<string, unknown> | null }
  | { t: 'drain'; key: Key };

export interface Scenario {
  options: Record<string, unknown>;
  commands: Command[];
  /** null: left alone until it comes to rest, then closed with the default budget. */
  close: { timeout: number } | null;
  behaviours: Behaviour[];
  errorBehaviours: ErrorBehaviour[];
  randomSeed: number;
}

/** Zero half the time: then the model knows every batch's limits exactly. */
const zeroOr = (arb: fc.Arbitrary<number>): fc.Arbitrary<number> => fc.oneof(fc.constant(0), arb);

const mutableOptionArbs = {
  interval: fc.integer({ min: 5, max: 100 }),
  jitter: zeroOr(fc.integer({ min: 0, max: 10 })),
  maxSize: fc.integer({ min: 1, max: 8 }),
  maxSizeJitter: zeroOr(fc.integer({ min: 0, max: 2 })),
  capacity: fc.integer({ min: 1, max: 24 }),
  overflow: fc.constantFrom<OverflowStrategy>('reject', 'drop-oldest', 'drop-newest'),
  waitTimeout: fc.constantFrom(0, 10, 40, 150),
  flushTimeout: fc.integer({ min: MIN_FLUSH_TIMEOUT, max: 60 }),
  retries: fc.integer({ min: 0, max: 2 }),
  retryDelay: fc.integer({ min: 0, max: 20 }),
  retryBackoff: fc.constantFrom<RetryBackoff>('fixed', 'exponential'),
  maxRetryDelay: fc.integer({ min: 0, max: 40 }),
  meta: fc.integer({ min: 0, max: 1000 }),
};

const optionsArb = fc.record(
  { partitions: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 4 })), ...mutableOptionArbs },
  { requiredKeys: ['partitions', 'maxSize', 'interval', 'capacity', 'overflow', 'retries', 'retryDelay', 'flushTimeout'] },
);

const keyArb: fc.Arbitrary<Key> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 5, arbitrary: fc.constantFrom(...KEYS) },
);

/** Patches that must be refused as a whole (merged into an otherwise valid patch). */
const invalidPatchArb = fc.constantFrom<Record<string, unknown>>(
  { maxSize: 0 },
  { interval: 1.5 },
  { capacity: '5' },
  { overflow: 'drop-all' },
  { retries: -1 },
  { flushTimeout: Number.NaN },
  { retryBackoff: 'linear' },
  { partitions: 2 },
  { name: 'renamed' },
);

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('insert' as const), key: keyArb }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('insertMany' as const),
      n: fc.integer({ min: 0, max: 6 }),
      key: keyArb,
      asIterable: fc.boolean(),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('commit' as const), key: keyArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('flush' as const), key: keyArb }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 30, max: 250 })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('update' as const),
      patch: fc.record(mutableOptionArbs, { requiredKeys: [] }) as fc.Arbitrary<Record<string, unknown>>,
      invalid: fc.option(invalidPatchArb, { freq: 4 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drain' as const), key: keyArb }) },
);

const behaviourArb: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'ok' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('okLater' as const), ms: fc.integer({ min: 0, max: MAX_HANDLER_DELAY }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'throw' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('rejectLater' as const), ms: fc.integer({ min: 0, max: MAX_HANDLER_DELAY }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'hang' as const }) },
);

const errorBehaviourArb: fc.Arbitrary<ErrorBehaviour> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'ok' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'throw' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('okLater' as const), ms: fc.integer({ min: 0, max: MAX_HANDLER_DELAY }) }) },
);

export const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  options: optionsArb as fc.Arbitrary<Record<string, unknown>>,
  commands: fc.array(commandArb, { minLength: 1, maxLength: 40, size: 'max' }),
  close: fc.option(fc.record({ timeout: fc.constantFrom(0, 5, 40, 150, 15_000) }), { freq: 2 }),
  behaviours: fc.array(behaviourArb, { minLength: 1, maxLength: 12 }),
  errorBehaviours: fc.array(errorBehaviourArb, { minLength: 1, maxLength: 4 }),
  randomSeed: fc.integer(),
});
