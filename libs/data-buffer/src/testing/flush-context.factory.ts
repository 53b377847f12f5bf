import type { FlushContext } from '../engine';

/**
 * A complete `FlushContext` for calling a handler method directly in a unit test:
 * buffer `'test'`, partition 0, batch id `'test-batch-1'`, attempt 1, reason `'manual'`, a
 * fresh signal that is not aborted, `meta` undefined; `overrides` win.
 */
export function createFlushContext<M = unknown>(overrides: Partial<FlushContext<M>> = {}): FlushContext<M> {
  return {
    buffer: 'test',
    key: undefined,
    partition: 0,
    batchId: 'test-batch-1',
    attempt: 1,
    reason: 'manual',
    signal: new AbortController().signal,
    meta: undefined as M,
    ...overrides,
  };
}
