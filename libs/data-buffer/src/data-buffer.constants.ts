/** Metadata key written by `@BufferHandler(name)` on a class. */
export const BUFFER_HANDLER_METADATA = 'data-buffer:handler';
/** Metadata key written by `@OnFlush()` on a method. */
export const ON_FLUSH_METADATA = 'data-buffer:on-flush';
/** Metadata key written by `@OnFlushError()` on a method. */
export const ON_FLUSH_ERROR_METADATA = 'data-buffer:on-flush-error';
/** Injection token of the `forRoot` options. */
export const DATA_BUFFER_ROOT_OPTIONS = 'data-buffer:root-options';
/** The context of every log line of the library. */
export const DATA_BUFFER_LOGGER_CONTEXT = 'DataBuffer';
/** Shutdown budget when `forRoot` sets none, in ms. */
export const DEFAULT_SHUTDOWN_TIMEOUT = 15_000;
