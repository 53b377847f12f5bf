import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { DataBufferRegistry } from '../data-buffer.registry';
import { DATA_BUFFER_OPENTELEMETRY_OPTIONS } from './data-buffer-opentelemetry.constants';
import type { DataBufferOpenTelemetryOptions } from './data-buffer-opentelemetry-options.interface';
import { instrumentDataBuffers } from './instrument-data-buffers';
import type { DataBufferInstrumentation } from './instrument-data-buffers';

/**
 * Instruments every buffer of the app at bootstrap, when all of them are registered, and
 * stops after their graceful flush at shutdown, so the spans of that flush are recorded too.
 */
@Injectable()
export class DataBufferOpenTelemetry implements OnApplicationBootstrap, OnApplicationShutdown {
  private instrumentation: DataBufferInstrumentation | undefined;

  constructor(
    @Inject(DATA_BUFFER_OPENTELEMETRY_OPTIONS) private readonly options: DataBufferOpenTelemetryOptions,
    @Optional() private readonly registry?: DataBufferRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (this.registry === undefined || this.instrumentation !== undefined) return;
    this.instrumentation = instrumentDataBuffers(this.registry.getAll(), this.options);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.instrumentation === undefined) return;
    try {
      // The same idempotent graceful flush the module runs: wait for it, whichever hook runs first.
      await this.registry?.closeAll();
    } finally {
      this.instrumentation.disable();
      this.instrumentation = undefined;
    }
  }
}
