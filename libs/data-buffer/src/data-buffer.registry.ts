import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DATA_BUFFER_LOGGER_CONTEXT, DATA_BUFFER_ROOT_OPTIONS, DEFAULT_SHUTDOWN_TIMEOUT } from './data-buffer.constants';
import { DUPLICATE_BUFFER, UNKNOWN_BUFFER } from './data-buffer.messages';
import { DataBufferError, InvalidBufferOptionsError } from './errors';
import { DataBuffer, resolveBufferOptions, validateBufferName } from './engine';
import type { BufferOptions } from './engine';
import type { DataBufferRootOptions } from './interfaces';
import { SchedulerRegistryAdapter } from './scheduler-registry.adapter';

/** Every buffer of the application by name; the module creates buffers through it. */
@Injectable()
export class DataBufferRegistry {
  private readonly buffers = new Map<string, DataBuffer<any>>();
  private readonly logger = new Logger(DATA_BUFFER_LOGGER_CONTEXT);

  constructor(
    private readonly scheduler: SchedulerRegistryAdapter,
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
   * The graceful flush of every buffer within `shutdownTimeout` (see `close` of a buffer).
   * The module runs it in `onApplicationShutdown`; a provider whose connection the handlers
   * need can await it first in its own shutdown hook, then close the connection. Idempotent.
   */
  closeAll(): Promise<void> {
    const budget = this.rootOptions?.shutdownTimeout ?? DEFAULT_SHUTDOWN_TIMEOUT;
    return Promise.all(this.getAll().map((buffer) => buffer.close(budget))).then(() => undefined);
  }

  /** Validates `options` over the `forRoot` defaults, creates the buffer and registers it. */
  create<T>(options: BufferOptions): DataBuffer<T> {
    validateBufferName(options?.name);
    if (this.buffers.has(options.name)) {
      throw new InvalidBufferOptionsError(options.name, 'name', options.name, `a unique name. ${DUPLICATE_BUFFER(options.name)}`);
    }
    const resolved = resolveBufferOptions(options, this.rootOptions?.defaults);
    const buffer = new DataBuffer<T>(resolved, { scheduler: this.scheduler, logger: this.logger });
    this.buffers.set(buffer.name, buffer);
    return buffer;
  }
}
