export { DataBufferOpenTelemetryModule } from './data-buffer-opentelemetry.module';
export { DataBufferOpenTelemetry } from './data-buffer-opentelemetry.service';
export { instrumentDataBuffers, INSTRUMENTATION_SCOPE } from './instrument-data-buffers';
export type { DataBufferInstrumentation } from './instrument-data-buffers';
export type {
  DataBufferOpenTelemetryAsyncOptions,
  DataBufferOpenTelemetryOptions,
} from './data-buffer-opentelemetry-options.interface';
export * from './semantic-conventions';
