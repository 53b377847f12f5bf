import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DATA_BUFFER_LOGGER_CONTEXT, DATA_BUFFER_ROOT_OPTIONS, DEFAULT_SHUTDOWN_TIMEOUT } from './data-buffer.constants';
import { DUPLICATE_BUFFER, UNIQUE_NAME, UNKNOWN_BUFFER } from './data-buffer.messages';
import { DataBufferError, InvalidBufferOptionsError } from './errors';
import { DataBuffer, resolveBufferOptions } from './engine';
import type { BufferOptions } from './engine';
import type { DataBufferRootOptions } from './interfaces';
import { LaneTimerScheduler } from './lane-timer.scheduler';

/** Every buffer of the application by name; the module creates buffers through it. */
@Injectable()
export class DataBufferRegistry {
  private readonly buffers = new Map<string, DataBuffer<any>>();
  private readonly logger = new Logger(DATA_BUFFER_LOGGER_CONTEXT);

  constructor(
    private readonly scheduler: LaneTimerScheduler,
    @Optional() @Inject(DATA_BUFFER_ROOT_OPTIONS) private readonly rootOptions?: DataBufferRootOptions,
  ) {}

  /** The buffer named `name`; throws when there is none. */
  get<T = unknown>(name: string): DataBuffer<T> {
    const buffer = this.buffers.get(name);
    if (buffer === undefined) throw new DataBufferError(UNKNOWN_BUFFER(name), name);
    return buffer as DataBuffer<T>;
  }

  /** Every registered buffer, in registration order. */
  getAll(): DataBuffer<unknown>[] {
    return [...this.buffers.values()];
  }

  /** Whether a buffer named `name` is registered. */
  has(name: string): boolean {
    return this.buffers.has(name);
  }

  /**
   * Step 1 of the graceful shutdown, on every buffer (see `beginClose` of a buffer): hands over
   * everything pending and keeps accepting items, flushing them through. The module runs it in
   * `beforeApplicationShutdown`; `shutdownTimeout` counts from here. Idempotent.
   */
  beginCloseAll(): Promise<void> {
    const budget = this.shutdownTimeout();
    return Promise.all(this.getAll().map((buffer) => buffer.beginClose(budget))).then(() => undefined);
  }

  /**
   * The graceful flush of every buffer within `shutdownTimeout` (see `close` of a buffer); after
   * `beginCloseAll` it is step 2 and the budget counts from step 1. The module runs it in
   * `onApplicationShutdown`. Call it yourself when you use the registry without Nest's shutdown
   * hooks, or before you close a connection the handlers need in a hook that runs earlier than
   * `beforeApplicationShutdown` (such as `onModuleDestroy`). Idempotent.
   */
  closeAll(): Promise<void> {
    const budget = this.shutdownTimeout();
    return Promise.all(this.getAll().map((buffer) => buffer.close(budget))).then(() => undefined);
  }

  /** Resolves `options` over the `forRoot` defaults, creates the buffer and registers it. */
  create<T>(options: BufferOptions): DataBuffer<T> {
    const resolved = resolveBufferOptions(options, this.rootOptions?.defaults);
    const { name } = resolved;
    if (this.buffers.has(name)) throw new InvalidBufferOptionsError(name, 'name', name, UNIQUE_NAME, DUPLICATE_BUFFER(name));
    // Resolved options resolve to themselves: the engine's own check changes nothing.
    const buffer = new DataBuffer<T>(resolved, { scheduler: this.scheduler, logger: this.logger });
    this.buffers.set(name, buffer);
    return buffer;
  }

  private shutdownTimeout(): number {
    return this.rootOptions?.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
  }
}
