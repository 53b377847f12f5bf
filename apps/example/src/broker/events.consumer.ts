import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, Payload, RmqContext } from '@nestjs/microservices';
import type { Channel, Message } from 'amqplib';
import { FlushFailedError } from 'nestjs-data-buffer';
import { EVENT_TRACKED_PATTERN } from '../events/events.constants';
import { EventsService } from '../events/events.service';
import { readBrokerEvent } from './broker-event';
import { DEAD_LETTERED, INVALID_MESSAGE, REQUEUED, SETTLE_LOST } from './broker.messages';

/** What becomes of a message once its event settled. */
export type Settlement = 'ack' | 'requeue';

/**
 * `ack` when the event is stored somewhere for good: in the table, or (`FlushFailedError`) in the
 * dead-letter file, since a failed commit settles only after `@OnFlushError` returned. `requeue`
 * for everything else (buffer full or closed, direct insert failed): the event is nowhere, so the
 * broker must hand it out again.
 */
export function settlementOf(error: unknown): Settlement {
  return error instanceof FlushFailedError ? 'ack' : 'requeue';
}

/**
 * Consumes `{"pattern":"event.tracked","data":{...}}` messages from the broker. Each message is
 * acknowledged only once its event's `commit()` settled (see {@link settlementOf}); an invalid one
 * is acknowledged at once and logged, so it is never redelivered. Handling never throws.
 */
@Controller()
export class EventsConsumer {
  private readonly logger = new Logger('EventsConsumer');

  constructor(private readonly events: EventsService) {}

  @EventPattern(EVENT_TRACKED_PATTERN)
  async consume(@Payload() data: unknown, @Ctx() ctx: RmqContext): Promise<void> {
    const message = ctx.getMessage() as Message;
    const channel = ctx.getChannelRef() as Channel;
    const checked = readBrokerEvent(data);
    if ('problems' in checked) {
      this.logger.warn(INVALID_MESSAGE(message.fields.deliveryTag, checked.id, checked.problems.join('; ')));
      this.settle(channel, message, 'ack', checked.id ?? String(message.fields.deliveryTag));
      return;
    }
    const { id } = checked.event;
    try {
      await this.events.commit(checked.event);
      this.settle(channel, message, 'ack', id);
    } catch (error) {
      const settlement = settlementOf(error);
      const reason = error instanceof Error ? error.message : String(error);
      if (settlement === 'ack') this.logger.warn(DEAD_LETTERED(id, reason));
      else this.logger.warn(REQUEUED(id, reason));
      this.settle(channel, message, settlement, id);
    }
  }

  /** A closed channel throws on ack/nack; the broker then redelivers the message by itself. */
  private settle(channel: Channel, message: Message, settlement: Settlement, id: string): void {
    try {
      if (settlement === 'ack') channel.ack(message);
      else channel.nack(message, false, true);
    } catch (error) {
      const what = settlement === 'ack' ? 'ack' : 'nack';
      this.logger.warn(SETTLE_LOST(id, what, error instanceof Error ? error.message : String(error)));
    }
  }
}
