export { BufferRecorder } from './buffer-recorder';
export type { RecordedFailure, RecordedFlush } from './buffer-recorder';
export { DataBufferTestingModule, getBufferRecorderToken } from './data-buffer-testing.module';
export { createFlushContext } from './flush-context.factory';
