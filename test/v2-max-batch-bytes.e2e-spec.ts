import { BufferFullError } from 'nestjs-data-buffer';
import { Item, useBufferTestApp } from './support/buffer-test.utils';

/** Items whose size (for sizeOf) is given next to their id. */
const sizes = new Map<number, number>();
const sized = (id: number, bytes: number): Item => {
  sizes.set(id, bytes);
  return { id };
};
const sizeOf = (item: Item): number => sizes.get(item.id) ?? 0;

describe('maxBatchBytes and sizeOf', () => {
  const testApp = useBufferTestApp();
  const { startEvents } = testApp;

  beforeEach(() => sizes.clear());

  it("seals a batch (reason 'size') before an item would take its byte sum past maxBatchBytes", async () => {
    const { buffer, sink } = await startEvents({ maxBatchBytes: 10, sizeOf });

    buffer.insert(sized(1, 4));
    buffer.insert(sized(2, 4));
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.flushes).toHaveLength(0);

    buffer.insert(sized(3, 4)); // 12 > 10: [1, 2] is sealed, 3 opens the next batch
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.ids()).toEqual([[1, 2]]);
    expect(sink.flushes[0].ctx.reason).toBe('size');
    expect(buffer.size()).toBe(1);
  });

  it('seals a batch whose sum reaches maxBatchBytes exactly at once', async () => {
    const { buffer, sink } = await startEvents({ maxBatchBytes: 10, sizeOf });

    buffer.insert(sized(1, 4));
    buffer.insert(sized(2, 6));
    await jest.advanceTimersByTimeAsync(0);

    expect(sink.ids()).toEqual([[1, 2]]);
    expect(sink.flushes[0].ctx.reason).toBe('size');
    expect(buffer.size()).toBe(0);
  });

  it("puts an item larger than maxBatchBytes in a batch of its own, sealed at once, in its place in the lane's order", async () => {
    const { buffer, sink } = await startEvents({ maxBatchBytes: 10, sizeOf, partitions: 1 });

    buffer.insert(sized(1, 3));
    buffer.insert(sized(2, 25));
    buffer.insert(sized(3, 3));
    await jest.advanceTimersByTimeAsync(0);

    expect(sink.ids()).toEqual([[1], [2]]);
    expect(sink.flushes.map((f) => f.ctx.reason)).toEqual(['size', 'size']);
    expect(buffer.dump()).toEqual([{ id: 3 }]);
    await buffer.flush();
    expect(sink.ids()).toEqual([[1], [2], [3]]);
  });

  it('applies to keyed batches, each with its own sum', async () => {
    const { buffer, sink } = await startEvents({ maxBatchBytes: 10, sizeOf });

    buffer.insert(sized(1, 6), 'a');
    buffer.insert(sized(2, 6), 'b');
    buffer.insert(sized(3, 4), 'a');
    await jest.advanceTimersByTimeAsync(0);

    expect(sink.flushes.map((f) => [f.ctx.key, f.items.map((i) => i.id)])).toEqual([['a', [1, 3]]]);
    expect(buffer.size('b')).toBe(1);
  });

  it('calls sizeOf once per inserted item, and not at all without maxBatchBytes', async () => {
    const measured = jest.fn(sizeOf);
    const { buffer } = await startEvents({ maxBatchBytes: 100, sizeOf: measured });
    buffer.insert(sized(1, 1));
    buffer.insertMany([sized(2, 1), sized(3, 1)]);
    await buffer.flush();
    expect(measured.mock.calls.map(([item]) => item.id)).toEqual([1, 2, 3]);

    await testApp.close();
    const unused = jest.fn(sizeOf);
    const off = await startEvents({ sizeOf: unused });
    off.buffer.insertMany([sized(4, 1), sized(5, 1)]);
    void off.buffer.commit(sized(6, 1));
    await off.buffer.flush();
    expect(unused).not.toHaveBeenCalled();
  });

  it.each<[string, () => number]>([
    ['NaN', () => NaN],
    ['a negative number', () => -1],
    ['Infinity', () => Infinity],
    ['a string', () => '5' as unknown as number],
    ['undefined', () => undefined as unknown as number],
    ['a throw', () => {
      throw new Error('cannot measure');
    }],
  ])('makes insert throw a TypeError naming the buffer when sizeOf gives %s; nothing is inserted', async (_case, bad) => {
    const { buffer, sink } = await startEvents({ maxBatchBytes: 100, sizeOf: bad });

    let thrown: unknown;
    try {
      buffer.insert({ id: 1 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as TypeError).message).toContain('events');
    expect(buffer.stats()).toMatchObject({ inserted: 0, pending: 0 });
    await buffer.flush();
    expect(sink.flushes).toHaveLength(0);
  });

  it('measures every item of insertMany first and inserts none when one measurement is bad, naming the index', async () => {
    const { buffer } = await startEvents({ maxBatchBytes: 100, sizeOf: (item: Item) => (item.id === 17 ? NaN : 1) });
    const batch = Array.from({ length: 20 }, (_, i) => ({ id: 10 + i }));

    let thrown: unknown;
    try {
      buffer.insertMany(batch);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as TypeError).message).toContain('events');
    expect((thrown as TypeError).message).toMatch(/\b7\b/);
    expect(buffer.stats()).toMatchObject({ inserted: 0, pending: 0 });
  });

  it('rejects a commit() with that TypeError', async () => {
    const { buffer } = await startEvents({ maxBatchBytes: 100, sizeOf: () => -5 });

    await expect(async () => buffer.commit({ id: 1 })).rejects.toThrow(TypeError);
    expect(buffer.stats().inserted).toBe(0);
  });

  it('runs sizeOf before the capacity check', async () => {
    const { buffer } = await startEvents({ maxBatchBytes: 100, sizeOf: (item: Item) => (item.id === 2 ? NaN : 1), capacity: 1, maxSize: 5 });
    buffer.insert({ id: 1 });

    expect(() => buffer.insert({ id: 2 })).toThrow(TypeError);
    expect(() => buffer.insert({ id: 3 })).toThrow(BufferFullError);
  });

  it('measures with the UTF-8 byte length of JSON.stringify by default', async () => {
    // {"id":1,"secret":"é"} is 21 characters and 22 bytes
    const { buffer, sink } = await startEvents({ maxBatchBytes: 44 });

    buffer.insert({ id: 1, secret: 'é' });
    buffer.insert({ id: 2, secret: 'é' });
    await jest.advanceTimersByTimeAsync(0);

    expect(sink.ids()).toEqual([[1, 2]]); // 44 bytes: exactly the limit
    expect(sink.flushes[0].ctx.reason).toBe('size');
  });
});
