import { DataBufferRegistry } from './data-buffer.registry';
import { DataBuffer, DefaultBufferScheduler } from './engine';
import type { FlushContext } from './engine';
import { BufferClosedError, DataBufferError, InvalidBufferOptionsError } from './errors';
import type { DataBufferRootOptions } from './interfaces';
import type { LaneTimerScheduler } from './lane-timer.scheduler';

function registryWith(rootOptions?: DataBufferRootOptions): DataBufferRegistry {
  // Plain Node timers stand in for the lane timer scheduler: same interface.
  return new DataBufferRegistry(new DefaultBufferScheduler() as unknown as LaneTimerScheduler, rootOptions);
}

describe('DataBufferRegistry', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('creates buffers and finds them by name', () => {
    const registry = registryWith();
    const events = registry.create({ name: 'events' });

    expect(events).toBeInstanceOf(DataBuffer);
    expect(events.name).toBe('events');
    expect(registry.has('events')).toBe(true);
    expect(registry.get('events')).toBe(events);
  });

  it('lists every buffer in registration order', () => {
    const registry = registryWith();
    registry.create({ name: 'b' });
    registry.create({ name: 'a' });
    registry.create({ name: 'c' });

    expect(registry.getAll().map((buffer) => buffer.name)).toEqual(['b', 'a', 'c']);
  });

  it('throws a DataBufferError naming an unknown buffer', () => {
    const registry = registryWith();
    registry.create({ name: 'events' });

    expect(registry.has('audit')).toBe(false);
    expect(() => registry.get('audit')).toThrow(DataBufferError);
    expect(() => registry.get('audit')).toThrow(/"audit"/);
    try {
      registry.get('audit');
    } catch (error) {
      expect((error as DataBufferError).buffer).toBe('audit');
    }
  });

  it('refuses a name registered twice and keeps the first buffer', () => {
    const registry = registryWith();
    const first = registry.create({ name: 'events', capacity: 10 });

    expect(() => registry.create({ name: 'events', capacity: 20 })).toThrow(InvalidBufferOptionsError);
    expect(() => registry.create({ name: 'events', capacity: 20 })).toThrow(/events/);
    expect(registry.get('events')).toBe(first);
    expect(registry.get('events').stats().capacity).toBe(10);
    expect(registry.getAll()).toHaveLength(1);
  });

  it('applies forRoot defaults under the buffer\'s own options', () => {
    const registry = registryWith({ defaults: { capacity: 50, partitions: 3 } });

    expect(registry.create({ name: 'events' }).stats()).toMatchObject({ capacity: 50, partitions: 3 });
    expect(registry.create({ name: 'audit', capacity: 7 }).stats()).toMatchObject({ capacity: 7, partitions: 3 });
  });

  it('uses the documented defaults without forRoot', () => {
    expect(registryWith().create({ name: 'events' }).stats()).toMatchObject({ capacity: 100_000, partitions: 1 });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an empty name', { name: '' }, 'name'],
    ['a string number', { name: 'events', maxSize: '10' }, 'maxSize'],
    ['NaN', { name: 'events', interval: NaN }, 'interval'],
    ['an unknown overflow', { name: 'events', overflow: 'spill' }, 'overflow'],
  ])('refuses %s with InvalidBufferOptionsError and registers nothing', (_case, options, option) => {
    const registry = registryWith();

    expect(() => registry.create(options as never)).toThrow(InvalidBufferOptionsError);
    expect(() => registry.create(options as never)).toThrow(option);
    expect(registry.getAll()).toEqual([]);
  });

  it('refuses a buffer when the forRoot defaults are invalid', () => {
    const registry = registryWith({ defaults: { retries: -1 } });

    expect(() => registry.create({ name: 'events' })).toThrow(InvalidBufferOptionsError);
    expect(registry.has('events')).toBe(false);
  });

  it('closeAll() flushes every buffer with reason "shutdown" and closes them', async () => {
    jest.useFakeTimers();
    const registry = registryWith();
    const seen: [string, number[], string][] = [];
    for (const name of ['events', 'audit']) {
      const buffer = registry.create<number>({ name });
      buffer.setHandlers((items: number[], ctx: FlushContext) => {
        seen.push([ctx.buffer, [...items], ctx.reason]);
      });
      buffer.start();
      buffer.insertMany([1, 2]);
    }

    await registry.closeAll();

    expect(seen).toEqual([
      ['events', [1, 2], 'shutdown'],
      ['audit', [1, 2], 'shutdown'],
    ]);
    expect(() => registry.get('events').insert(3)).toThrow(BufferClosedError);
    await expect(registry.closeAll()).resolves.toBeUndefined();
    expect(seen).toHaveLength(2);
  });
});
