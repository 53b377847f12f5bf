import { randomUUID } from 'node:crypto';
import type { BufferKey, BufferOptions, BufferOptionsPatch, CoalesceOptions, ResolvedBufferOptions } from './buffer-options.interface';
import { patchBufferOptions, resolveBufferOptions } from './buffer-options';
import type { BufferScheduler, TimerHandle } from './buffer-scheduler.interface';
import type { BufferStats } from './buffer-stats.interface';
import { OPEN, type Batch } from './batch';
import { BatchAssembler } from './batch-assembler';
import { BatchSettler } from './batch-settler';
import { BufferCounters } from './buffer-counters';
import { CommitQueue, Failure } from './commit-queue';
import { DeadlineTrigger } from './deadline-trigger';
import { DefaultBufferScheduler, processWarningLogger } from './default-scheduler';
import { BufferClosedError, DataBufferError, ShutdownTimeoutError } from './errors';
import { DRAINED, NO_FLUSH_HANDLER } from './engine.messages';
import type { DataBufferHooks, FlushErrorHandler, FlushHandler, FlushReport } from './flush-context.interface';
import { FlushRunner } from './flush-runner';
import { ItemIntake } from './item-intake';
import { OverflowGate } from './overflow-gate';
import { PendingView } from './pending-view';

/**
 * A keyed, partitioned in-memory buffer: items go into batches per lane (or per key), and
 * batches are handed to the flush handler when full, when old enough, on demand and at
 * shutdown, one batch at a time per lane, in insertion order, with retries.
 *
 * This class is the facade: the public API and the wiring of the rooms, in the order data
 * flows through them: intake and assembler (batches) -> overflow gate (capacity) -> deadline
 * trigger (time) -> flush runner (attempts) -> settler (where items end) -> commit queue.
 */
export class DataBuffer<T = unknown> {
  /** The buffer's name. */
  readonly name: string;
  /** The number of lanes. */
  readonly partitions: number;

  private opts: ResolvedBufferOptions;
  /** Mirrors of what every insert reads. */
  private capacity: number;
  private slow: boolean;
  /** A coalescing buffer with none of bytes, drop-oldest's order or flush-through: a merge needs nothing else. */
  private mergeOnly: CoalesceOptions<any> | undefined;
  // The rooms are typed `<any>`: they take T in and out, which would make DataBuffer<number>
  // unassignable to DataBuffer<unknown>; the public methods keep T.
  private readonly counters = new BufferCounters();
  private readonly scheduler: BufferScheduler;
  private readonly assembler: BatchAssembler<any>;
  private readonly gate: OverflowGate<any>;
  private readonly trigger: DeadlineTrigger<any>;
  private readonly runner: FlushRunner<any>;
  private readonly settler: BatchSettler<any>;
  private readonly commits: CommitQueue<any>;
  private readonly intake: ItemIntake<any>;
  private readonly view: PendingView<any>;
  private closed = false;
  private closing: Promise<void> | null = null;
  private stepOne: Promise<void> | null = null;
  /** The shutdown budget, from the first shutdown step: resolves when it runs out. */
  private budget: Promise<true> | null = null;
  private budgetTimer: TimerHandle = undefined;

  constructor(options: BufferOptions<T>, hooks: DataBufferHooks<T> = {}) {
    this.opts = resolveBufferOptions(options);
    this.name = this.opts.name;
    this.partitions = this.opts.partitions;
    this.capacity = this.opts.capacity;
    const scheduler = (this.scheduler = hooks.scheduler ?? new DefaultBufferScheduler());
    const logger = hooks.logger ?? processWarningLogger;
    const counters = this.counters;
    this.commits = new CommitQueue<T>(this.name, counters, scheduler, () => this.capacity);
    this.settler = new BatchSettler<T>(this.name, counters, this.commits, scheduler, logger);
    this.runner = new FlushRunner<T>(this.name, `${this.name}:${randomUUID()}:`, counters, this.settler, scheduler, logger);
    this.trigger = new DeadlineTrigger<T>(this.name, scheduler, logger);
    this.assembler = new BatchAssembler<T>(this.partitions, this.name, this.opts, counters, scheduler, this.trigger, this.runner);
    this.trigger.assembler = this.runner.assembler = this.assembler;
    for (const lane of this.assembler.lanes) this.runner.attach(lane, () => this.trigger.fire(lane));
    this.gate = new OverflowGate<T>(this.name, this.opts.overflow, this.capacity, counters, this.assembler, this.commits);
    this.view = new PendingView<T>(this.assembler, counters, this.opts.coalesce !== undefined);
    this.intake = new ItemIntake<T>(this.name, this.opts, counters, this.assembler, this.gate);
    this.commits.admitOne = (item, key) => this.commitNow(item, key);
    this.assembler.onNoByteBatches = () => this.refreshMode();
    this.runner.onFlush = hooks.onFlush;
    this.settler.onFlushError = hooks.onFlushError;
    this.slow = this.refreshMode();
  }

  /** The options in force (defaults applied). */
  get options(): Readonly<ResolvedBufferOptions> {
    return this.opts;
  }

  /** True while the most recent settlement of items of this buffer was a failure (`@OnFlushError`). */
  get lastFlushFailed(): boolean {
    return this.counters.lastFailed;
  }

  /** True once shutdown has begun (its second step: no more inserts). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** How many lane timers are set now (at most `partitions`). */
  get timerCount(): number {
    return this.trigger.count;
  }

  /** Sets the flush handler and the error handler (the Nest module does this at bootstrap). */
  setHandlers(onFlush: FlushHandler<T>, onFlushError?: FlushErrorHandler<T>): void {
    this.runner.onFlush = onFlush;
    this.settler.onFlushError = onFlushError;
  }

  /** Arms the time triggers and lets flushes run; batches already overdue flush now. */
  start(): void {
    if (this.runner.started || this.closed || this.stepOne !== null) return;
    if (!this.runner.onFlush) throw new DataBufferError(NO_FLUSH_HANDLER(this.name), this.name);
    this.trigger.start();
    this.runner.start();
  }

  /** Adds an item (to `key`'s batch when given). Synchronous and O(1). */
  insert(item: T, key?: BufferKey): void {
    if (this.slow) {
      if (this.closed) throw new BufferClosedError(this.name);
      const coalesce = this.mergeOnly;
      if (coalesce !== undefined && key === undefined) {
        const ckey = coalesce.key(item);
        if (!this.assembler.mergePlain(item, ckey, coalesce.merge)) this.intake.addNewValue(item, ckey, undefined);
        else if (this.counters.pending + this.counters.inFlight >= this.capacity) this.intake.full();
        return;
      }
      this.intake.add(item, key, undefined);
      return;
    }
    if (key !== undefined && typeof key !== 'string' && typeof key !== 'number') throw this.intake.badKey(key);
    const counters = this.counters;
    if (counters.pending + counters.inFlight >= this.capacity) {
      const lane = key === undefined ? this.assembler.nextUnkeyedLane() : this.assembler.laneOf(key);
      if (!this.intake.atCapacity(lane, key)) return;
    }
    const batch = key === undefined ? this.assembler.nextUnkeyed() : this.assembler.keyed(key);
    const items = batch.items;
    items.push(item);
    counters.pending++;
    if (items.length - batch.head >= batch.limit) this.assembler.seal(batch, 'size');
    else if (counters.pending + counters.inFlight >= this.capacity) this.intake.full();
  }

  /** Adds every item; under `overflow: 'reject'` either all fit or none is added. */
  insertMany(items: Iterable<T>, key?: BufferKey): void {
    if (this.closed) throw new BufferClosedError(this.name);
    const list = Array.isArray(items) ? (items as T[]) : Array.from(items);
    const sizes = this.intake.prepareMany(list, key);
    for (let i = 0; i < list.length; i++) {
      if (sizes === null) this.insert(list[i], key);
      else this.intake.add(list[i], key, sizes[i]);
    }
  }

  /** Waits for room if needed, adds the item, and resolves once it was written (rejects once it ended in failure). */
  commit(item: T, key?: BufferKey): Promise<void> {
    if (this.closed) return Promise.reject(new BufferClosedError(this.name));
    if (this.commits.waiting > 0 || this.counters.held >= this.capacity) {
      const bad = this.intake.checkKey(key);
      if (bad !== null) return Promise.reject(bad);
      return this.commits.waitForRoom(item, key, this.opts.waitTimeout);
    }
    return this.commitNow(item, key);
  }

  /** Flushes what is pending (or `key`'s batch) and waits for it and for every batch already handed over. */
  async flush(key?: BufferKey): Promise<FlushReport> {
    const report: FlushReport = { batches: 0, items: 0, failed: 0 };
    if (this.closed) return report;
    const handed = this.assembler.sealOpen(key, this.opts.coalesce !== undefined, 'manual');
    const sizes = handed.map((batch) => batch.live);
    await this.runner.whenIdle();
    for (let i = 0; i < handed.length; i++) {
      report.batches++;
      report.items += sizes[i];
      report.failed += handed[i].failedItems;
    }
    return report;
  }

  /** Items pending (not yet handed to a handler), or `key`'s pending items. */
  size(key?: BufferKey): number {
    return this.view.size(key);
  }

  /** A snapshot of the counters. */
  stats(): BufferStats {
    return this.counters.snapshot(this.name, this.partitions, this.capacity, this.view.keys());
  }

  /** A copy of the pending items (all, or `key`'s): lane by lane, batches in the order they opened, oldest first. */
  dump(key?: BufferKey): T[] {
    return this.view.dump(key);
  }

  /** Removes and returns the pending items (all, or `key`'s) without calling any handler; their commits reject. */
  drain(key?: BufferKey): T[] {
    const failure = new Failure(new DataBufferError(DRAINED(this.name), this.name));
    const out = this.assembler.drain(key, this.opts.coalesce !== undefined, (batch, positions) => this.commits.settle(batch, positions, failure));
    this.commits.roomFreed();
    return out;
  }

  /** Changes options at run time; all-or-nothing. Applies to batches opened afterwards (capacity and overflow at once). */
  updateOptions(patch: BufferOptionsPatch<T>): void {
    const next = patchBufferOptions(this.opts, patch);
    this.opts = this.assembler.opts = this.intake.opts = next as ResolvedBufferOptions;
    this.capacity = this.gate.capacity = this.opts.capacity;
    this.gate.overflow = this.opts.overflow;
    this.gate.setTracking(this.opts.overflow === 'drop-oldest');
    this.refreshMode();
    this.commits.roomFreed();
  }

  /**
   * Step 1 of the graceful shutdown (the Nest module's `beforeApplicationShutdown`): cancels
   * the timers, hands over every pending batch (reason 'shutdown'), and flushes through what is
   * inserted from now on; resolves once what was handed over has settled, or the budget of
   * `timeout` ms ran out (then what is not settled went to `@OnFlushError`).
   */
  beginClose(timeout = 15_000): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.stepOne === null) {
      this.intake.flushThrough = true;
      this.refreshMode();
      this.stepOne = this.handOverAll(timeout);
    }
    return this.stepOne;
  }

  /**
   * Graceful shutdown (or its step 2): refuses new items, hands over the rest and waits for
   * flushes in flight, retries included, within `timeout` ms counted from the first step.
   * What is still not settled then goes to `@OnFlushError` with a `ShutdownTimeoutError`.
   */
  close(timeout = 15_000): Promise<void> {
    if (this.closing === null) {
      this.closed = true;
      this.refreshMode();
      this.commits.rejectWaiting(new BufferClosedError(this.name));
      this.closing = this.handOverAll(timeout).then(() => this.runner.stopWatchdogs());
    }
    return this.closing;
  }

  private async handOverAll(timeout: number): Promise<void> {
    if (this.budget === null) {
      this.trigger.stop();
      // Kept alive: until it runs out, the process holds items that must reach a handler.
      this.budget = new Promise<true>((resolve) => (this.budgetTimer = this.scheduler.setTimeout(timeout, () => resolve(true), true)));
    }
    this.assembler.sealAll('shutdown');
    if (!this.runner.started) {
      if (this.runner.onFlush === undefined) {
        await this.runner.abandon(new DataBufferError(NO_FLUSH_HANDLER(this.name), this.name));
        return;
      }
      this.runner.start();
    }
    // Step 1 resolves at a moment when everything handed over has settled, items inserted meanwhile included.
    let outOfTime = false;
    do outOfTime = await Promise.race([this.runner.whenIdle().then(() => false), this.budget]);
    while (!outOfTime && !this.closed && this.counters.held > 0);
    if (outOfTime) await this.giveUp(timeout);
    else if (this.closed) this.scheduler.clearTimeout(this.budgetTimer);
  }

  /** The budget ran out: what is not settled now goes to `@OnFlushError` with a `ShutdownTimeoutError`. */
  private giveUp(timeout: number): Promise<void> {
    this.assembler.sealAll('shutdown');
    return this.runner.abandon(new ShutdownTimeoutError(this.name, timeout));
  }

  private commitNow(item: T, key: BufferKey | undefined): Promise<void> {
    let batch: Batch<T>;
    let position: number;
    if (!this.slow && (key === undefined || typeof key === 'string' || typeof key === 'number')) {
      batch = key === undefined ? this.assembler.nextUnkeyed() : this.assembler.keyed(key);
      const items = batch.items;
      position = batch.base + items.length;
      items.push(item);
      const counters = this.counters;
      counters.pending++;
      if (items.length - batch.head >= batch.limit) this.assembler.seal(batch, 'size');
      else if (counters.pending + counters.inFlight >= this.capacity) this.intake.full();
    } else {
      try {
        batch = this.intake.add(item, key, undefined) as Batch<T>; // never dropped: a commit comes in only when there is room
      } catch (error) {
        return Promise.reject(error);
      }
      position = this.assembler.position;
    }
    const commitDelay = batch.options.commitDelay;
    if (commitDelay !== undefined && batch.state === OPEN) this.trigger.committed(batch, commitDelay);
    return this.commits.track(batch, position, this.opts.overflow !== 'drop-oldest');
  }

  /** Whether inserts need the full path (closed, flush-through, bytes, coalescing, drop-oldest's order). */
  private refreshMode(): boolean {
    const { coalesce, maxBatchBytes } = this.opts;
    const features = coalesce !== undefined || maxBatchBytes !== undefined || this.assembler.byteBatches > 0 || this.gate.tracking;
    const plain = maxBatchBytes === undefined && this.assembler.byteBatches === 0 && !this.gate.tracking;
    this.mergeOnly = plain && !this.closed && !this.intake.flushThrough ? coalesce : undefined;
    return (this.slow = this.closed || this.intake.flushThrough || features);
  }
}
