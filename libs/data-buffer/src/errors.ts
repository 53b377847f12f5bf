/** The exported error classes; they live with the engine, which throws them. */
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
  describe,
  messageOf,
} from './engine/errors';
