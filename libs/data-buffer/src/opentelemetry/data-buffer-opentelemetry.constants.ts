/** Injection token of the `DataBufferOpenTelemetryModule` options. */
export const DATA_BUFFER_OPENTELEMETRY_OPTIONS = 'data-buffer:opentelemetry-options';
