import { InvalidBufferOptionsError } from '../errors';
import type { BufferOptions, ResolvedBufferOptions } from './buffer-options.interface';

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
};

const ENUM_OPTIONS: Record<string, readonly string[]> = {
  overflow: ['reject', 'drop-oldest', 'drop-newest'],
  retryBackoff: ['fixed', 'exponential'],
};

/** Every option a buffer knows, `name` included. */
export const BUFFER_OPTION_NAMES: ReadonlySet<string> = new Set(['name', 'meta', ...Object.keys(INTEGER_OPTIONS), ...Object.keys(ENUM_OPTIONS)]);

/** The options `updateOptions` may not change. */
export const FIXED_OPTION_NAMES: ReadonlySet<string> = new Set(['name', 'partitions']);

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
 * options, validated. Options set to `undefined` fall back to the default.
 */
export function resolveBufferOptions(options: BufferOptions, defaults: Partial<Omit<BufferOptions, 'name'>> = {}): ResolvedBufferOptions {
  const label = typeof options?.name === 'string' && options.name !== '' ? options.name : String(options?.name);
  if (options === null || typeof options !== 'object') {
    throw new InvalidBufferOptionsError(label, 'options', options, 'an object with at least a name');
  }
  validateBufferName(options.name, label);
  validateBufferOptions(options.name, defaults as Record<string, unknown>);
  if ('name' in (defaults ?? {}) && (defaults as Record<string, unknown>).name !== undefined) {
    throw new InvalidBufferOptionsError(options.name, 'defaults.name', (defaults as Record<string, unknown>).name, 'no name in forRoot defaults');
  }
  validateBufferOptions(options.name, options as unknown as Record<string, unknown>);
  const resolved: Record<string, unknown> = { ...DEFAULT_BUFFER_OPTIONS };
  for (const source of [defaults, options] as Record<string, unknown>[]) {
    for (const key of Object.keys(source)) {
      if (source[key] !== undefined) resolved[key] = source[key];
    }
  }
  return resolved as ResolvedBufferOptions;
}

function describeRange(rule: IntegerRule): string {
  if (rule.max >= Number.MAX_SAFE_INTEGER) return `an integer ≥ ${rule.min}`;
  return `an integer from ${rule.min} to ${rule.max}`;
}
