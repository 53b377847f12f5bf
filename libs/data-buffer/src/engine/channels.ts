import diagnosticsChannel from 'node:diagnostics_channel';
import type { BufferKey, FlushReason } from './buffer-options.interface';

/** The tracing channel every flush attempt is published on. */
export const FLUSH_CHANNEL_NAME = 'nestjs-data-buffer:flush';
/** The channel every dropped item is published on. */
export const DROP_CHANNEL_NAME = 'nestjs-data-buffer:drop';

/** The context published on the flush tracing channel (never item contents). */
export interface FlushTraceContext {
  buffer: string;
  key: BufferKey | undefined;
  partition: number;
  batchId: string;
  size: number;
  attempt: number;
  reason: FlushReason;
  /** Items the attempt's outcome asked to retry (set when an attempt that returned an outcome settles). */
  retry?: number;
  /** Items the attempt's outcome rejected (set when an attempt that returned an outcome settles). */
  reject?: number;
}

/** The message published on the drop channel for every dropped item (never its contents). */
export interface DropMessage {
  buffer: string;
  key: BufferKey | undefined;
  partition: number;
  overflow: 'drop-oldest' | 'drop-newest';
}

/** `nestjs-data-buffer:flush`; check `hasSubscribers` before building a context. */
export const flushChannel = diagnosticsChannel.tracingChannel<unknown, FlushTraceContext>(FLUSH_CHANNEL_NAME);

const dropChannel = diagnosticsChannel.channel(DROP_CHANNEL_NAME);

/** Publishes one drop; costs a property read when nobody listens. */
export function publishDrop(buffer: string, key: BufferKey | undefined, partition: number, overflow: DropMessage['overflow']): void {
  if (!dropChannel.hasSubscribers) return;
  const message: DropMessage = { buffer, key, partition, overflow };
  dropChannel.publish(message);
}
