import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { RmqContext } from '@nestjs/microservices';
import { BufferClosedError, BufferFullError, FlushFailedError } from 'nestjs-data-buffer';
import type { EventsService } from '../events/events.service';
import { EventsConsumer } from './events.consumer';

/** A channel that records what was acknowledged; `failing` makes ack/nack throw like a closed channel. */
function fakeChannel(failing = false) {
  const calls: string[] = [];
  const record = (what: string) => {
    if (failing) throw new Error('Channel closed');
    calls.push(what);
  };
  return {
    calls,
    ack: jest.fn(() => record('ack')),
    nack: jest.fn((_msg: unknown, allUpTo: boolean, requeue: boolean) => record(`nack(${allUpTo},${requeue})`)),
  };
}

function contextOf(channel: ReturnType<typeof fakeChannel>): RmqContext {
  const message = { fields: { deliveryTag: 7 }, properties: {}, content: Buffer.alloc(0) };
  return new RmqContext([message, channel, 'event.tracked']);
}

/** Settles each `commit()` when the test says so. */
function controlledService() {
  let settle: { resolve: () => void; reject: (error: unknown) => void } | undefined;
  const commit = jest.fn(
    () =>
      new Promise<void>((resolve, reject) => {
        settle = { resolve, reject };
      }),
  );
  return { service: { commit } as unknown as EventsService, commit, settle: () => settle! };
}

const event = () => ({ id: randomUUID(), type: 'page.viewed', userId: 'user-1', payload: { path: '/' } });

describe('EventsConsumer', () => {
  let warnings: string[];

  beforeEach(() => {
    warnings = [];
    Logger.overrideLogger({
      log: () => undefined,
      error: () => undefined,
      warn: (message: unknown) => warnings.push(String(message)),
      debug: () => undefined,
      verbose: () => undefined,
    });
  });
  afterEach(() => Logger.overrideLogger(false));

  it('acknowledges a message only once its commit resolved', async () => {
    const { service, commit, settle } = controlledService();
    const channel = fakeChannel();
    const handled = new EventsConsumer(service).consume(event(), contextOf(channel));
    await Promise.resolve();
    expect(commit).toHaveBeenCalledTimes(1);
    expect(channel.calls).toEqual([]);
    settle().resolve();
    await handled;
    expect(channel.calls).toEqual(['ack']);
  });

  it('acknowledges a message whose commit failed with FlushFailedError (it is in the dead-letter file)', async () => {
    const { service, settle } = controlledService();
    const channel = fakeChannel();
    const data = event();
    const handled = new EventsConsumer(service).consume(data, contextOf(channel));
    await Promise.resolve();
    settle().reject(new FlushFailedError('events', new Error('relation "events" does not exist'), 4));
    await handled;
    expect(channel.calls).toEqual(['ack']);
    expect(warnings.join('\n')).toContain(`event ${data.id} could not be stored and is in the dead-letter file`);
  });

  it.each([
    ['the buffer is full', new BufferFullError('events', 10)],
    ['the buffer is closed', new BufferClosedError('events')],
    ['the direct insert failed', new Error('connection terminated')],
  ])('requeues a message when %s (the event is stored nowhere)', async (_, error) => {
    const { service, settle } = controlledService();
    const channel = fakeChannel();
    const handled = new EventsConsumer(service).consume(event(), contextOf(channel));
    await Promise.resolve();
    settle().reject(error);
    await handled;
    expect(channel.calls).toEqual(['nack(false,true)']);
  });

  it.each([
    ['without an id', { type: 't', userId: 'u' }, 'id must be a UUID set by the publisher'],
    ['with an id that is not a UUID', { id: 'x-1', type: 't', userId: 'u' }, 'id must be a UUID'],
    ['with an unknown field', { ...event(), extra: 1 }, 'property extra should not exist'],
    ['with an empty type', { ...event(), type: '' }, 'type must be longer than or equal to 1 characters'],
    ['with a NUL character in userId', { ...event(), userId: 'a\u0000b' }, 'userId must not contain a NUL character'],
    ['that is not an object', 'hello', 'data must be a JSON object'],
    ['that is an array', [event()], 'data must be a JSON object'],
    ['that is missing', undefined, 'data must be a JSON object'],
  ])('acknowledges a message %s without storing it, and says why', async (_, data, reason) => {
    const { service, commit } = controlledService();
    const channel = fakeChannel();
    await new EventsConsumer(service).consume(data, contextOf(channel));
    expect(commit).not.toHaveBeenCalled();
    expect(channel.calls).toEqual(['ack']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('is not a valid event and was acknowledged without storing it');
    expect(warnings[0]).toContain(reason);
  });

  it('passes the publisher id to commit (so a redelivery is deduplicated)', async () => {
    const { service, commit, settle } = controlledService();
    const data = event();
    const handled = new EventsConsumer(service).consume(data, contextOf(fakeChannel()));
    await Promise.resolve();
    settle().resolve();
    await handled;
    expect(commit).toHaveBeenCalledWith(expect.objectContaining({ id: data.id, type: 'page.viewed' }));
  });

  it('does not throw when the channel is closed by the time it acknowledges', async () => {
    const { service, settle } = controlledService();
    const data = event();
    const handled = new EventsConsumer(service).consume(data, contextOf(fakeChannel(true)));
    await Promise.resolve();
    settle().resolve();
    await expect(handled).resolves.toBeUndefined();
    expect(warnings.join('\n')).toContain(`the ack of event ${data.id} could not be sent (Channel closed)`);
  });
});
