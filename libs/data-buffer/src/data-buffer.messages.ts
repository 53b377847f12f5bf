/** Every message the library logs or throws at bootstrap, in one place. */

export const ITEMS_LOST = (buffer: string, count: number, attempts: number, error: string) =>
  `Buffer "${buffer}" lost ${count} item${count === 1 ? '' : 's'} after ${attempts} attempt${attempts === 1 ? '' : 's'} ` +
  `and has no @OnFlushError handler: ${error}`;

export const FLUSH_ERROR_HANDLER_FAILED = (buffer: string, count: number, error: string) =>
  `The @OnFlushError handler of buffer "${buffer}" failed for ${count} item${count === 1 ? '' : 's'}: ${error}`;

export const FLUSH_ERROR_HANDLER_TIMED_OUT = (buffer: string, count: number, timeout: number) =>
  `The @OnFlushError handler of buffer "${buffer}" did not finish within flushTimeout (${timeout} ms) for ${count} item${count === 1 ? '' : 's'}`;

export const NO_FLUSH_HANDLER = (buffer: string) =>
  `Buffer "${buffer}" has no flush handler: add a provider class decorated with @BufferHandler('${buffer}') that has an @OnFlush() method`;

export const INTERNAL_ERROR = (buffer: string, error: string) => `Unexpected error in buffer "${buffer}": ${error}`;

export const DUPLICATE_BUFFER = (buffer: string) =>
  `Buffer "${buffer}" is registered twice: every DataBufferModule.forFeature() name must be unique`;

export const UNKNOWN_BUFFER = (buffer: string) =>
  `No buffer named "${buffer}" is registered: add DataBufferModule.forFeature({ name: '${buffer}' }) to a module's imports`;

export const HANDLER_FOR_UNKNOWN_BUFFER = (className: string, buffer: string) =>
  `${className} is a @BufferHandler('${buffer}') but no buffer named "${buffer}" is registered: ` +
  `add DataBufferModule.forFeature({ name: '${buffer}' }) to a module's imports`;

export const HANDLER_WITHOUT_ON_FLUSH = (className: string, buffer: string) =>
  `${className} is a @BufferHandler('${buffer}') but has no @OnFlush() method`;

export const TWO_ON_FLUSH = (buffer: string, first: string, second: string) =>
  `Buffer "${buffer}" has two @OnFlush() handlers (${first} and ${second}): a buffer takes exactly one`;

export const TWO_ON_FLUSH_ERROR = (buffer: string, first: string, second: string) =>
  `Buffer "${buffer}" has two @OnFlushError() handlers (${first} and ${second}): a buffer takes at most one`;

export const SCOPED_HANDLER = (className: string, buffer: string) =>
  `${className} is a @BufferHandler('${buffer}') but is request-scoped or transient (or depends on such a provider): ` +
  `buffer handlers must be singletons`;


export const CONTRADICTORY_OPTIONS = (buffer: string, option: string, value: number, other: string, otherValue: number, consequence: string) =>
  `Buffer "${buffer}": ${option} (${value}) is above ${other} (${otherValue}): ${consequence}`;
