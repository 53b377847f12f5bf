import { deferred, Item, useBufferTestApp } from './support/buffer-test.utils';

const items = (...ids: number[]): Item[] => ids.map((id) => ({ id }));

describe('commitDelay: group commit', () => {
  const testApp = useBufferTestApp();
  const { startEvents } = testApp;

  /** Tracks whether a commit() promise has settled yet. */
  function track(promise: Promise<void>) {
    const state = { settled: false, error: undefined as unknown };
    promise.then(
      () => (state.settled = true),
      (error: unknown) => {
        state.settled = true;
        state.error = error;
      },
    );
    return state;
  }

  it("makes a batch holding a commit() due commitDelay ms after the first commit, with reason 'commit'; inserts ride along", async () => {
    const { buffer, sink } = await startEvents({ commitDelay: 50, interval: 60_000 });
    const t0 = Date.now();

    buffer.insert({ id: 1 }); // plain insert: would wait for the interval
    await jest.advanceTimersByTimeAsync(10);
    const first = track(buffer.commit({ id: 2 })); // due at t0 + 60
    await jest.advanceTimersByTimeAsync(20);
    const second = track(buffer.commit({ id: 3 })); // does not move the deadline
    buffer.insert({ id: 4 });
    await jest.advanceTimersByTimeAsync(29);
    expect(sink.flushes).toHaveLength(0);

    await jest.advanceTimersByTimeAsync(1);
    expect(sink.ids()).toEqual([[1, 2, 3, 4]]);
    expect(sink.flushes[0].ctx.reason).toBe('commit');
    expect(sink.flushes[0].at - t0).toBe(60);
    await jest.advanceTimersByTimeAsync(0);
    expect(first).toEqual({ settled: true, error: undefined });
    expect(second).toEqual({ settled: true, error: undefined });
  });

  it('leaves batches without a commit() to their interval', async () => {
    const { buffer, sink } = await startEvents({ commitDelay: 0, interval: 1_000 });

    buffer.insertMany(items(1, 2));
    await jest.advanceTimersByTimeAsync(999);
    expect(sink.flushes).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(sink.flushes.map((f) => f.ctx.reason)).toEqual(['interval']);
  });

  it('keeps the reason of a size or interval trigger that comes first', async () => {
    const { buffer, sink } = await startEvents({ commitDelay: 500, interval: 200, maxSize: 2 });

    void buffer.commit({ id: 1 });
    void buffer.commit({ id: 2 }); // full: sealed by size
    void buffer.commit({ id: 3 }); // due by its interval (200) before its commitDelay (500)
    await jest.advanceTimersByTimeAsync(200);

    expect(sink.flushes.map((f) => [f.items.map((i) => i.id), f.ctx.reason])).toEqual([
      [[1, 2], 'size'],
      [[3], 'interval'],
    ]);
  });

  it('with commitDelay 0, seals the batch in a microtask after the commit, never inside it, so one synchronous run shares it', async () => {
    const { buffer, sink } = await startEvents({ commitDelay: 0 });

    const a = buffer.commit({ id: 1 });
    const b = buffer.commit({ id: 2 });
    buffer.insert({ id: 3 });
    expect(sink.flushes).toHaveLength(0);
    expect(buffer.size()).toBe(3);

    await Promise.all([a, b]);
    expect(sink.ids()).toEqual([[1, 2, 3]]);
    expect(sink.flushes[0].ctx.reason).toBe('commit');
  });

  it('with commitDelay 0, a commit waits only for the flush in progress and its own, and commits that arrive meanwhile share one batch', async () => {
    const { buffer, sink } = await startEvents({ commitDelay: 0, partitions: 1 });
    const gate = deferred();
    sink.onFlush = (batch) => (batch[0].id === 1 ? gate.promise : undefined);

    const first = track(buffer.commit({ id: 1 }));
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.ids()).toEqual([[1]]);

    const later = [2, 3, 4].map((id) => track(buffer.commit({ id })));
    await jest.advanceTimersByTimeAsync(1_000);
    expect(sink.ids()).toEqual([[1]]); // the lane is busy: the due batch keeps taking items
    expect(buffer.size()).toBe(3);
    buffer.insert({ id: 5 });

    gate.resolve();
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.ids()).toEqual([[1], [2, 3, 4, 5]]);
    expect(sink.flushes[1].ctx.reason).toBe('commit');
    expect(first.settled).toBe(true);
    for (const state of later) expect(state).toEqual({ settled: true, error: undefined });
  });

  it('lets a due batch on a busy lane take items up to its size limit, then opens the next', async () => {
    const { buffer, sink } = await startEvents({ commitDelay: 0, partitions: 1, maxSize: 3 });
    const gate = deferred();
    sink.onFlush = (batch) => (batch[0].id === 1 ? gate.promise : undefined);

    void buffer.commit({ id: 1 });
    await jest.advanceTimersByTimeAsync(0);
    for (const id of [2, 3, 4, 5]) void buffer.commit({ id });
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.ids()).toEqual([[1]]);

    gate.resolve();
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.flushes.map((f) => [f.items.map((i) => i.id), f.ctx.reason])).toEqual([
      [[1], 'commit'],
      [[2, 3, 4], 'size'],
      [[5], 'commit'],
    ]);
  });

  it('hands a batch that became due while its lane was busy over the moment the lane is free, batches in the order they became due', async () => {
    const { buffer, sink } = await startEvents({ commitDelay: 50, partitions: 1 });
    const gate = deferred();
    sink.onFlush = (batch) => (batch[0].id === 1 ? gate.promise : undefined);

    buffer.insert({ id: 1 }, 'a');
    void buffer.flush('a'); // the lane is busy with a's batch
    await jest.advanceTimersByTimeAsync(0);

    void buffer.commit({ id: 2 }, 'c'); // due at 50
    await jest.advanceTimersByTimeAsync(10);
    void buffer.commit({ id: 3 }, 'b'); // due at 60
    await jest.advanceTimersByTimeAsync(60);
    void buffer.commit({ id: 4 }, 'c'); // c is due and waiting: it still takes items
    await jest.advanceTimersByTimeAsync(30);
    expect(sink.flushes).toHaveLength(1);

    const t = Date.now();
    gate.resolve();
    await jest.advanceTimersByTimeAsync(0);
    expect(sink.flushes.map((f) => [f.ctx.key, f.items.map((i) => i.id), f.ctx.reason])).toEqual([
      ['a', [1], 'manual'],
      ['c', [2, 4], 'commit'],
      ['b', [3], 'commit'],
    ]);
    expect(sink.flushes[1].at).toBe(t);
    expect(sink.flushes[2].at).toBe(t);
  });

  it('is off by default: a commit() waits for the interval', async () => {
    const { buffer, sink } = await startEvents({ interval: 1_000 });

    const state = track(buffer.commit({ id: 1 }));
    await jest.advanceTimersByTimeAsync(999);
    expect(sink.flushes).toHaveLength(0);
    expect(state.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(sink.flushes[0].ctx.reason).toBe('interval');
    expect(state.settled).toBe(true);
  });
});
