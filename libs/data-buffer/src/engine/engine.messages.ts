/** Every string the engine logs or throws, in one place. */

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

// ---- errors ------------------------------------------------------------------------------

export const BUFFER_FULL = (buffer: string, capacity: number, detail = 'is full') => `Buffer "${buffer}" ${detail} (capacity ${capacity})`;
export const FULL_NO_ROOM_FOR = (count: number, held: number) => `has no room for ${plural(count, 'item')} (holds ${held})`;
export const FULL_WAIT_ZERO = 'has no room (waitTimeout 0)';
export const FULL_WAIT_TIMEOUT = (timeout: number) => `had no room within waitTimeout (${timeout} ms)`;
export const FULL_EVICTED = 'evicted a committed item (overflow "drop-oldest")';

export const BUFFER_CLOSED = (buffer: string) => `Buffer "${buffer}" is closed: shutdown has begun and it accepts no more items`;

export const FLUSH_TIMED_OUT = (buffer: string, timeout: number) => `Flush of buffer "${buffer}" timed out after ${timeout} ms (flushTimeout)`;

export const FLUSH_FAILED = (buffer: string, attempts: number, cause: string) =>
  `Flush of buffer "${buffer}" failed after ${plural(attempts, 'attempt')}: ${cause}`;

export const SHUTDOWN_TIMED_OUT = (buffer: string, timeout: number) =>
  `Shutdown of buffer "${buffer}" ran out of time after ${timeout} ms (shutdownTimeout) before the batch was flushed`;

export const INVALID_OPTION = (buffer: string, option: string, expected: string, got: string) =>
  `Invalid option "${option}" for buffer "${buffer}": expected ${expected}, got ${got}`;

export const REJECTED_ITEMS = (buffer: string, count: number, first: string) =>
  `The @OnFlush handler of buffer "${buffer}" rejected ${plural(count, 'item')} (first: ${first})`;

export const PARTIAL_FLUSH = (buffer: string, count: number, attempts: number) =>
  `Buffer "${buffer}" gave up on ${plural(count, 'item')} that the @OnFlush handler asked to retry after ${plural(attempts, 'attempt')}`;

export const DRAINED = (buffer: string) => `Item was drained from buffer "${buffer}" before it was flushed`;

export const BAD_KEY = (buffer: string, got: string) => `Buffer "${buffer}": a key must be a string or a number, got ${got}`;

export const KEY_ON_COALESCING = (buffer: string) =>
  `Buffer "${buffer}" coalesces items by coalesce.key(item): insert, insertMany and commit take no key`;

export const BAD_SIZE = (buffer: string, got: string, index?: number) =>
  `Buffer "${buffer}": sizeOf(item${index === undefined ? '' : ` at index ${index}`}) must return a finite number ≥ 0, got ${got}`;

export const SIZE_THREW = (buffer: string, error: string, index?: number) =>
  `Buffer "${buffer}": sizeOf(item${index === undefined ? '' : ` at index ${index}`}) threw: ${error}`;

export const OUTCOME_UNKNOWN_ITEM = (buffer: string, list: 'retry' | 'reject', index: number) =>
  `The @OnFlush handler of buffer "${buffer}" returned an outcome whose ${list}[${index}] is not among the items of the attempt ` +
  `(items are named by identity), or names an item a second time`;

export const OUTCOME_REJECT_WITHOUT_ITEM = (buffer: string, index: number) =>
  `The @OnFlush handler of buffer "${buffer}" returned an outcome whose reject[${index}] has no item: expected { item, error }`;

export const NO_FLUSH_HANDLER = (buffer: string) =>
  `Buffer "${buffer}" has no flush handler: add a provider class decorated with @BufferHandler('${buffer}') that has an @OnFlush() method`;

// ---- logs --------------------------------------------------------------------------------

export const ITEMS_LOST = (buffer: string, count: number, attempts: number, error: string) =>
  `Buffer "${buffer}" lost ${plural(count, 'item')} after ${plural(attempts, 'attempt')} and has no @OnFlushError handler: ${error}`;

export const FLUSH_ERROR_HANDLER_FAILED = (buffer: string, count: number, error: string) =>
  `The @OnFlushError handler of buffer "${buffer}" failed for ${plural(count, 'item')}: ${error}`;

export const FLUSH_ERROR_HANDLER_TIMED_OUT = (buffer: string, count: number, timeout: number) =>
  `The @OnFlushError handler of buffer "${buffer}" did not finish within flushTimeout (${timeout} ms) for ${plural(count, 'item')}`;

export const INTERNAL_ERROR = (buffer: string, error: string) => `Unexpected error in buffer "${buffer}": ${error}`;
