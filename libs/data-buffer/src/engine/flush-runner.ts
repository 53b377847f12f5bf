import type { BufferLogger, BufferScheduler } from './buffer-scheduler.interface';
import { RUNNING, type Batch } from './batch';
import type { BatchAssembler } from './batch-assembler';
import type { BatchSettler } from './batch-settler';
import type { BufferCounters } from './buffer-counters';
import { flushChannel, type FlushTraceContext } from './channels';
import { DataBufferError, describe, FlushTimeoutError, PartialFlushError, RejectedItemsError } from './errors';
import { INTERNAL_ERROR } from './engine.messages';
import type { FlushContext, FlushHandler } from './flush-context.interface';
import { partitionOutcome, readOutcome, type ParsedOutcome } from './flush-outcome';
import { retryWait } from './buffer-options';
import { attemptContext } from './attempt-context';
import { SplitPart, type Lane } from './lane';
import { FlushWatchdog } from './flush-watchdog';

const EMPTY: never[] = [];
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * Runs each lane's batches one at a time, in order: attempts, retries with backoff, partial
 * outcomes, the split of a failing batch, and, at shutdown, giving up on what is left. Where
 * items end is the settler's business; this room decides what to try next.
 *
 * Split (splitOnFailure), depth-first: a batch whose attempts all failed becomes halves
 * `.1` and `.2` on a stack; a failed half of more than one item is split before the next
 * half is tried; a failed single item goes to the error handler; when both halves of one
 * split fail, the rest goes to the error handler and the batch is done.
 */
export class FlushRunner<T> {
  // `any`, not T: see BatchSettler.onFlushError.
  onFlush: FlushHandler<any> | undefined;
  started = false;
  /** Hands the runner its lanes' batches; set by the facade's wiring. */
  assembler: BatchAssembler<T>;
  private readonly watchdog: FlushWatchdog<T>;

  constructor(
    private readonly name: string,
    private readonly batchPrefix: string,
    private readonly counters: BufferCounters,
    private readonly settler: BatchSettler<T>,
    private readonly scheduler: BufferScheduler,
    private readonly logger: BufferLogger,
  ) {
    this.watchdog = new FlushWatchdog<T>(scheduler);
  }

  /** Prepares a lane's callbacks once (`onTimer`: its deadline trigger). */
  attach(lane: Lane<T>, onTimer: () => void): void {
    lane.onTimer = onTimer;
    lane.pumpTask = () => this.pump(lane);
    this.watchdog.attach(lane);
  }

  /** Lets batches run; lanes with work start now. */
  start(): void {
    this.started = true;
    for (const lane of this.assembler.lanes) this.wake(lane);
  }

  /** Something was sealed or became due on `lane`: run it once the lane is free (in a microtask, never inside insert). */
  wake(lane: Lane<T>): void {
    if (!this.started || lane.pumping) return;
    lane.pumping = true;
    void RESOLVED.then(lane.pumpTask);
  }

  /** A pending batch left without a flush (drained or emptied). */
  released(batch: Batch<T>): void {
    this.settler.released(batch);
  }

  /** Resolves once every batch handed over so far is done. */
  whenIdle(): Promise<unknown> {
    const waits: Promise<void>[] = [];
    for (const lane of this.assembler.lanes) {
      // Every one of them: a waiting batch may still be drained, and then it no longer stands for those before it.
      if (lane.running !== null) waits.push(this.settler.settled(lane.running));
      for (let batch = lane.queueHead; batch !== null; batch = batch.nextQueued) waits.push(this.settler.settled(batch));
    }
    return Promise.all(waits);
  }

  /** Starts the lane's next batch, and the next again when one finishes synchronously. */
  private pump(lane: Lane<T>): void {
    lane.inPump = true;
    try {
      while (lane.running === null) {
        const batch = this.assembler.take(lane);
        if (batch === null) break;
        batch.state = RUNNING;
        lane.running = batch;
        if (batch.id === '') batch.id = this.batchPrefix + batch.seq;
        lane.work = batch.items;
        lane.workPos = null;
        lane.workId = batch.id;
        lane.partial = lane.lastFailed = false;
        this.attempt(lane, batch);
      }
    } catch (error) {
      this.logger.error(INTERNAL_ERROR(this.name, describe(error)));
    } finally {
      lane.inPump = false;
    }
    if (lane.running === null) lane.pumping = false;
  }

  /** One attempt at `lane.work`; its outcome goes to `decided`, through the tracing channel when it has subscribers. */
  private attempt(lane: Lane<T>, batch: Batch<T>): void {
    const attempt = ++batch.attempts;
    const ctx = this.context(lane, batch, attempt);
    if (!flushChannel.hasSubscribers) {
      this.invoke(lane, batch, ctx, null, null);
      return;
    }
    const trace: FlushTraceContext = {
      buffer: this.name,
      key: batch.key,
      partition: lane.index,
      batchId: ctx.batchId,
      size: lane.work.length,
      attempt,
      reason: ctx.reason,
    };
    flushChannel
      .tracePromise(
        () => new Promise<void>((resolve, reject) => this.invoke(lane, batch, ctx, trace, (error, failed) => (failed ? reject(error) : resolve()))),
        trace,
      )
      .then(
        () => this.decided(lane, batch, undefined, false),
        (error: unknown) => this.decided(lane, batch, error, true),
      );
  }

  /**
   * One handler call, failed by a throw, a rejection, `flushTimeout` or an outcome that names
   * items wrongly. An outcome that comes after the attempt was decided (late, after a timeout,
   * or after shutdown gave up) is ignored.
   */
  private invoke(
    lane: Lane<T>,
    batch: Batch<T>,
    ctx: FlushContext,
    trace: FlushTraceContext | null,
    report: ((error: unknown, failed: boolean) => void) | null,
  ): void {
    const token = ++lane.attemptToken;
    const decide = (error: unknown, failed: boolean, result: unknown): void => {
      if (lane.attemptToken !== token) return;
      lane.attemptToken++;
      lane.onDeadline = null;
      if (!failed && result !== null && typeof result === 'object') {
        const outcome = readOutcome(this.name, result, lane.work);
        if (outcome instanceof DataBufferError) {
          error = outcome;
          failed = true;
        } else if (outcome !== null) {
          lane.outcome = outcome;
          if (trace !== null) {
            trace.retry = outcome.retry;
            trace.reject = outcome.reject;
          }
        }
      }
      if (report !== null) report(error, failed);
      else this.decided(lane, batch, error, failed);
    };
    let result: unknown;
    try {
      result = (this.onFlush as FlushHandler<T>)(lane.work, ctx);
    } catch (error) {
      decide(error, true, undefined);
      return;
    }
    if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') {
      decide(undefined, false, result);
      return;
    }
    const timeout = batch.options.flushTimeout;
    lane.onDeadline = () => {
      const error = new FlushTimeoutError(this.name, timeout);
      batch.controller?.abort(error);
      decide(error, true, undefined);
    };
    this.watchdog.arm(lane, timeout);
    (result as PromiseLike<unknown>).then(
      (value) => decide(undefined, false, value),
      (error: unknown) => decide(error, true, undefined),
    );
  }

  private decided(lane: Lane<T>, batch: Batch<T>, error: unknown, failed: boolean): void {
    try {
      const outcome = lane.outcome;
      lane.outcome = null;
      if (batch.state !== RUNNING || lane.running !== batch) return; // shutdown gave up on it meanwhile
      lane.lastFailed = failed;
      if (failed) this.attemptFailed(lane, batch, error);
      else if (outcome === null) {
        this.settler.written(batch, lane.work.length, lane.workPos);
        this.next(lane, batch);
      } else this.partial(lane, batch, outcome);
    } catch (internal) {
      this.logger.error(INTERNAL_ERROR(this.name, describe(internal)));
    }
  }

  /** An outcome: the written items are settled at once, the rejected ones after their error handler call, the rest is retried. */
  private partial(lane: Lane<T>, batch: Batch<T>, outcome: ParsedOutcome): void {
    const parts = partitionOutcome(lane.work, this.positions(lane, batch), outcome);
    this.settler.written(batch, parts.written.length, parts.written);
    lane.work = parts.retry;
    lane.workPos = parts.retryPos;
    if (parts.retry.length > 0) lane.partial = lane.lastFailed = true;
    if (parts.rejected.length === 0) {
      this.retryRest(lane, batch);
      return;
    }
    const failures = parts.rejected.map((item, i) => ({ item, error: parts.causes[i] }));
    const error = new RejectedItemsError(this.name, failures);
    this.fail(lane, batch, parts.rejected, parts.rejectedPos, error, parts.causes, () => this.retryRest(lane, batch));
  }

  /** After an outcome: `lane.work` holds the items to retry, if any. */
  private retryRest(lane: Lane<T>, batch: Batch<T>): void {
    const items = lane.work;
    if (items.length === 0) {
      this.next(lane, batch);
      return;
    }
    if (lane.part === null && batch.attempts <= batch.options.retries) {
      this.retryLater(lane, batch);
      return;
    }
    lane.work = EMPTY;
    this.fail(lane, batch, items, lane.workPos, new PartialFlushError(this.name, items.length, batch.attempts), null, () => this.next(lane, batch));
  }

  private attemptFailed(lane: Lane<T>, batch: Batch<T>, error: unknown): void {
    const part = lane.part;
    const work = lane.work;
    if (part === null) {
      if (batch.attempts <= batch.options.retries) {
        this.retryLater(lane, batch);
        return;
      }
      if (batch.options.splitOnFailure && work.length > 1 && !lane.partial) {
        lane.parts = [];
        SplitPart.push(lane.parts, work, this.positions(lane, batch), lane.workId, batch.attempts);
        this.next(lane, batch);
        return;
      }
      lane.work = EMPTY;
      this.fail(lane, batch, work, lane.workPos, error, null, () => this.next(lane, batch));
      return;
    }
    lane.work = EMPTY;
    if (part.sibling !== null && part.sibling.failed) {
      // Both halves of one split failed: the sink refuses everything, so stop splitting.
      const [rest, restPos, restAttempts] = SplitPart.drainStack(lane.parts as SplitPart<T>[]);
      this.fail(lane, batch, part.items, part.positions, error, null, () => {
        if (rest.length === 0) this.next(lane, batch);
        else this.fail(lane, batch, rest, restPos, error, null, () => this.next(lane, batch), restAttempts);
      });
      return;
    }
    part.failed = true;
    if (part.items.length > 1) {
      SplitPart.push(lane.parts as SplitPart<T>[], part.items, part.positions, part.id, batch.attempts);
      this.next(lane, batch);
      return;
    }
    this.fail(lane, batch, part.items, part.positions, error, null, () => this.next(lane, batch));
  }

  /** The next split part, or the batch is done. */
  private next(lane: Lane<T>, batch: Batch<T>): void {
    const parts = lane.parts;
    if (parts !== null && parts.length > 0) {
      if (lane.lastFailed) this.counters.retries++;
      const part = parts.pop() as SplitPart<T>;
      lane.part = part;
      lane.work = part.items;
      lane.workPos = part.positions;
      lane.workId = part.id;
      this.attempt(lane, batch);
      return;
    }
    lane.part = lane.parts = null;
    lane.work = EMPTY;
    lane.workPos = null;
    this.settler.finish(batch);
    if (lane.running === batch) lane.running = null;
    if (!lane.inPump) this.pump(lane);
  }

  /** The next attempt of `lane.work` after the retry wait. */
  private retryLater(lane: Lane<T>, batch: Batch<T>): void {
    this.counters.retries++;
    const retry = () => {
      lane.sleep = null;
      if (lane.running === batch && batch.state === RUNNING) this.attempt(lane, batch);
    };
    const wait = retryWait(batch.options, batch.attempts);
    if (wait <= 0) void RESOLVED.then(retry);
    // keepAlive: the batch's items wait on this timer; a process that exits meanwhile would lose them.
    else lane.sleep = this.scheduler.setTimeout(wait, retry, true);
  }

  /**
   * Hands items to the settler as failed; `then` runs after their error handler call, unless shutdown gave up on the batch.
   * `attempts`: each item's last attempt, when they differ from the batch's (what a stopped split never attempted again).
   */
  private fail(
    lane: Lane<T>,
    batch: Batch<T>,
    items: T[],
    positions: readonly number[] | null,
    error: unknown,
    causes: unknown[] | null,
    then: () => void,
    attempts: readonly number[] | null = null,
  ): void {
    const ctx = this.context(lane, batch, batch.attempts);
    this.settler.failed(batch, items, positions, error, ctx, batch.controller as AbortController, causes, () => {
      if (lane.running === batch && batch.state === RUNNING) then();
    }, attempts);
  }

  /** The positions of `lane.work`. */
  private positions(lane: Lane<T>, batch: Batch<T>): number[] {
    if (lane.workPos !== null) return lane.workPos;
    const positions: number[] = [];
    for (let i = 0; i < lane.work.length; i++) positions.push(batch.positionAt(i));
    return positions;
  }

  /** A context for `attempt` (0: the error handler of a batch never attempted); its controller becomes `batch.controller`. */
  private context(lane: Lane<T>, batch: Batch<T>, attempt: number): FlushContext {
    return attemptContext(this.name, lane, batch, attempt);
  }

  /**
   * Shutdown ran out of time: everything not settled on every lane (the running batch's
   * remaining items, then each waiting batch) goes to the error handler with `error`.
   */
  async abandon(error: unknown): Promise<void> {
    await Promise.all(this.assembler.lanes.map((lane) => this.abandonLane(lane, error)));
  }

  private async abandonLane(lane: Lane<T>, error: unknown): Promise<void> {
    const running = lane.running;
    lane.running = null;
    lane.attemptToken++;
    this.watchdog.stop(lane);
    if (lane.sleep !== null) this.scheduler.clearTimeout(lane.sleep);
    lane.sleep = null;
    if (running !== null && running.state === RUNNING) {
      const [rest, restPos] = SplitPart.drainStack(lane.parts ?? []);
      const items = lane.work.concat(rest);
      const positions = lane.workPos === null ? null : lane.workPos.concat(restPos);
      lane.work = EMPTY;
      lane.part = lane.parts = null;
      running.controller?.abort(error);
      if (items.length > 0) await this.giveUp(lane, running, items, positions, error);
      this.settler.finish(running);
    }
    for (;;) {
      const batch = this.assembler.take(lane);
      if (batch === null) break;
      batch.state = RUNNING;
      if (batch.id === '') batch.id = this.batchPrefix + batch.seq;
      lane.workId = batch.id;
      await this.giveUp(lane, batch, batch.items, null, error);
      this.settler.finish(batch);
    }
    lane.workId = '';
    lane.pumping = false;
  }

  private giveUp(lane: Lane<T>, batch: Batch<T>, items: T[], positions: number[] | null, error: unknown): Promise<void> {
    const ctx = this.context(lane, batch, batch.attempts);
    return new Promise<void>((resolve) => this.settler.failed(batch, items, positions, error, ctx, batch.controller as AbortController, null, resolve));
  }

  /** Stops every lane's watchdog (the buffer is closed). */
  stopWatchdogs(): void {
    for (const lane of this.assembler.lanes) this.watchdog.stop(lane);
  }
}
