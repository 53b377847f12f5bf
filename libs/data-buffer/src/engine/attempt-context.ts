import { getEventListeners } from 'node:events';
import type { Batch } from './batch';
import type { FlushContext } from './flush-context.interface';
import type { Lane } from './lane';

/**
 * The `FlushContext` of an attempt of `batch` on `lane` (or of its error handler call), which
 * becomes `batch.ctx`. The lane's AbortController is reused until it is aborted or left with a
 * listener (creating a signal costs more than the rest of a flush); it becomes `batch.controller`.
 */
export function attemptContext<T>(buffer: string, lane: Lane<T>, batch: Batch<T>, attempt: number): FlushContext {
  let controller = lane.controller;
  if (controller === null || controller.signal.aborted || getEventListeners(controller.signal, 'abort').length > 0) {
    controller = lane.controller = new AbortController();
  }
  batch.controller = controller;
  const ctx: FlushContext = {
    buffer,
    key: batch.key,
    partition: lane.index,
    batchId: lane.workId === '' ? batch.id : lane.workId,
    attempt,
    reason: batch.reason,
    signal: controller.signal,
    meta: batch.options.meta,
  };
  batch.ctx = ctx;
  return ctx;
}
