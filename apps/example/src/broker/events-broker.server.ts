import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { ServerRMQ, type ConsumerDeserializer, type IncomingEvent } from '@nestjs/microservices';
import type { Channel, ConsumeMessage } from 'amqplib';
import {
  CANCEL_FAILED,
  CHANNEL_ERROR,
  CONSUMER_CANCELLED,
  DRAIN_TIMED_OUT,
  SETUP_FAILED,
  STOPPED_CONSUMING,
} from './broker.messages';

/** Where and how the app consumes events. */
export interface EventsBrokerOptions {
  url: string;
  queue: string;
  /** Unacknowledged messages in hand at once. */
  prefetch: number;
  /** How long (ms) shutdown waits for the messages in hand to settle before the channel closes. */
  drainTimeout: number;
}

/**
 * Every message is an event: `{ pattern, data }`, whatever else it carries. Nest's default would
 * take a message with a top-level `id` for a request and try to send a reply to nowhere.
 */
class EventPacketDeserializer implements ConsumerDeserializer {
  deserialize(value: unknown): IncomingEvent {
    const packet = (value !== null && typeof value === 'object' ? value : {}) as Partial<IncomingEvent>;
    return { pattern: packet.pattern, data: packet.data };
  }
}

/**
 * Nest's RMQ server (`noAck: false`, durable queue) with what a consumer that must not lose or
 * crash needs on top:
 * - it tracks the messages being handled; at shutdown it first stops taking new ones (in
 *   `beforeApplicationShutdown`, while the buffers flush), and `close()` waits until the messages
 *   in hand have been acknowledged or requeued, up to `drainTimeout`, before closing the channel;
 * - a channel whose setup fails (e.g. the connection dropped meanwhile) is logged instead of being
 *   an unhandled `'error'` event that ends the process; amqp-connection-manager reconnects and
 *   sets the channel up again.
 */
export class EventsBrokerServer extends ServerRMQ implements BeforeApplicationShutdown {
  private readonly log = new Logger('Broker');
  /** Messages taken and not yet acknowledged or requeued. */
  private readonly handling = new Set<Promise<void>>();
  private readonly consumerTag = `events-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  private current: Channel | undefined;
  private stopping: Promise<void> | undefined;
  private stoppedAt = 0;

  constructor(private readonly settings: EventsBrokerOptions) {
    super({
      urls: [settings.url],
      queue: settings.queue,
      noAck: false,
      prefetchCount: settings.prefetch,
      queueOptions: { durable: true },
      deserializer: new EventPacketDeserializer(),
    });
    // Set after super(): ServerRMQ reads consumerTag from the options when it consumes.
    this.options.consumerTag = this.consumerTag;
  }

  override async start(callback?: (err?: unknown, ...optionalParams: unknown[]) => void): Promise<void> {
    await super.start(callback);
    // ServerRMQ creates its channel wrapper on the first 'connect', in a listener added before this
    // one; the wrapper emits 'error' when setting up a channel fails, and nobody else listens.
    this.server?.on('connect', () => {
      if (this.channel && this.channel.listenerCount('error') === 0) {
        this.channel.on('error', (error: Error) => this.log.error(CHANNEL_ERROR(error.message)));
      }
    });
  }

  override async setupChannel(channel: Channel, callback: (...args: unknown[]) => void): Promise<void> {
    if (this.stopping) return;
    this.current = channel;
    try {
      await super.setupChannel(channel, callback);
    } catch (error) {
      this.log.error(SETUP_FAILED(this.settings.queue, error instanceof Error ? error.message : String(error)));
    }
  }

  // Record<string, any>: the base class's type; amqplib hands a ConsumeMessage, or null when the
  // broker cancelled the consumer.
  override handleMessage(message: Record<string, any>, channel: Channel): Promise<void> {
    if ((message as ConsumeMessage | null) === null) {
      this.log.warn(CONSUMER_CANCELLED(this.settings.queue));
      return Promise.resolve();
    }
    const handled = super.handleMessage(message, channel);
    this.handling.add(handled);
    const done = () => this.handling.delete(handled);
    handled.then(done, done);
    return handled;
  }

  /** Shutdown, first step: no new deliveries; the messages in hand still settle. */
  beforeApplicationShutdown(): Promise<void> {
    return this.stopConsuming();
  }

  /** Stops taking messages (idempotent); other consumers of the queue get them instead. */
  stopConsuming(): Promise<void> {
    this.stopping ??= this.cancel();
    return this.stopping;
  }

  override async close(): Promise<void> {
    await this.stopConsuming();
    await this.drain();
    await super.close();
  }

  private async cancel(): Promise<void> {
    this.stoppedAt = Date.now();
    const channel = this.current;
    if (!channel) return;
    try {
      await within(channel.cancel(this.consumerTag), this.settings.drainTimeout);
      this.log.log(STOPPED_CONSUMING(this.settings.queue));
    } catch (error) {
      this.log.warn(CANCEL_FAILED(error instanceof Error ? error.message : String(error)));
    }
  }

  /** Waits until every message in hand has settled, or until `drainTimeout` after consuming stopped. */
  private async drain(): Promise<void> {
    while (this.handling.size > 0) {
      const left = this.stoppedAt + this.settings.drainTimeout - Date.now();
      if (left <= 0) {
        this.log.warn(DRAIN_TIMED_OUT(this.handling.size));
        return;
      }
      await within(Promise.allSettled([...this.handling]), left).catch(() => undefined);
    }
  }
}

/** `promise`, or a rejection after `ms`; the timer never keeps the process alive. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
