export * from './data-buffer.module';
export { DataBufferRegistry } from './data-buffer.registry';
export { getBufferToken } from './data-buffer.utils';
export * from './decorators';
export {
  BufferClosedError,
  BufferFullError,
  DataBufferError,
  FlushFailedError,
  FlushTimeoutError,
  InvalidBufferOptionsError,
  PartialFlushError,
  RejectedItemsError,
  ShutdownTimeoutError,
} from './errors';
export type { DataBufferHandler } from './data-buffer-handler.interface';
export type {
  BufferOptionsWithoutName,
  DataBufferFeatureAsyncOptions,
  DataBufferOptionsFactory,
  DataBufferRootAsyncOptions,
  DataBufferRootOptions,
  DataBufferRootOptionsFactory,
} from './interfaces';
export { DataBuffer, DROP_CHANNEL_NAME, FLUSH_CHANNEL_NAME, DEFAULT_BUFFER_OPTIONS, DefaultBufferScheduler } from './engine';
export type {
  BufferKey,
  CoalesceOptions,
  BufferLogger,
  BufferOptions,
  BufferOptionsPatch,
  BufferScheduler,
  BufferStats,
  DataBufferHooks,
  DropMessage,
  FlushContext,
  FlushErrorHandler,
  FlushHandler,
  FlushOutcome,
  FlushReason,
  FlushReport,
  FlushTraceContext,
  OverflowStrategy,
  ResolvedBufferOptions,
  RetryBackoff,
  TimerHandle,
} from './engine';
