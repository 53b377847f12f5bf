import { Injectable } from '@nestjs/common';
import {
  BufferFullError,
  BufferHandler,
  BufferOptions,
  DataBuffer,
  DataBufferModule,
  FlushContext,
  FlushFailedError,
  getBufferToken,
  OnFlush,
  OnFlushError,
} from 'nestjs-data-buffer';
import { deferred, useBufferTestApp } from './support/buffer-test.utils';

/** A page-view counter: one value per page, merged by adding. */
interface Views {
  page: string;
  n: number;
}

const coalesce = {
  key: (v: Views) => v.page,
  merge: (pending: Views, next: Views): Views => ({ page: pending.page, n: pending.n + next.n }),
};

@Injectable()
class CounterSink {
  readonly flushes: { values: Views[]; ctx: FlushContext }[] = [];
  readonly failures: { error: unknown; values: Views[] }[] = [];
  onFlush: (values: Views[], ctx: FlushContext) => unknown = () => undefined;

  batches(): [string, number][][] {
    return this.flushes.map((f) => f.values.map((v) => [v.page, v.n]));
  }
}

@BufferHandler('views')
class ViewsHandler {
  constructor(private readonly sink: CounterSink) {}

  @OnFlush()
  save(values: Views[], ctx: FlushContext) {
    this.sink.flushes.push({ values: values.map((v) => ({ ...v })), ctx });
    return this.sink.onFlush(values, ctx);
  }

  @OnFlushError()
  deadLetter(error: unknown, values: Views[]) {
    this.sink.failures.push({ error, values: [...values] });
  }
}

const views = (page: string, n = 1): Views => ({ page, n });
const outcomeOf = (promise: Promise<void>) => promise.then(() => 'resolved' as const, (error: unknown) => error);

describe('coalescing buffers', () => {
  const testApp = useBufferTestApp();

  async function startViews(options: Record<string, unknown> = {}) {
    const app = await testApp.start({
      imports: [DataBufferModule.forFeature({ name: 'views', interval: 60_000, coalesce, ...options } as BufferOptions)],
      providers: [CounterSink, ViewsHandler],
    });
    return { buffer: app.get<DataBuffer<Views>>(getBufferToken('views')), sink: app.get(CounterSink) };
  }

  const balanced = (buffer: DataBuffer<Views>) => {
    const s = buffer.stats();
    return s.inserted === s.flushed + s.failed + s.dropped + s.drained + s.merged + s.pending + s.inFlight;
  };

  it('merges values of one coalesce key in the open batch, in the order the keys first came, counting merges', async () => {
    const { buffer, sink } = await startViews();

    buffer.insert(views('/a'));
    buffer.insert(views('/b'));
    buffer.insert(views('/a', 2));
    buffer.insert(views('/c', 5));
    buffer.insert(views('/b', 3));

    expect(buffer.stats()).toMatchObject({ inserted: 5, merged: 2, pending: 3, keys: 3 });
    expect(balanced(buffer)).toBe(true);
    expect(buffer.dump()).toEqual([views('/a', 3), views('/b', 4), views('/c', 5)]);

    await expect(buffer.flush()).resolves.toEqual({ batches: 1, items: 3, failed: 0 });
    expect(sink.batches()).toEqual([[['/a', 3], ['/b', 4], ['/c', 5]]]);
    expect(sink.flushes[0].ctx.key).toBeUndefined();
    expect(buffer.stats()).toMatchObject({ inserted: 5, merged: 2, flushed: 3, pending: 0, keys: 0 });
    expect(balanced(buffer)).toBe(true);
  });

  it('does not merge into a value already handed to the handler', async () => {
    const { buffer, sink } = await startViews({ partitions: 1 });
    const gate = deferred();
    sink.onFlush = () => (sink.flushes.length === 1 ? gate.promise : undefined);

    buffer.insert(views('/a'));
    void buffer.flush();
    await jest.advanceTimersByTimeAsync(0);
    buffer.insert(views('/a', 10));

    gate.resolve();
    await buffer.flush();
    expect(sink.batches()).toEqual([[['/a', 1]], [['/a', 10]]]);
    expect(buffer.stats().merged).toBe(0);
  });

  it('counts values for maxSize', async () => {
    const { buffer, sink } = await startViews({ maxSize: 2 });

    for (let i = 0; i < 5; i++) buffer.insert(views('/a'));
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.flushes).toHaveLength(0);

    buffer.insert(views('/b'));
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.batches()).toEqual([[['/a', 5], ['/b', 1]]]);
    expect(sink.flushes[0].ctx.reason).toBe('size');
  });

  it("resolves or rejects a commit() whose item was merged with the merged value's fate", async () => {
    const { buffer, sink } = await startViews({ retries: 0 });

    const first = outcomeOf(buffer.commit(views('/ok')));
    const merged = outcomeOf(buffer.commit(views('/ok', 2)));
    await buffer.flush();
    expect(await first).toBe('resolved');
    expect(await merged).toBe('resolved');

    const failure = new Error('database down');
    sink.onFlush = () => {
      throw failure;
    };
    const a = outcomeOf(buffer.commit(views('/bad')));
    buffer.insert(views('/bad', 4));
    const b = outcomeOf(buffer.commit(views('/bad', 5)));
    await buffer.flush();

    for (const outcome of [await a, await b]) {
      expect(outcome).toBeInstanceOf(FlushFailedError);
      expect((outcome as FlushFailedError).cause).toBe(failure);
    }
    expect(sink.failures.map((f) => f.values)).toEqual([[views('/bad', 10)]]);
    expect(buffer.stats()).toMatchObject({ inserted: 5, merged: 3, flushed: 1, failed: 1 });
    expect(balanced(buffer)).toBe(true);
  });

  it('refuses a batch key on insert, insertMany and commit with a TypeError', async () => {
    const { buffer } = await startViews();

    expect(() => buffer.insert(views('/a'), 'tenant')).toThrow(TypeError);
    expect(() => buffer.insertMany([views('/a')], 'tenant')).toThrow(TypeError);
    await expect(async () => buffer.commit(views('/a'), 'tenant')).rejects.toThrow(TypeError);
    expect(buffer.stats()).toMatchObject({ inserted: 0, pending: 0 });
  });

  it('takes a coalesce key in size, dump, drain and flush; flush(key) hands over the whole batch holding that value', async () => {
    const { buffer, sink } = await startViews({ partitions: 1 });

    buffer.insert(views('/a'));
    buffer.insert(views('/b'));
    buffer.insert(views('/a', 2));
    expect(buffer.size('/a')).toBe(1);
    expect(buffer.size('/nobody')).toBe(0);
    expect(buffer.dump('/a')).toEqual([views('/a', 3)]);

    await expect(buffer.flush('/a')).resolves.toEqual({ batches: 1, items: 2, failed: 0 });
    expect(sink.batches()).toEqual([[['/a', 3], ['/b', 1]]]);

    buffer.insert(views('/c', 7));
    buffer.insert(views('/d'));
    expect(buffer.drain('/c')).toEqual([views('/c', 7)]);
    expect(buffer.stats()).toMatchObject({ drained: 1, pending: 1, keys: 1 });
    expect(balanced(buffer)).toBe(true);
  });

  it('counts values against capacity, and a merge at capacity succeeds', async () => {
    const { buffer, sink } = await startViews({ partitions: 1, capacity: 3, overflow: 'reject' });
    const gate = deferred();
    sink.onFlush = () => (sink.flushes.length === 1 ? gate.promise : undefined);

    buffer.insert(views('/x'));
    void buffer.flush('/x'); // in flight: the full-buffer rule waits for it
    await jest.advanceTimersByTimeAsync(0);
    buffer.insert(views('/a'));
    buffer.insert(views('/b'));
    expect(buffer.stats()).toMatchObject({ pending: 2, inFlight: 1 });

    for (let i = 0; i < 10; i++) buffer.insert(views('/a')); // merges need no room
    expect(() => buffer.insert(views('/c'))).toThrow(BufferFullError);
    expect(buffer.stats()).toMatchObject({ merged: 10, pending: 2, inFlight: 1 });

    gate.resolve();
    await buffer.flush();
    expect(sink.batches()).toEqual([[['/x', 1]], [['/a', 11], ['/b', 1]]]);
    expect(balanced(buffer)).toBe(true);
  });

  it('keeps every coalesce key on one lane', async () => {
    const { buffer, sink } = await startViews({ partitions: 4 });

    for (let round = 0; round < 3; round++) {
      for (const page of ['/a', '/b', '/c', '/d', '/e']) buffer.insert(views(page));
      await buffer.flush();
    }
    const lanes = new Map<string, Set<number>>();
    for (const f of sink.flushes) for (const v of f.values) lanes.set(v.page, (lanes.get(v.page) ?? new Set()).add(f.ctx.partition));
    for (const set of lanes.values()) expect(set.size).toBe(1);
  });
});
