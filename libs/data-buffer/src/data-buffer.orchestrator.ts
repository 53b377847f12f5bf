import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataBufferRegistry } from './data-buffer.registry';

/**
 * Starts every buffer's timers at bootstrap and runs the graceful flush at shutdown in two
 * steps, so that it does not depend on the order of modules. Nest closes an app in this order:
 * every `beforeApplicationShutdown`, the HTTP server, every `onApplicationShutdown`; ORM modules
 * close their connections in their `onApplicationShutdown`, before or after this one.
 */
@Injectable()
export class DataBufferOrchestrator implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(private readonly registry: DataBufferRegistry) {}

  onApplicationBootstrap(): void {
    for (const buffer of this.registry.getAll()) buffer.start();
  }

  /** Step 1: hand over everything pending while every connection is still open; keep accepting items. */
  beforeApplicationShutdown(): Promise<void> {
    return this.registry.beginCloseAll();
  }

  /** Step 2: the HTTP server is closed; stop accepting, hand over the rest, wait within the budget. */
  onApplicationShutdown(): Promise<void> {
    return this.registry.closeAll();
  }
}
