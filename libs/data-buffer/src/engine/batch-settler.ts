import type { BufferLogger, BufferScheduler, TimerHandle } from './buffer-scheduler.interface';
import { DONE, type Batch } from './batch';
import type { BufferCounters } from './buffer-counters';
import { Failure, type CommitQueue } from './commit-queue';
import { describe, FlushFailedError, FlushTimeoutError } from './errors';
import { FLUSH_ERROR_HANDLER_FAILED, FLUSH_ERROR_HANDLER_TIMED_OUT, INTERNAL_ERROR, ITEMS_LOST } from './engine.messages';
import type { FlushContext, FlushErrorHandler } from './flush-context.interface';

const EMPTY: never[] = [];

/**
 * Where items end: written (counted, their commits resolved), or failed (counted, handed to
 * `@OnFlushError`, and only then their commits rejected). It also finishes batches and wakes
 * whoever waits for them. Freed room is reported back to the commit queue.
 */
export class BatchSettler<T> {
  // `any`, not T: handlers take T as a parameter, which would make DataBuffer<number> unassignable to DataBuffer<unknown>.
  onFlushError: FlushErrorHandler<any> | undefined;

  constructor(
    private readonly name: string,
    private readonly counters: BufferCounters,
    private readonly commits: CommitQueue<T>,
    private readonly scheduler: BufferScheduler,
    private readonly logger: BufferLogger,
  ) {}

  /** `n` items of `batch` were written; `positions` names them, or null for all of the batch's open commits. */
  written(batch: Batch<T>, n: number, positions: readonly number[] | null): void {
    if (n === 0) return;
    this.counters.written(n, this.scheduler.now());
    if (batch.runs !== null) this.commits.settle(batch, positions, undefined);
    this.commits.roomFreed();
  }

  /**
   * `items` of `batch` ended in failure with `error`: counted now, handed to `@OnFlushError`
   * with `ctx` (whose signal `controller` aborts if the handler outlives flushTimeout), and their commits rejected once it returned (`causes[i]` is item i's own error,
   * when each has one). Then `done` runs; it never throws into the caller.
   */
  failed(
    batch: Batch<T>,
    items: T[],
    positions: readonly number[] | null,
    error: unknown,
    ctx: FlushContext,
    controller: AbortController,
    causes: readonly unknown[] | null,
    done: () => void,
    attempts: readonly number[] | null = null,
  ): void {
    const n = items.length;
    // Rejected items: lastError is the first one's own error.
    this.counters.lost(n, causes === null ? error : causes[0], this.scheduler.now());
    batch.failedItems += n;
    this.commits.roomFreed();
    batch.reporting++;
    this.report(items, error, ctx, batch.options.flushTimeout, controller).then(() => {
      try {
        if (batch.runs !== null) this.rejectCommits(batch, positions, error, attempts ?? ctx.attempt, causes);
      } catch (internal) {
        this.logger.error(INTERNAL_ERROR(this.name, describe(internal)));
      }
      // Shutdown may have finished the batch meanwhile: it is released once its last report is in.
      if (--batch.reporting === 0 && batch.state === DONE) this.released(batch);
      done();
    });
  }

  /** The batch is settled: let go of its items (the handler may still hold them) and wake its waiters. */
  finish(batch: Batch<T>): void {
    batch.state = DONE;
    if (batch.reporting === 0) this.released(batch);
  }

  /** A batch that is done (settled, drained or emptied) lets go of what it held. */
  released(batch: Batch<T>): void {
    batch.items = EMPTY;
    batch.runs = null;
    batch.lastRun = null;
    batch.controller = null;
    batch.ctx = null;
    batch.ckeys = null;
    batch.sizes = null;
    batch.pos = null;
    const waiters = batch.waiters;
    if (waiters !== null) {
      batch.waiters = null;
      for (const wake of waiters) wake();
    }
  }

  /** Resolves once `batch` is done. */
  settled(batch: Batch<T>): Promise<void> {
    if (batch.state === DONE) return Promise.resolve();
    return new Promise<void>((resolve) => (batch.waiters ??= []).push(resolve));
  }

  /** `attempts`: one for every item, or each item's own (then `positions` are given and `causes` is null). */
  private rejectCommits(
    batch: Batch<T>,
    positions: readonly number[] | null,
    error: unknown,
    attempts: number | readonly number[],
    causes: readonly unknown[] | null,
  ): void {
    if (typeof attempts !== 'number') {
      const fates = attempts.map((attempt) => new Failure(new FlushFailedError(this.name, error, attempt)));
      this.commits.settleSome(batch, positions as number[], fates);
      return;
    }
    if (causes === null) {
      this.commits.settle(batch, positions, new Failure(new FlushFailedError(this.name, error, attempts)));
      return;
    }
    const fates = causes.map((cause) => new Failure(new FlushFailedError(this.name, cause, attempts)));
    this.commits.settleSome(batch, positions as number[], fates);
  }

  /** Hands the items to `@OnFlushError` (bounded by flushTimeout), or logs them as lost. Never rejects. */
  private async report(items: T[], error: unknown, ctx: FlushContext, timeout: number, controller: AbortController): Promise<void> {
    const onError = this.onFlushError;
    if (onError === undefined) {
      this.logger.error(ITEMS_LOST(this.name, items.length, ctx.attempt, describe(error)));
      return;
    }
    let timer: TimerHandle;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.scheduler.setTimeout(timeout, () => resolve('timeout'));
    });
    try {
      const outcome = await Promise.race([Promise.resolve().then(() => onError(error, items, ctx)), timedOut]);
      if (outcome === 'timeout') {
        controller.abort(new FlushTimeoutError(this.name, timeout));
        this.logger.error(FLUSH_ERROR_HANDLER_TIMED_OUT(this.name, items.length, timeout));
      }
    } catch (handlerError) {
      this.logger.error(FLUSH_ERROR_HANDLER_FAILED(this.name, items.length, describe(handlerError)));
    } finally {
      this.scheduler.clearTimeout(timer);
    }
  }
}
