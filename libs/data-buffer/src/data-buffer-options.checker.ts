import { Logger } from '@nestjs/common';
import { DATA_BUFFER_LOGGER_CONTEXT } from './data-buffer.constants';
import { CONTRADICTORY_OPTIONS } from './data-buffer.messages';
import type { DataBuffer } from './engine';

const logger = new Logger(DATA_BUFFER_LOGGER_CONTEXT);

/** Warns about options of `buffer` that are each valid but contradict each other. */
export function warnContradictoryOptions(buffer: DataBuffer<unknown>): void {
  const options = buffer.options as typeof buffer.options & { commitDelay?: number };
  if (options.maxSize > options.capacity) {
    logger.warn(CONTRADICTORY_OPTIONS(buffer.name, 'maxSize', options.maxSize, 'capacity', options.capacity, 'a batch can never reach maxSize'));
  }
  if (options.commitDelay !== undefined && options.commitDelay > options.interval) {
    logger.warn(
      CONTRADICTORY_OPTIONS(buffer.name, 'commitDelay', options.commitDelay, 'interval', options.interval, 'the interval always flushes a batch before its commitDelay'),
    );
  }
}
