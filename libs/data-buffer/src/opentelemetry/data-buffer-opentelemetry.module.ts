import { DynamicModule, Module } from '@nestjs/common';
import { DATA_BUFFER_OPENTELEMETRY_OPTIONS } from './data-buffer-opentelemetry.constants';
import type {
  DataBufferOpenTelemetryAsyncOptions,
  DataBufferOpenTelemetryOptions,
} from './data-buffer-opentelemetry-options.interface';
import { DataBufferOpenTelemetry } from './data-buffer-opentelemetry.service';

/** OpenTelemetry metrics and spans for every buffer of the app. */
@Module({})
export class DataBufferOpenTelemetryModule {
  /** Instruments every buffer at bootstrap; providers default to the global ones. */
  static forRoot(options: DataBufferOpenTelemetryOptions = {}): DynamicModule {
    return {
      module: DataBufferOpenTelemetryModule,
      providers: [{ provide: DATA_BUFFER_OPENTELEMETRY_OPTIONS, useValue: options }, DataBufferOpenTelemetry],
      exports: [DataBufferOpenTelemetry],
    };
  }

  /** `forRoot` with the providers from a factory (e.g. a MeterProvider from your own module). */
  static forRootAsync(options: DataBufferOpenTelemetryAsyncOptions): DynamicModule {
    return {
      module: DataBufferOpenTelemetryModule,
      imports: options.imports ?? [],
      providers: [
        { provide: DATA_BUFFER_OPENTELEMETRY_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        DataBufferOpenTelemetry,
      ],
      exports: [DataBufferOpenTelemetry],
    };
  }
}
