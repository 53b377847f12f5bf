/** Every line the broker-fed path logs, in one place. */

export const CONSUMING = (queue: string, prefetch: number) =>
  `consuming queue "${queue}" (prefetch ${prefetch})`;

export const CONNECT_FAILED = (message: string) => `could not start consuming: ${message}`;

export const SETUP_FAILED = (queue: string, message: string) =>
  `could not set up the channel of queue "${queue}" (it is set up again on the next reconnect): ${message}`;

export const CHANNEL_ERROR = (message: string) => `channel error: ${message}`;

export const CONSUMER_CANCELLED = (queue: string) =>
  `the broker cancelled the consumer of queue "${queue}" (queue deleted?); it resumes on the next reconnect`;

export const STOPPED_CONSUMING = (queue: string) => `stopped taking messages from queue "${queue}"`;

export const CANCEL_FAILED = (message: string) => `could not cancel the consumer: ${message}`;

export const DRAIN_TIMED_OUT = (count: number) =>
  `${count} message(s) still being stored when the channel closes; the broker redelivers them (deduplicated by event id)`;

export const INVALID_MESSAGE = (deliveryTag: number, id: string | undefined, reasons: string) =>
  `message ${deliveryTag}${id ? ` (event ${id})` : ''} is not a valid event and was acknowledged without storing it: ${reasons}`;

export const DEAD_LETTERED = (id: string, reason: string) =>
  `event ${id} could not be stored and is in the dead-letter file; its message was acknowledged: ${reason}`;

export const REQUEUED = (id: string, reason: string) =>
  `event ${id} was not stored (${reason}); its message goes back to the queue`;

export const SETTLE_LOST = (id: string, what: 'ack' | 'nack', reason: string) =>
  `the ${what} of event ${id} could not be sent (${reason}); the broker redelivers the message, and the event id keeps it from being stored twice`;

/** Why a broker message without an event id is refused. */
export const ID_REQUIRED = 'id must be a UUID set by the publisher (redeliveries are deduplicated by it)';

export const NOT_AN_OBJECT = 'data must be a JSON object';
