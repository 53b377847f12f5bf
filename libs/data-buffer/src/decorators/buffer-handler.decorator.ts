import { SetMetadata } from '@nestjs/common';
import { BUFFER_HANDLER_METADATA } from '../data-buffer.constants';

/** Marks a provider class as the flush handler of the buffer `name` (with `@OnFlush` and `@OnFlushError` methods). */
export function BufferHandler(name: string): ClassDecorator {
  return SetMetadata(BUFFER_HANDLER_METADATA, name);
}
