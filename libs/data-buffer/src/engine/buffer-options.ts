import { InvalidBufferOptionsError } from './errors';
import type { BufferOptions, ResolvedBufferOptions } from './buffer-options.interface';

/** The size of an item when no `sizeOf` is given: the UTF-8 byte length of its JSON. */
export function defaultSizeOf(item: unknown): number {
  const json = JSON.stringify(item);
  return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
}

/** The defaults of every buffer option but `name`. */
export const DEFAULT_BUFFER_OPTIONS: Readonly<Omit<ResolvedBufferOptions, 'name'>> = Object.freeze({
  partitions: 1,
  interval: 5_000,
  jitter: 0,
  maxSize: 1_000,
  maxSizeJitter: 0,
  capacity: 100_000,
  overflow: 'reject',
  waitTimeout: 30_000,
  flushTimeout: 60_000,
  retries: 3,
  retryDelay: 1_000,
  retryBackoff: 'fixed',
  maxRetryDelay: 30_000,
  meta: undefined,
  commitDelay: undefined,
  maxBatchBytes: undefined,
  sizeOf: defaultSizeOf,
  splitOnFailure: false,
  coalesce: undefined,
});

/** The longest delay a Node timer can hold; larger ones would fire at once. */
export const MAX_TIMER_DELAY = 2_147_483_647;

type IntegerRule = { min: number; max: number };

const INTEGER_OPTIONS: Record<string, IntegerRule> = {
  partitions: { min: 1, max: 65_536 },
  interval: { min: 1, max: MAX_TIMER_DELAY },
  jitter: { min: 0, max: MAX_TIMER_DELAY },
  maxSize: { min: 1, max: Number.MAX_SAFE_INTEGER },
  maxSizeJitter: { min: 0, max: Number.MAX_SAFE_INTEGER },
  capacity: { min: 1, max: Number.MAX_SAFE_INTEGER },
  waitTimeout: { min: 0, max: MAX_TIMER_DELAY },
  flushTimeout: { min: 1, max: MAX_TIMER_DELAY },
  retries: { min: 0, max: Number.MAX_SAFE_INTEGER },
  retryDelay: { min: 0, max: MAX_TIMER_DELAY },
  maxRetryDelay: { min: 0, max: MAX_TIMER_DELAY },
  commitDelay: { min: 0, max: MAX_TIMER_DELAY },
  maxBatchBytes: { min: 1, max: Number.MAX_SAFE_INTEGER },
};

const ENUM_OPTIONS: Record<string, readonly string[]> = {
  overflow: ['reject', 'drop-oldest', 'drop-newest'],
  retryBackoff: ['fixed', 'exponential'],
};

/** Options checked by a rule of their own: what they expect, and the check. */
const OTHER_OPTIONS: Record<string, { expected: string; valid: (value: unknown) => boolean }> = {
  sizeOf: { expected: 'a function (item) => number', valid: (value) => typeof value === 'function' },
  splitOnFailure: { expected: 'a boolean', valid: (value) => typeof value === 'boolean' },
  coalesce: {
    expected: 'an object { key: (item) => key, merge: (pending, next) => item }',
    valid: (value) =>
      value !== null &&
      typeof value === 'object' &&
      typeof (value as Record<string, unknown>).key === 'function' &&
      typeof (value as Record<string, unknown>).merge === 'function',
  },
};

/** Every option a buffer knows, `name` included. */
export const BUFFER_OPTION_NAMES: ReadonlySet<string> = new Set([
  'name',
  'meta',
  ...Object.keys(INTEGER_OPTIONS),
  ...Object.keys(ENUM_OPTIONS),
  ...Object.keys(OTHER_OPTIONS),
]);

/** The options `updateOptions` may not change. */
export const FIXED_OPTION_NAMES: ReadonlySet<string> = new Set(['name', 'partitions', 'coalesce']);

/** The options that `undefined` switches off (elsewhere `undefined` means "keep the default"). */
export const SWITCH_OFF_OPTION_NAMES: ReadonlySet<string> = new Set(['meta', 'commitDelay', 'maxBatchBytes']);

/** Checks a buffer's name; `label` names the buffer in the message when the name itself is unusable. */
export function validateBufferName(name: unknown, label = String(name)): asserts name is string {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new InvalidBufferOptionsError(label, 'name', name, 'a non-empty string');
  }
}

/**
 * Checks every option present in `options` (a partial set is fine) and throws an
 * `InvalidBufferOptionsError` naming the buffer, the option and the bad value.
 */
export function validateBufferOptions(buffer: string, options: Record<string, unknown>): void {
  if (options === null || typeof options !== 'object') {
    throw new InvalidBufferOptionsError(buffer, 'options', options, 'an object');
  }
  for (const option of Object.keys(options)) {
    const value = options[option];
    if (value === undefined) continue;
    const rule = INTEGER_OPTIONS[option];
    if (rule) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
        throw new InvalidBufferOptionsError(buffer, option, value, describeRange(rule));
      }
      continue;
    }
    const allowed = ENUM_OPTIONS[option];
    if (allowed) {
      if (typeof value !== 'string' || !allowed.includes(value)) {
        throw new InvalidBufferOptionsError(buffer, option, value, `one of ${allowed.map((v) => `'${v}'`).join(', ')}`);
      }
      continue;
    }
    const other = OTHER_OPTIONS[option];
    if (other) {
      if (!other.valid(value)) throw new InvalidBufferOptionsError(buffer, option, value, other.expected);
      continue;
    }
    if (option === 'name') {
      validateBufferName(value, buffer);
      continue;
    }
    if (!BUFFER_OPTION_NAMES.has(option)) {
      throw new InvalidBufferOptionsError(buffer, option, value, `a known option (${[...BUFFER_OPTION_NAMES].join(', ')})`);
    }
  }
}

/**
 * The one place where defaults meet options: `defaults` (forRoot) under the buffer's own
 * options, validated. Options set to `undefined` fall back to the default. Resolving options
 * that are resolved already gives the same options.
 */
export function resolveBufferOptions<T = any>(
  options: BufferOptions<T>,
  defaults: Partial<Omit<BufferOptions<T>, 'name'>> = {},
): ResolvedBufferOptions<T> {
  const label = typeof options?.name === 'string' && options.name !== '' ? options.name : String(options?.name);
  if (options === null || typeof options !== 'object') {
    throw new InvalidBufferOptionsError(label, 'options', options, 'an object with at least a name');
  }
  validateBufferName(options.name, label);
  const fromDefaults = (defaults ?? {}) as Record<string, unknown>;
  for (const option of ['name', 'coalesce']) {
    if (fromDefaults[option] !== undefined) {
      throw new InvalidBufferOptionsError(options.name, `defaults.${option}`, fromDefaults[option], `no ${option} in forRoot defaults`);
    }
  }
  validateBufferOptions(options.name, fromDefaults);
  validateBufferOptions(options.name, options as unknown as Record<string, unknown>);
  const resolved: Record<string, unknown> = { ...DEFAULT_BUFFER_OPTIONS };
  for (const source of [fromDefaults, options as unknown as Record<string, unknown>]) {
    for (const key of Object.keys(source)) {
      if (source[key] !== undefined) resolved[key] = source[key];
    }
  }
  return resolved as ResolvedBufferOptions<T>;
}

function describeRange(rule: IntegerRule): string {
  if (rule.max >= Number.MAX_SAFE_INTEGER) return `an integer ≥ ${rule.min}`;
  return `an integer from ${rule.min} to ${rule.max}`;
}

/** The wait before retry `retry` (1-based): `retryDelay`, or `retryDelay * 2^(retry-1)` capped at `maxRetryDelay`. */
export function retryWait(opts: ResolvedBufferOptions, retry: number): number {
  if (opts.retryBackoff === 'fixed') return opts.retryDelay;
  return Math.min(opts.maxRetryDelay, opts.retryDelay * 2 ** (retry - 1));
}

/** The options after `updateOptions(patch)`: all-or-nothing, fixed options refused, `undefined` switching off what it can. */
export function patchBufferOptions(opts: ResolvedBufferOptions, patch: unknown): ResolvedBufferOptions {
  if (patch === null || typeof patch !== 'object') {
    throw new InvalidBufferOptionsError(opts.name, 'options', patch, 'an object of options to change');
  }
  const changes = patch as Record<string, unknown>;
  for (const option of Object.keys(changes)) {
    if (FIXED_OPTION_NAMES.has(option)) {
      throw new InvalidBufferOptionsError(opts.name, option, changes[option], `no change: "${option}" is fixed when the buffer is created`);
    }
  }
  validateBufferOptions(opts.name, changes);
  const next: Record<string, unknown> = { ...opts };
  for (const option of Object.keys(changes)) {
    if (changes[option] !== undefined || SWITCH_OFF_OPTION_NAMES.has(option)) next[option] = changes[option];
  }
  if (next.sizeOf === undefined) next.sizeOf = defaultSizeOf;
  return next as ResolvedBufferOptions;
}
