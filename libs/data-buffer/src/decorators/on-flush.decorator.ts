import { SetMetadata } from '@nestjs/common';
import { ON_FLUSH_METADATA } from '../data-buffer.constants';

/** Marks the method that persists a batch: `(items: T[], ctx: FlushContext) => Promise<void> | void`. */
export function OnFlush(): MethodDecorator {
  return SetMetadata(ON_FLUSH_METADATA, true);
}
