import type { ModuleMetadata } from '@nestjs/common';
import type { InjectionToken, OptionalFactoryDependency } from '@nestjs/common';
import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** Where the metrics and spans of the buffers go. */
export interface DataBufferOpenTelemetryOptions {
  /** Defaults to the global meter provider (`metrics.getMeterProvider()`). */
  meterProvider?: MeterProvider;
  /** Defaults to the global tracer provider (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
}

/** `DataBufferOpenTelemetryModule.forRootAsync` options. */
export interface DataBufferOpenTelemetryAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: any[]) => DataBufferOpenTelemetryOptions | Promise<DataBufferOpenTelemetryOptions>;
}
