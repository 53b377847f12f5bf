import { SetMetadata } from '@nestjs/common';
import { ON_FLUSH_ERROR_METADATA } from '../data-buffer.constants';

/** Marks the method that receives a batch whose attempts all failed: `(error, items: T[], ctx: FlushContext)`. */
export function OnFlushError(): MethodDecorator {
  return SetMetadata(ON_FLUSH_ERROR_METADATA, true);
}
