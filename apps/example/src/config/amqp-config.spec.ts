import { loadConfig } from './example-config';

describe('loadConfig: the broker-fed path', () => {
  it('has no broker path without AMQP_URL', () => {
    expect(loadConfig({}).amqpUrl).toBeUndefined();
  });

  it('consumes the queue "events" with a full batch on every lane in hand by default', () => {
    const config = loadConfig({ AMQP_URL: 'amqp://127.0.0.1', EVENTS_MAX_SIZE: '500', EVENTS_PARTITIONS: '3' });
    expect(config).toMatchObject({ amqpUrl: 'amqp://127.0.0.1', amqpQueue: 'events', amqpPrefetch: 1500 });
  });

  it('refuses a prefetch below EVENTS_MAX_SIZE x EVENTS_PARTITIONS, naming the variable and the minimum', () => {
    expect(() => loadConfig({ AMQP_PREFETCH: '1999' })).toThrow('AMQP_PREFETCH must be an integer >= 2000, got "1999"');
    expect(loadConfig({ AMQP_PREFETCH: '5000', AMQP_QUEUE: 'ingest' })).toMatchObject({ amqpPrefetch: 5000, amqpQueue: 'ingest' });
  });
});

describe('loadConfig: group commit of confirmed writes', () => {
  it('is on with commitDelay 2 ms by default, takes a delay in ms, and "off" switches it off', () => {
    expect(loadConfig({}).events.commitDelay).toBe(2);
    expect(loadConfig({ EVENTS_COMMIT_DELAY: '0' }).events.commitDelay).toBe(0);
    expect(loadConfig({ EVENTS_COMMIT_DELAY: '5' }).events.commitDelay).toBe(5);
    expect(loadConfig({ EVENTS_COMMIT_DELAY: 'off' }).events.commitDelay).toBeUndefined();
    expect(() => loadConfig({ EVENTS_COMMIT_DELAY: '-1' })).toThrow('EVENTS_COMMIT_DELAY must be an integer >= 0, got "-1"');
  });
});
