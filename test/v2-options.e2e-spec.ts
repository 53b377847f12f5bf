import { BufferOptions, DataBufferModule, InvalidBufferOptionsError } from 'nestjs-data-buffer';
import { Item, useBufferTestApp } from './support/buffer-test.utils';

const items = (...ids: number[]): Item[] => ids.map((id) => ({ id }));

describe('the new options in forRoot defaults and updateOptions', () => {
  const testApp = useBufferTestApp();
  const { start, startEvents } = testApp;

  const withDefaults = (defaults: Record<string, unknown>, own: Record<string, unknown> = {}) =>
    startEvents(own, { imports: [DataBufferModule.forRoot({ defaults } as never)] });

  describe('forRoot defaults', () => {
    it('applies commitDelay from the defaults', async () => {
      const { buffer, sink } = await withDefaults({ commitDelay: 0 });
      await buffer.commit({ id: 1 });
      expect(sink.flushes.map((f) => f.ctx.reason)).toEqual(['commit']);
    });

    it('applies maxBatchBytes and sizeOf from the defaults', async () => {
      const sizeOf = jest.fn(() => 1);
      const { buffer, sink } = await withDefaults({ maxBatchBytes: 2, sizeOf });
      buffer.insertMany(items(1, 2, 3));
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.ids()).toEqual([[1, 2]]);
      expect(sizeOf).toHaveBeenCalledTimes(3);
    });

    it('applies splitOnFailure from the defaults', async () => {
      const { buffer, sink } = await withDefaults({ splitOnFailure: true, retries: 0 });
      sink.onFlush = (batch) => {
        if (batch.some((i) => i.id === 2)) throw new Error('poison');
      };
      buffer.insertMany(items(1, 2));
      await buffer.flush();
      expect(sink.ids()).toEqual([[1, 2], [1], [2]]);
      expect(sink.failures.map((f) => f.items.map((i) => i.id))).toEqual([[2]]);
    });

    it("lets a buffer's own options win over the defaults", async () => {
      const { buffer, sink } = await withDefaults({ commitDelay: 0 }, { commitDelay: 1_000 });
      void buffer.commit({ id: 1 });
      await jest.advanceTimersByTimeAsync(999);
      expect(sink.flushes).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(sink.flushes).toHaveLength(1);
    });

    it('refuses coalesce in the defaults', async () => {
      const booting = withDefaults({ coalesce: { key: (i: Item) => i.id, merge: (a: Item) => a } });
      await expect(booting).rejects.toBeInstanceOf(InvalidBufferOptionsError);
      await expect(booting).rejects.toThrow('coalesce');
    });
  });

  describe('invalid values', () => {
    it.each<[string, Record<string, unknown>, string]>([
      ['a negative commitDelay', { commitDelay: -1 }, '-1'],
      ['a non-integer commitDelay', { commitDelay: 1.5 }, '1.5'],
      ['a string commitDelay', { commitDelay: '0' }, '0'],
      ['maxBatchBytes 0', { maxBatchBytes: 0 }, '0'],
      ['a NaN maxBatchBytes', { maxBatchBytes: NaN }, 'NaN'],
      ['a sizeOf that is not a function', { sizeOf: 42 }, '42'],
      ['a splitOnFailure that is not a boolean', { splitOnFailure: 'yes' }, 'yes'],
      ['a coalesce without merge', { coalesce: { key: () => 1 } }, 'coalesce'],
      ['a coalesce that is not an object', { coalesce: true }, 'true'],
    ])('fails at module creation for %s, naming the buffer, the option and the value', async (_case, options, shown) => {
      const option = Object.keys(options)[0];
      const booting = startEvents(options as Omit<BufferOptions, 'name'>);
      await expect(booting).rejects.toBeInstanceOf(InvalidBufferOptionsError);
      await expect(booting).rejects.toThrow('events');
      await expect(booting).rejects.toThrow(option);
      await expect(booting).rejects.toThrow(shown);
    });

    it('fails for an invalid default of a new option too', async () => {
      const booting = start({ imports: [DataBufferModule.forRoot({ defaults: { commitDelay: -5 } } as never), DataBufferModule.forFeature({ name: 'events' })] });
      await expect(booting).rejects.toBeInstanceOf(InvalidBufferOptionsError);
      await expect(booting).rejects.toThrow('commitDelay');
    });
  });

  describe('updateOptions', () => {
    it('switches commitDelay on for batches opened after the call, and off with undefined', async () => {
      const { buffer, sink } = await startEvents({ interval: 1_000 });

      buffer.updateOptions({ commitDelay: 0 });
      await buffer.commit({ id: 1 });
      expect(sink.flushes.map((f) => f.ctx.reason)).toEqual(['commit']);

      buffer.updateOptions({ commitDelay: undefined });
      void buffer.commit({ id: 2 });
      await jest.advanceTimersByTimeAsync(999);
      expect(sink.flushes).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(sink.flushes.map((f) => f.ctx.reason)).toEqual(['commit', 'interval']);
    });

    it('keeps the commitDelay a batch was opened with', async () => {
      const { buffer, sink } = await startEvents({ commitDelay: 100 });

      void buffer.commit({ id: 1 });
      buffer.updateOptions({ commitDelay: undefined });
      await jest.advanceTimersByTimeAsync(100);
      expect(sink.flushes.map((f) => f.ctx.reason)).toEqual(['commit']);
    });

    it('changes maxBatchBytes, sizeOf and splitOnFailure for batches opened after the call', async () => {
      const { buffer, sink } = await startEvents({ retries: 0 });

      buffer.updateOptions({ maxBatchBytes: 2, sizeOf: () => 1, splitOnFailure: true });
      buffer.insertMany(items(1, 2, 3));
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.ids()).toEqual([[1, 2]]);

      sink.onFlush = (batch) => {
        if (batch.some((i) => i.id === 4)) throw new Error('poison');
      };
      buffer.insert({ id: 4 }); // joins 3: two items, sealed by bytes, split on failure
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.ids()).toEqual([[1, 2], [3, 4], [3], [4]]);

      buffer.updateOptions({ maxBatchBytes: undefined });
      buffer.insertMany(items(5, 6, 7));
      await jest.advanceTimersByTimeAsync(0);
      expect(buffer.size()).toBe(3);
    });

    it('refuses to patch coalesce, and changes nothing when one value is invalid', async () => {
      const { buffer, sink } = await startEvents();

      expect(() => buffer.updateOptions({ coalesce: { key: (i: Item) => i.id, merge: (a: Item) => a } } as never)).toThrow(InvalidBufferOptionsError);
      expect(() => buffer.updateOptions({ maxBatchBytes: 2, commitDelay: -1 })).toThrow(InvalidBufferOptionsError);
      expect(() => buffer.updateOptions({ splitOnFailure: 'yes' } as never)).toThrow(InvalidBufferOptionsError);

      buffer.insertMany(items(1, 2, 3)); // maxBatchBytes 2 was not applied
      await jest.advanceTimersByTimeAsync(0);
      expect(sink.flushes).toHaveLength(0);
      expect(buffer.size()).toBe(3);
    });
  });
});
