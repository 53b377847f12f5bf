import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { DataBufferMetadataAccessor } from './data-buffer-metadata.accessor';
import { warnContradictoryOptions } from './data-buffer-options.checker';
import {
  HANDLER_FOR_UNKNOWN_BUFFER,
  HANDLER_WITHOUT_ON_FLUSH,
  NO_FLUSH_HANDLER,
  SCOPED_HANDLER,
  TWO_ON_FLUSH,
  TWO_ON_FLUSH_ERROR,
} from './data-buffer.messages';
import { DataBufferRegistry } from './data-buffer.registry';
import { DataBufferError } from './errors';
import type { FlushErrorHandler, FlushHandler } from './engine';

interface FoundHandler {
  label: string;
  fn: Function;
}

/**
 * Finds `@BufferHandler` providers at `onModuleInit`, binds their `@OnFlush` and
 * `@OnFlushError` methods to the buffers, and fails bootstrap on what cannot work.
 */
@Injectable()
export class DataBufferExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: DataBufferMetadataAccessor,
    private readonly registry: DataBufferRegistry,
  ) {}

  onModuleInit(): void {
    const onFlush = new Map<string, FoundHandler>();
    const onFlushError = new Map<string, FoundHandler>();
    for (const wrapper of this.discovery.getProviders()) {
      this.explore(wrapper, onFlush, onFlushError);
    }
    for (const buffer of this.registry.getAll()) {
      warnContradictoryOptions(buffer);
      const flush = onFlush.get(buffer.name);
      if (flush === undefined) throw new DataBufferError(NO_FLUSH_HANDLER(buffer.name), buffer.name);
      const error = onFlushError.get(buffer.name);
      buffer.setHandlers(flush.fn as FlushHandler<unknown>, error?.fn as FlushErrorHandler<unknown> | undefined);
    }
  }

  private explore(wrapper: InstanceWrapper, onFlush: Map<string, FoundHandler>, onFlushError: Map<string, FoundHandler>): void {
    if (wrapper.isAlias) return;
    const { instance } = wrapper;
    const metatype = !wrapper.metatype || wrapper.inject ? instance?.constructor : wrapper.metatype;
    if (!metatype) return;
    const bufferName = this.accessor.getHandlerBuffer(metatype);
    if (bufferName === undefined) return;
    const className = metatype.name || String(wrapper.token);
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      throw new DataBufferError(SCOPED_HANDLER(className, bufferName), bufferName);
    }
    if (!instance) return;
    if (!this.registry.has(bufferName)) {
      throw new DataBufferError(HANDLER_FOR_UNKNOWN_BUFFER(className, bufferName), bufferName);
    }
    let found = false;
    const prototype = Object.getPrototypeOf(instance);
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const method = prototype[methodName];
      if (typeof method !== 'function') continue;
      const label = `${className}.${methodName}`;
      if (this.accessor.isOnFlush(method)) {
        const previous = onFlush.get(bufferName);
        if (previous !== undefined) throw new DataBufferError(TWO_ON_FLUSH(bufferName, previous.label, label), bufferName);
        onFlush.set(bufferName, { label, fn: method.bind(instance) });
        found = true;
      }
      if (this.accessor.isOnFlushError(method)) {
        const previous = onFlushError.get(bufferName);
        if (previous !== undefined) throw new DataBufferError(TWO_ON_FLUSH_ERROR(bufferName, previous.label, label), bufferName);
        onFlushError.set(bufferName, { label, fn: method.bind(instance) });
      }
    }
    if (!found) throw new DataBufferError(HANDLER_WITHOUT_ON_FLUSH(className, bufferName), bufferName);
  }
}
