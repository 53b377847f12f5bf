/**
 * Publishes events to the queue of the example app's broker-fed path, the way a producer would:
 * persistent JSON messages `{"pattern":"event.tracked","data":{...}}`, each event with a fresh UUID
 * as its `id`, through a confirm channel, so that every event counted was taken by the broker.
 *
 *   npm run publish-events -- 10000
 *   AMQP_URL=amqp://guest:guest@127.0.0.1:5672 AMQP_QUEUE=events npm run publish-events -- 500
 */
import { randomUUID } from 'node:crypto';
import { connect, type ConfirmChannel } from 'amqplib';
import { EVENT_TRACKED_PATTERN } from '../src/events/events.constants';

/** Where {@link publishEvents} publishes. */
export interface PublishOptions {
  /** Default `amqp://guest:guest@127.0.0.1:5672`. */
  url?: string;
  /** Default `events`; declared durable when missing, like the app does. */
  queue?: string;
  /** How many events. */
  count: number;
  /** Builds event `i` (default {@link sampleEvent}); its `id` is set by the publisher. */
  event?: (i: number) => Record<string, unknown>;
}

/** What {@link publishEvents} did. */
export interface PublishResult {
  /** The ids of the events, in publishing order; every one was confirmed by the broker. */
  ids: string[];
  /** Milliseconds from the first publish to the last confirm. */
  ms: number;
}

const TYPES = ['page.viewed', 'button.clicked', 'signup.completed', 'checkout.completed', 'search.performed'];

/** An event of the shape a web front end sends: a type, a user, a small payload, the time it happened. */
export function sampleEvent(i: number): Record<string, unknown> {
  const type = TYPES[i % TYPES.length];
  return {
    type,
    userId: `user-${(i * 7919) % 5000}`,
    payload: {
      sessionId: `s-${Math.floor(i / 20)}`,
      path: `/products/${i % 300}`,
      referrer: i % 3 === 0 ? 'https://www.example.com/' : null,
      ...(type === 'checkout.completed' ? { amountCents: 1000 + (i % 9000), currency: 'EUR' } : {}),
    },
    occurredAt: new Date(Date.now() - (i % 1000)).toISOString(),
  };
}

/** The message body of one event. */
export function eventMessage(data: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ pattern: EVENT_TRACKED_PATTERN, data }));
}

/** Publishes `count` events with fresh UUIDs and resolves once the broker confirmed all of them. */
export async function publishEvents(options: PublishOptions): Promise<PublishResult> {
  const url = options.url ?? 'amqp://guest:guest@127.0.0.1:5672';
  const queue = options.queue ?? 'events';
  const build = options.event ?? sampleEvent;
  const connection = await connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true });
    const ids: string[] = [];
    const started = performance.now();
    for (let i = 0; i < options.count; i++) {
      const id = randomUUID();
      ids.push(id);
      const sent = channel.sendToQueue(queue, eventMessage({ ...build(i), id }), {
        persistent: true,
        contentType: 'application/json',
        messageId: id,
      });
      if (!sent) await drained(channel);
      // Bounds the confirms outstanding (and the memory they hold).
      if (i % 5000 === 4999) await channel.waitForConfirms();
    }
    await channel.waitForConfirms();
    const ms = performance.now() - started;
    await channel.close();
    return { ids, ms };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

function drained(channel: ConfirmChannel): Promise<void> {
  return new Promise((resolve) => channel.once('drain', resolve));
}

/** The URL without its password, for printing. */
function shown(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function main(): Promise<void> {
  const raw = process.argv[2] ?? '1000';
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) throw new Error(`the number of events must be an integer >= 1, got "${raw}"`);
  const url = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
  const queue = process.env.AMQP_QUEUE || 'events';
  const { ids, ms } = await publishEvents({ url, queue, count });
  const rate = Math.round(ids.length / (ms / 1000));
  process.stdout.write(
    `published ${ids.length} events to queue "${queue}" on ${shown(url)} in ${Math.round(ms)} ms (${rate} events/s), all confirmed\n`,
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
