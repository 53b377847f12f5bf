/** Every message the Nest side of the library logs or throws; the engine's are in engine/engine.messages.ts. */

export { NO_FLUSH_HANDLER } from './engine/engine.messages';

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

