import { Injectable, Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { BUFFER_HANDLER_METADATA, ON_FLUSH_ERROR_METADATA, ON_FLUSH_METADATA } from './data-buffer.constants';

/** Reads what the decorators wrote. */
@Injectable()
export class DataBufferMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  /** The buffer name of a `@BufferHandler` class, or undefined. */
  getHandlerBuffer(target: Type<unknown> | Function): string | undefined {
    return this.reflector.get<string | undefined>(BUFFER_HANDLER_METADATA, target);
  }

  /** Whether a method is decorated with `@OnFlush()`. */
  isOnFlush(method: Function): boolean {
    return this.reflector.get<boolean | undefined>(ON_FLUSH_METADATA, method) === true;
  }

  /** Whether a method is decorated with `@OnFlushError()`. */
  isOnFlushError(method: Function): boolean {
    return this.reflector.get<boolean | undefined>(ON_FLUSH_ERROR_METADATA, method) === true;
  }
}
