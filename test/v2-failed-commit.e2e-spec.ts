import { DataBufferError, DataBufferModule, FlushFailedError } from 'nestjs-data-buffer';
import { deferred, Item, useBufferTestApp } from './support/buffer-test.utils';

/** Tracks a commit() promise: whether it settled, and with what. */
function track(promise: Promise<void>) {
  const state = { settled: false, outcome: undefined as unknown };
  promise.then(
    () => Object.assign(state, { settled: true, outcome: 'resolved' }),
    (error: unknown) => Object.assign(state, { settled: true, outcome: error }),
  );
  return state;
}

describe('a failed commit() settles after the error handler', () => {
  const testApp = useBufferTestApp();
  const { startEvents } = testApp;

  it.each<[string, Record<string, unknown>, (batch: Item[]) => unknown]>([
    ['a failed batch', { retries: 0 }, () => {
      throw new Error('database down');
    }],
    ['a rejected item', { retries: 0 }, (batch) => ({ reject: [{ item: batch[0], error: new Error('refused') }] })],
    ['an item whose retries ran out', { retries: 0 }, (batch) => ({ retry: [batch[0]] })],
    ['a failed item under splitOnFailure', { retries: 0, splitOnFailure: true }, (batch) => {
      if (batch.some((i) => i.id === 1)) throw new Error('poison');
    }],
  ])('rejects the commit() of %s only after @OnFlushError returned', async (_case, options, onFlush) => {
    const { buffer, sink } = await startEvents(options);
    const errorHandler = deferred();
    sink.onFlush = onFlush;
    sink.onFlushError = () => errorHandler.promise;

    const committed = track(buffer.commit({ id: 1 }));
    buffer.insert({ id: 2 });
    void buffer.flush();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(sink.failures).toHaveLength(1);
    expect(committed.settled).toBe(false);

    errorHandler.resolve();
    await jest.advanceTimersByTimeAsync(0);
    expect(committed.settled).toBe(true);
    expect(committed.outcome).toBeInstanceOf(FlushFailedError);
  });

  it('rejects after an @OnFlushError that throws', async () => {
    const { buffer, sink } = await startEvents({ retries: 0 });
    const errorHandler = deferred();
    sink.onFlush = () => {
      throw new Error('database down');
    };
    sink.onFlushError = () => errorHandler.promise;

    const committed = track(buffer.commit({ id: 1 }));
    void buffer.flush();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(committed.settled).toBe(false);

    errorHandler.reject(new Error('dead-letter file not writable'));
    await jest.advanceTimersByTimeAsync(0);
    expect(committed.outcome).toBeInstanceOf(FlushFailedError);
  });

  it('rejects after an @OnFlushError that outlives flushTimeout', async () => {
    const { buffer, sink } = await startEvents({ retries: 0, flushTimeout: 5_000 });
    sink.onFlush = () => {
      throw new Error('database down');
    };
    sink.onFlushError = () => new Promise(() => undefined);

    const committed = track(buffer.commit({ id: 1 }));
    void buffer.flush();
    await jest.advanceTimersByTimeAsync(4_999);
    expect(sink.failures).toHaveLength(1);
    expect(committed.settled).toBe(false);

    await jest.advanceTimersByTimeAsync(1);
    expect(committed.outcome).toBeInstanceOf(FlushFailedError);
  });

  it('rejects the commit() of a shutdown leftover only after @OnFlushError returned', async () => {
    const { buffer, sink } = await startEvents({ retries: 0 }, { imports: [DataBufferModule.forRoot({ shutdownTimeout: 1_000 })] });
    const errorHandler = deferred();
    sink.onFlush = () => new Promise(() => undefined); // hangs
    sink.onFlushError = () => errorHandler.promise;

    const committed = track(buffer.commit({ id: 1 }));
    void buffer.flush();
    await jest.advanceTimersByTimeAsync(0);
    const closing = testApp.close();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(sink.failures).toHaveLength(1);
    expect(committed.settled).toBe(false);

    errorHandler.resolve();
    await jest.advanceTimersByTimeAsync(0);
    await closing;
    expect(committed.outcome).toBeInstanceOf(DataBufferError);
  });
});
