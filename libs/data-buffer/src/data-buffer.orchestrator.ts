import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown, Optional } from '@nestjs/common';
import { DATA_BUFFER_ROOT_OPTIONS, DEFAULT_SHUTDOWN_TIMEOUT } from './data-buffer.constants';
import { DataBufferRegistry } from './data-buffer.registry';
import type { DataBufferRootOptions } from './interfaces';

/**
 * Starts every buffer's timers at bootstrap and runs the graceful flush at shutdown, when
 * the HTTP server is already closed and no request can insert any more.
 */
@Injectable()
export class DataBufferOrchestrator implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly registry: DataBufferRegistry,
    @Optional() @Inject(DATA_BUFFER_ROOT_OPTIONS) private readonly rootOptions?: DataBufferRootOptions,
  ) {}

  onApplicationBootstrap(): void {
    for (const buffer of this.registry.getAll()) buffer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    const budget = this.rootOptions?.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
    await Promise.all(this.registry.getAll().map((buffer) => buffer.close(budget)));
  }
}
