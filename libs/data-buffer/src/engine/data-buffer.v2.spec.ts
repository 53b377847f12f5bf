import { DataBuffer } from './data-buffer';
import { FlushFailedError, PartialFlushError, RejectedItemsError } from './errors';
import type { BufferOptions } from './buffer-options.interface';
import type { FlushContext } from './flush-context.interface';

/** Version 2 of the contract, rule by rule, under fake timers, on the engine alone. */
interface Call<T> {
  items: T[];
  ctx: FlushContext;
}

function make<T>(options: Omit<BufferOptions<T>, 'name'>, onFlush: (items: T[], ctx: FlushContext) => unknown = () => undefined) {
  const calls: Call<T>[] = [];
  const errors: { error: unknown; items: T[]; ctx: FlushContext }[] = [];
  const order: string[] = [];
  const buffer = new DataBuffer<T>(
    { name: 'v2', ...options },
    {
      onFlush: (items, ctx) => {
        calls.push({ items: [...items], ctx });
        return onFlush(items, ctx);
      },
      onFlushError: (error, items, ctx) => {
        order.push('error-handler');
        errors.push({ error, items: [...items], ctx });
      },
      logger: { error: () => undefined, warn: () => undefined },
    },
  );
  buffer.start();
  return { buffer, calls, errors, order };
}

const idOf = (ctx: FlushContext) => ctx.batchId.slice(ctx.batchId.lastIndexOf(':') + 1);
const settle = (p: Promise<unknown>) => p.then(() => 'resolved', (e: Error & { cause?: Error }) => `rejected: ${e.cause?.message ?? e.message}`);

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('pending and inFlight', () => {
  it('counts sealed batches waiting behind their lane as pending, and drain() takes them', async () => {
    const gate: { open?: () => void } = {};
    const { buffer } = make<number>({ maxSize: 2 }, () => new Promise<void>((resolve) => (gate.open = resolve)));
    buffer.insert(1);
    buffer.insert(2); // sealed, runs
    await jest.advanceTimersByTimeAsync(0);
    buffer.insert(3);
    buffer.insert(4); // sealed, waits behind the running batch
    expect(buffer.stats()).toMatchObject({ pending: 2, inFlight: 2 });
    expect(buffer.size()).toBe(2);
    expect(buffer.dump()).toEqual([3, 4]);
    expect(buffer.drain()).toEqual([3, 4]);
    expect(buffer.stats()).toMatchObject({ pending: 0, inFlight: 2, drained: 2 });
    gate.open?.();
    await jest.advanceTimersByTimeAsync(0);
    expect(buffer.stats()).toMatchObject({ inFlight: 0, flushed: 2 });
  });
});

describe('a full buffer flushes', () => {
  it('seals everything when capacity is reached with nothing in flight, whatever maxSize', async () => {
    const { buffer, calls } = make<number>({ capacity: 6, maxSize: 7, interval: 60_000 });
    for (let i = 0; i < 6; i++) buffer.insert(i);
    await jest.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => [c.items.length, c.ctx.reason])).toEqual([[6, 'size']]);
  });
});

describe('FlushOutcome', () => {
  it('settles written items at once, rejects refused ones after their error handler, retries the rest with the same batch id', async () => {
    const a = { n: 1 };
    const b = { n: 2 };
    const c = { n: 3 };
    const { buffer, calls, errors } = make<{ n: number }>({ maxSize: 3, retries: 1, retryDelay: 10 }, (items, ctx) =>
      ctx.attempt === 1 ? { retry: [items[0]], reject: [{ item: items[1], error: new Error('refused') }] } : undefined,
    );
    const results = [a, b, c].map((item) => settle(buffer.commit(item)));
    await jest.advanceTimersByTimeAsync(0);
    expect(await Promise.race([results[2], Promise.resolve('pending')])).toBe('resolved');
    expect(errors[0].error).toBeInstanceOf(RejectedItemsError);
    expect((errors[0].error as RejectedItemsError).failures).toEqual([{ item: b, error: new Error('refused') }]);
    await jest.advanceTimersByTimeAsync(10);
    expect(calls.map((call) => [call.items.map((i) => i.n), call.ctx.attempt, idOf(call.ctx)])).toEqual([
      [[1, 2, 3], 1, '0'],
      [[1], 2, '0'],
    ]);
    expect(await Promise.all(results)).toEqual(['resolved', 'rejected: refused', 'resolved']);
    expect(buffer.stats()).toMatchObject({ flushed: 2, failed: 1, retries: 1, flushes: 2 });
  });

  it('fails the attempt when the outcome names an item that is not in it, and gives up retry items with PartialFlushError', async () => {
    const { buffer, errors } = make<{ n: number }>({ maxSize: 2, retries: 1, retryDelay: 0 }, (items, ctx) =>
      ctx.attempt === 1 ? { retry: [{ n: 99 }] } : { retry: [items[0]] },
    );
    buffer.insertMany([{ n: 1 }, { n: 2 }]);
    await jest.advanceTimersByTimeAsync(0);
    expect(errors).toHaveLength(1);
    expect(errors[0].error).toBeInstanceOf(PartialFlushError);
    expect(errors[0].items).toEqual([{ n: 1 }]);
    expect(buffer.stats()).toMatchObject({ flushed: 1, failed: 1, retries: 1 });
  });
});

describe('splitOnFailure', () => {
  it('isolates one poison item depth-first, with the ids of the parts, and writes the others in order', async () => {
    const written: number[] = [];
    const { buffer, calls, errors } = make<number>({ maxSize: 8, retries: 1, retryDelay: 0, splitOnFailure: true }, (items) => {
      if (items.includes(5)) throw new Error('poison');
      written.push(...items);
    });
    for (let i = 0; i < 8; i++) buffer.insert(i);
    await jest.advanceTimersByTimeAsync(0);
    expect(calls.map((call) => idOf(call.ctx))).toEqual(['0', '0', '0.1', '0.2', '0.2.1', '0.2.1.1', '0.2.1.2', '0.2.2']);
    expect(written).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(errors.map((e) => [idOf(e.ctx), e.items])).toEqual([['0.2.1.2', [5]]]);
  });

  it("rejects the commit of an item a stopped split never attempted again with its own last attempt's number", async () => {
    const { buffer } = make<number>({ maxSize: 4, retries: 0, splitOnFailure: true }, () => {
      throw new Error('down');
    });
    const first = buffer.commit(0).catch((error: unknown) => error);
    buffer.insertMany([1, 2]);
    const last = buffer.commit(3).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(0);
    // attempt 1: '0' [0, 1, 2, 3]; 2: '0.1' [0, 1]; 3: '0.1.1' [0]; 4: '0.1.2' [1]. Both halves of
    // '0.1' failed, so [2, 3] go to the error handler unattempted: they were last in attempt 1.
    const error = await last;
    expect(error).toBeInstanceOf(FlushFailedError);
    expect((error as FlushFailedError).attempts).toBe(1);
    expect(await first).toMatchObject({ attempts: 3 });
  });

  it('stops when both halves of one split fail: the sink is down', async () => {
    const { buffer, calls, errors } = make<number>({ maxSize: 8, retries: 0, splitOnFailure: true }, () => {
      throw new Error('down');
    });
    for (let i = 0; i < 8; i++) buffer.insert(i);
    await jest.advanceTimersByTimeAsync(0);
    expect(calls.map((call) => idOf(call.ctx))).toEqual(['0', '0.1', '0.1.1', '0.1.1.1', '0.1.1.2']);
    expect(errors.map((e) => e.items)).toEqual([[0], [1], [2, 3, 4, 5, 6, 7]]);
    expect(buffer.stats()).toMatchObject({ failed: 8, flushed: 0 });
  });
});

describe('commitDelay', () => {
  it('hands a batch over once its lane is idle, so concurrent commits share it; reason commit', async () => {
    const { buffer, calls } = make<number>({ interval: 60_000, commitDelay: 0 }, () => new Promise((resolve) => setTimeout(resolve, 5)));
    const first = [buffer.commit(1), buffer.commit(2)];
    buffer.insert(3);
    await jest.advanceTimersByTimeAsync(1);
    const second = [buffer.commit(4), buffer.commit(5)]; // lane busy: this batch waits and keeps taking items
    buffer.commit(6);
    await jest.advanceTimersByTimeAsync(20);
    await Promise.all([...first, ...second]);
    expect(calls.map((call) => [call.items, call.ctx.reason])).toEqual([
      [[1, 2, 3], 'commit'],
      [[4, 5, 6], 'commit'],
    ]);
  });

  it('makes a batch due commitDelay ms after its first commit', async () => {
    const { buffer, calls } = make<number>({ interval: 60_000, commitDelay: 50 });
    void buffer.commit(1);
    await jest.advanceTimersByTimeAsync(49);
    expect(calls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(calls.map((call) => call.ctx.reason)).toEqual(['commit']);
  });
});

describe('maxBatchBytes', () => {
  it('seals before an item would pass the limit, at the exact sum, and gives an oversized item a batch of its own', async () => {
    const { buffer, calls } = make<string>({ interval: 60_000, maxBatchBytes: 4, sizeOf: (item) => item.length });
    for (const item of ['a', 'bb', 'c', 'dd', 'eeeeee', 'f']) buffer.insert(item);
    await buffer.flush();
    expect(calls.map((call) => call.items)).toEqual([['a', 'bb', 'c'], ['dd'], ['eeeeee'], ['f']]);
  });

  it('throws a TypeError naming the buffer when sizeOf gives no size, and inserts nothing', () => {
    const { buffer } = make<number>({ maxBatchBytes: 10, sizeOf: () => Number.NaN });
    expect(() => buffer.insert(1)).toThrow(/Buffer "v2": sizeOf/);
    expect(() => buffer.insertMany([1, 2])).toThrow(/index 0/);
    expect(buffer.stats().inserted).toBe(0);
  });
});

describe('coalesce', () => {
  const counters = { key: (item: { k: string; v: number }) => item.k, merge: (a: { k: string; v: number }, b: { k: string; v: number }) => ({ k: a.k, v: a.v + b.v }) };

  it('keeps one value per coalesce key, counts merges, and settles a merged commit with its value', async () => {
    const { buffer, calls } = make<{ k: string; v: number }>({ interval: 60_000, coalesce: counters });
    buffer.insert({ k: 'a', v: 1 });
    buffer.insert({ k: 'b', v: 1 });
    const merged = buffer.commit({ k: 'a', v: 2 });
    expect(buffer.size('a')).toBe(1);
    expect(buffer.stats()).toMatchObject({ pending: 2, merged: 1, keys: 2, inserted: 3 });
    expect(() => buffer.insert({ k: 'c', v: 1 }, 'key')).toThrow(TypeError);
    await buffer.flush('a');
    await merged;
    expect(calls.map((call) => [call.items, call.ctx.key])).toEqual([[[{ k: 'a', v: 3 }, { k: 'b', v: 1 }], undefined]]);
  });

  it('on several lanes, merges only into the open batch of the key\'s lane, and a sealed value takes no more merges', async () => {
    let release: (() => void) | undefined;
    const first = new Promise<void>((resolve) => (release = resolve));
    let handled = 0;
    const { buffer, calls } = make<{ k: string; v: number }>({ interval: 60_000, partitions: 4, coalesce: counters }, () => (++handled === 1 ? first : undefined));
    const keys = Array.from({ length: 40 }, (_, i) => `page-${i}`);
    for (const k of keys) buffer.insert({ k, v: 1 });
    for (const k of keys) buffer.insert({ k, v: 2 });
    expect(buffer.stats()).toMatchObject({ pending: 40, merged: 40, keys: 40 });
    const flushed = buffer.flush('page-7'); // hands over the whole batch of page-7's lane
    await jest.advanceTimersByTimeAsync(0);
    const sealed = calls[0].items;
    expect(sealed).toContainEqual({ k: 'page-7', v: 3 });
    buffer.insert({ k: 'page-7', v: 5 }); // a new value in the lane's new open batch, not a merge into the running one
    expect(buffer.stats()).toMatchObject({ merged: 40, pending: 40 - sealed.length + 1 });
    expect(buffer.size('page-7')).toBe(1);
    expect(buffer.dump('page-7')).toEqual([{ k: 'page-7', v: 5 }]);
    expect(buffer.drain('page-7')).toEqual([{ k: 'page-7', v: 5 }]);
    buffer.insert({ k: 'page-7', v: 1 });
    buffer.insert({ k: 'page-7', v: 1 });
    expect(buffer.dump('page-7')).toEqual([{ k: 'page-7', v: 2 }]);
    release?.();
    await flushed;
    await buffer.flush();
    const written = new Map<string, number>();
    for (const call of calls) for (const { k, v } of call.items) written.set(k, (written.get(k) ?? 0) + v);
    expect(written.get('page-7')).toBe(5);
    expect([...written.entries()].filter(([k]) => k !== 'page-7').every(([, v]) => v === 3)).toBe(true);
    expect(buffer.stats()).toMatchObject({ pending: 0, keys: 0, merged: 41, drained: 1 });
  });

  it("keeps merging into the other lanes' open values when one lane's batch fills up and is sealed", async () => {
    const { buffer, calls } = make<{ k: string; v: number }>({ interval: 60_000, partitions: 2, maxSize: 3, coalesce: counters });
    const keys = Array.from({ length: 5 }, (_, i) => `k-${i}`);
    for (const k of keys) buffer.insert({ k, v: 1 }); // the first lane to hold 3 values is sealed
    await jest.advanceTimersByTimeAsync(0);
    expect(calls).toHaveLength(1);
    const sealed = new Set(calls[0].items.map((value) => value.k));
    const open = keys.filter((k) => !sealed.has(k));
    expect(buffer.stats()).toMatchObject({ merged: 0, pending: open.length });

    for (const k of open) buffer.insert({ k, v: 10 });
    expect(buffer.stats()).toMatchObject({ merged: open.length, pending: open.length });
    expect(buffer.dump()).toEqual(expect.arrayContaining(open.map((k) => ({ k, v: 11 }))));
    expect(buffer.dump()).toHaveLength(open.length);
  });

  it('merges at capacity: a merge takes no room', async () => {
    const { buffer } = make<{ k: string; v: number }>({ interval: 60_000, capacity: 3, maxSize: 2, coalesce: counters }, () => new Promise(() => undefined));
    buffer.insert({ k: 'x', v: 1 });
    buffer.insert({ k: 'y', v: 1 }); // sealed by size, in flight from the next microtask
    await jest.advanceTimersByTimeAsync(0);
    buffer.insert({ k: 'a', v: 1 }); // the buffer is full now
    expect(() => buffer.insert({ k: 'b', v: 1 })).toThrow(/full/);
    expect(() => buffer.insert({ k: 'a', v: 1 })).not.toThrow();
    expect(buffer.dump()).toEqual([{ k: 'a', v: 2 }]);
  });
});

describe('a failed commit() settles after the error handler', () => {
  it('rejects only once @OnFlushError returned', async () => {
    const { buffer, order } = make<number>({ retries: 0, maxSize: 1 }, () => {
      throw new Error('no');
    });
    const result = buffer.commit(1).catch(() => order.push('commit rejected'));
    await jest.advanceTimersByTimeAsync(0);
    await result;
    expect(order).toEqual(['error-handler', 'commit rejected']);
  });
});
