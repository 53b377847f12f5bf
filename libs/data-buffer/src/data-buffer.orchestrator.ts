import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataBufferRegistry } from './data-buffer.registry';

/**
 * Starts every buffer's timers at bootstrap and runs the graceful flush at shutdown, when
 * the HTTP server is already closed and no request can insert any more.
 */
@Injectable()
export class DataBufferOrchestrator implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(private readonly registry: DataBufferRegistry) {}

  onApplicationBootstrap(): void {
    for (const buffer of this.registry.getAll()) buffer.start();
  }

  onApplicationShutdown(): Promise<void> {
    return this.registry.closeAll();
  }
}
