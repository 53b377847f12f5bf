import { BufferHandler, OnFlush, OnFlushError, type FlushContext } from 'nestjs-data-buffer';
import { DeadLetterService } from '../dead-letter/dead-letter.service';
import type { EventRecord } from './event-record.interface';
import { EVENTS_BUFFER } from './events.constants';
import { EventsRepository } from './events.repository';

/** Writes each batch of the `events` buffer with one INSERT; a batch that keeps failing goes to the dead-letter file. */
@BufferHandler(EVENTS_BUFFER)
export class EventsFlushHandler {
  constructor(
    private readonly repository: EventsRepository,
    private readonly deadLetter: DeadLetterService,
  ) {}

  @OnFlush()
  async save(events: EventRecord[], ctx: FlushContext): Promise<void> {
    ctx.signal.throwIfAborted();
    await this.repository.insertMany(events, ctx.batchId);
  }

  @OnFlushError()
  async toDeadLetter(error: unknown, events: EventRecord[], ctx: FlushContext): Promise<void> {
    await this.deadLetter.write(error, events, ctx);
  }
}
