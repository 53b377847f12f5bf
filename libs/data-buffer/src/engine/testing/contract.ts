/*
 * What the public contract (the README's option table and "Precise semantics") says, written
 * down on its own for the model-based test: the model asks these questions and never the
 * engine's helpers, so a mistake in the engine cannot hide behind the same mistake here.
 */
import type { BufferKey, OverflowStrategy, RetryBackoff } from '../../index';

/** The options the model follows, every default filled in as the option table gives it. */
export interface ContractOptions {
  partitions: number;
  interval: number;
  jitter: number;
  maxSize: number;
  maxSizeJitter: number;
  capacity: number;
  overflow: OverflowStrategy;
  waitTimeout: number;
  flushTimeout: number;
  retries: number;
  retryDelay: number;
  retryBackoff: RetryBackoff;
  maxRetryDelay: number;
  meta: unknown;
}

/** The defaults of the option table. */
export const CONTRACT_DEFAULTS: ContractOptions = {
  partitions: 1,
  interval: 5000,
  jitter: 0,
  maxSize: 1000,
  maxSizeJitter: 0,
  capacity: 100_000,
  overflow: 'reject',
  waitTimeout: 30_000,
  flushTimeout: 60_000,
  retries: 3,
  retryDelay: 1000,
  retryBackoff: 'fixed',
  maxRetryDelay: 30_000,
  meta: undefined,
};

/** The options `updateOptions` may change (the contract's list). */
export const PATCHABLE = [
  'interval',
  'jitter',
  'maxSize',
  'maxSizeJitter',
  'capacity',
  'overflow',
  'waitTimeout',
  'flushTimeout',
  'retries',
  'retryDelay',
  'retryBackoff',
  'maxRetryDelay',
  'meta',
] as const;

/** The drop channel of the contract's "Observability" section. */
export const DROP_CHANNEL = 'nestjs-data-buffer:drop';

export function withDefaults(options: Record<string, unknown>): ContractOptions {
  return { ...CONTRACT_DEFAULTS, ...options } as ContractOptions;
}

/**
 * The wait before retry `n` (n = 1 for the first retry). "fixed": `retryDelay` every time.
 * "exponential": the first retry waits `retryDelay`, each later one twice the one before,
 * and none more than `maxRetryDelay`.
 */
export function waitBeforeRetry(opts: ContractOptions, n: number): number {
  if (opts.retryBackoff === 'fixed') return opts.retryDelay;
  let wait = opts.retryDelay;
  for (let retry = 2; retry <= n; retry++) wait *= 2;
  return wait > opts.maxRetryDelay ? opts.maxRetryDelay : wait;
}

/** `retries` retries after a failed attempt: so this many attempts in all. */
export const attemptsAllowed = (opts: ContractOptions): number => opts.retries + 1;

/** A batch flushes at once when it reaches `maxSize` plus its own 0..maxSizeJitter. */
export const smallestSizeLimit = (opts: ContractOptions): number => opts.maxSize;
export const largestSizeLimit = (opts: ContractOptions): number => opts.maxSize + opts.maxSizeJitter;

/** The longest an item waits in its batch: `interval` plus the batch's own 0..jitter. */
export const soonestDeadline = (opts: ContractOptions): number => opts.interval;
export const latestDeadline = (opts: ContractOptions): number => opts.interval + opts.jitter;

/** "Unkeyed item i (counting inserts) goes to lane i mod partitions." */
export const laneOfUnkeyed = (i: number, partitions: number): number => i % partitions;

/** The reasons a batch may be handed over with (version 1 and the `'commit'` of version 2). */
export const FLUSH_REASONS = ['size', 'interval', 'manual', 'shutdown', 'commit'];

/** Map semantics: `1` and `'1'` are different keys. */
export const keyName = (key: BufferKey | undefined): string =>
  key === undefined ? 'unkeyed' : typeof key === 'string' ? JSON.stringify(key) : String(key);

/** The stream whose order the contract keeps: a key, or the unkeyed items of one lane. */
export const streamOf = (key: BufferKey | undefined, lane: number | undefined): string =>
  key === undefined ? `lane ${lane ?? '?'}` : `key ${keyName(key)}`;

export const describeError = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** `stats().lastError.message`: the error's own message. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
