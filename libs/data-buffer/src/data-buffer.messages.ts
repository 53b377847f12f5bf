/** Every message the Nest side of the library logs or throws; the engine's are in engine/engine.messages.ts. */

export { NO_FLUSH_HANDLER } from './engine/engine.messages';

export const DUPLICATE_BUFFER = (buffer: string) =>
  `Buffer "${buffer}" is registered twice: every name given to DataBufferModule.forFeature() or forFeatureAsync() must be unique`;

/** What a name must be when it is already taken. */
export const UNIQUE_NAME = 'a name no other buffer has';

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


// ---- module options --------------------------------------------------------------------

/** How `forRoot`'s errors name what they are about (instead of a buffer). */
export const ROOT_LABEL = 'DataBufferModule.forRoot';

export const INVALID_ROOT_OPTION = (option: string, shownValue: string, expected: string) =>
  `Invalid option "${option}" for ${ROOT_LABEL}: expected ${expected}, got ${shownValue}`;

export const EXPECTED_ROOT_OBJECT = 'an object';
export const EXPECTED_ROOT_OPTION = 'a known option (defaults, shutdownTimeout)';
export const EXPECTED_SHUTDOWN_TIMEOUT = (max: number) => `an integer from 0 to ${max}`;
export const EXPECTED_DEFAULTS_OBJECT = 'an object of buffer options';
export const EXPECTED_NO_DEFAULT_NAME = 'no name: defaults apply to every buffer';
export const EXPECTED_ASYNC_SOURCE = 'useFactory, useClass or useExisting';

// ---- health indicator ------------------------------------------------------------------

export const INVALID_MAX_FILL_RATIO = (value: unknown) => `maxFillRatio must be a number in (0, 1], got ${String(value)}`;

export const HEALTH_UNKNOWN_BUFFER = (buffer: string) => `${buffer}: no such buffer is registered`;

export const HEALTH_TOO_FULL = (buffer: string, held: number, capacity: number, maxFillRatio: number) =>
  `${buffer}: holds ${held} of ${capacity} items (max fill ratio ${maxFillRatio})`;

// The error's message is left out on purpose: a sink's error can quote the items it refused.
export const HEALTH_LAST_FLUSH_FAILED = (buffer: string) => `${buffer}: its most recent flush failed`;

// ---- option warnings -------------------------------------------------------------------

export const CONTRADICTORY_OPTIONS = (buffer: string, option: string, value: number, other: string, otherValue: number, consequence: string) =>
  `Buffer "${buffer}": ${option} (${value}) is above ${other} (${otherValue}): ${consequence}`;
