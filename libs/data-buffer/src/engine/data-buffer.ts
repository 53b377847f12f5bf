import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import diagnosticsChannel from 'node:diagnostics_channel';
import {
  BufferClosedError,
  BufferFullError,
  DataBufferError,
  FlushFailedError,
  FlushTimeoutError,
  InvalidBufferOptionsError,
  ShutdownTimeoutError,
  describe,
  messageOf,
} from '../errors';
import {
  FLUSH_ERROR_HANDLER_FAILED,
  FLUSH_ERROR_HANDLER_TIMED_OUT,
  INTERNAL_ERROR,
  ITEMS_LOST,
  NO_FLUSH_HANDLER,
} from '../data-buffer.messages';
import type {
  BufferKey,
  BufferOptions,
  BufferOptionsPatch,
  FlushReason,
  ResolvedBufferOptions,
} from './buffer-options.interface';
import { FIXED_OPTION_NAMES, resolveBufferOptions, validateBufferOptions } from './buffer-options';
import type { BufferLogger, BufferScheduler, TimerHandle } from './buffer-scheduler.interface';
import type { BufferStats } from './buffer-stats.interface';
import { heapify, heapPop, heapPush } from './deadline-heap';
import { DefaultBufferScheduler, processWarningLogger } from './default-scheduler';
import type { FlushContext, FlushErrorHandler, FlushHandler, FlushReport } from './flush-context.interface';
import { Batch, CommitRun, Lane, laneIndex, noop, OPEN, RoomWaiter, RUNNING, SEALED, SETTLED } from './lane';

/** The tracing channel every flush attempt is published on. */
export const FLUSH_CHANNEL_NAME = 'nestjs-data-buffer:flush';
/** The channel every dropped item is published on. */
export const DROP_CHANNEL_NAME = 'nestjs-data-buffer:drop';

const flushChannel = diagnosticsChannel.tracingChannel<unknown, FlushTraceContext>(FLUSH_CHANNEL_NAME);
const dropChannel = diagnosticsChannel.channel(DROP_CHANNEL_NAME);

/** The context published on the flush tracing channel (never item contents). */
export interface FlushTraceContext {
  buffer: string;
  key: BufferKey | undefined;
  partition: number;
  batchId: string;
  size: number;
  attempt: number;
  reason: FlushReason;
}

/** The message published on the drop channel for every dropped item (never its contents). */
export interface DropMessage {
  buffer: string;
  key: BufferKey | undefined;
  partition: number;
  overflow: 'drop-oldest' | 'drop-newest';
}

/** Handlers and collaborators of a buffer; the Nest module supplies them, standalone users may too. */
export interface DataBufferHooks<T> {
  /** Persists a batch. Required before `start()`. */
  onFlush?: FlushHandler<T>;
  /** Receives the items of a batch whose attempts all failed. */
  onFlushError?: FlushErrorHandler<T>;
  /** Time and timers; plain Node timers by default. */
  scheduler?: BufferScheduler;
  /** Where lost items and handler failures are reported. */
  logger?: BufferLogger;
}

const EMPTY: never[] = [];
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A keyed, partitioned in-memory buffer: items go into batches per lane (or per key), and
 * batches are handed to the flush handler when full, when old enough, on demand and at
 * shutdown, one batch at a time per lane, in insertion order, with retries.
 */
export class DataBuffer<T = unknown> {
  /** The buffer's name. */
  readonly name: string;
  /** The number of lanes. */
  readonly partitions: number;

  private opts: ResolvedBufferOptions;
  /** `opts.capacity`, read on every insert. */
  private capacity: number;
  private readonly lanes: Lane<T>[];
  private readonly byKey = new Map<BufferKey, Batch<T>>();
  private readonly scheduler: BufferScheduler;
  private readonly logger: BufferLogger;
  private readonly batchPrefix: string;
  // `any`, not T: handlers take T as a parameter, which would make DataBuffer<number> unassignable to DataBuffer<unknown>.
  private onFlush: FlushHandler<any> | undefined;
  private onFlushError: FlushErrorHandler<any> | undefined;
  private nextLane = 0;
  private trackOrder = false;
  private batchSeq = 0;
  private started = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** Step 1 of the two-step close began: no timers, every batch due at once (flush-through). */
  private flushThrough = false;
  private beginning: Promise<void> | null = null;
  /** When `beginClose` was called: the shutdown budget counts from here. */
  private closeStartedAt: number | null = null;
  private roomWaiters: RoomWaiter<T>[] = [];
  private roomWaitersHead = 0;
  private waiting = 0;

  private pending = 0;
  private inFlight = 0;
  private flushed = 0;
  private failed = 0;
  private dropped = 0;
  private drained = 0;
  private flushes = 0;
  private retried = 0;
  private lastFlushAt: number | null = null;
  private lastError: { message: string; at: number } | null = null;
  private lastFailed = false;

  constructor(options: BufferOptions, hooks: DataBufferHooks<T> = {}) {
    this.opts = resolveBufferOptions(options);
    this.capacity = this.opts.capacity;
    this.name = this.opts.name;
    this.partitions = this.opts.partitions;
    this.scheduler = hooks.scheduler ?? new DefaultBufferScheduler();
    this.logger = hooks.logger ?? processWarningLogger;
    this.onFlush = hooks.onFlush;
    this.onFlushError = hooks.onFlushError;
    this.batchPrefix = `${this.name}:${randomUUID()}:`;
    this.lanes = [];
    for (let i = 0; i < this.partitions; i++) {
      const lane = new Lane<T>(i, `data-buffer:${this.name}:${i}`);
      lane.onTimer = () => this.onLaneTimer(lane);
      lane.pumpTask = () => this.pump(lane);
      lane.onWatchdog = () => this.onWatchdog(lane);
      this.lanes.push(lane);
    }
    this.trackOrder = this.opts.overflow === 'drop-oldest';
  }

  /** The options in force (defaults applied). */
  get options(): Readonly<ResolvedBufferOptions> {
    return this.opts;
  }

  /** True when the most recent flush of this buffer ended in failure (`@OnFlushError`). */
  get lastFlushFailed(): boolean {
    return this.lastFailed;
  }

  /** True once shutdown has begun. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** How many lane timers are set now (at most `partitions`). */
  get timerCount(): number {
    let count = 0;
    for (const lane of this.lanes) if (lane.timerDue !== Infinity) count++;
    return count;
  }

  /** Sets the flush handler and the error handler (the Nest module does this at bootstrap). */
  setHandlers(onFlush: FlushHandler<T>, onFlushError?: FlushErrorHandler<T>): void {
    this.onFlush = onFlush;
    this.onFlushError = onFlushError;
  }

  /** Arms the time triggers and lets flushes run; batches already overdue flush now. */
  start(): void {
    if (this.started || this.closed) return;
    if (!this.onFlush) throw new DataBufferError(NO_FLUSH_HANDLER(this.name), this.name);
    this.started = true;
    for (const lane of this.lanes) {
      this.onLaneTimer(lane);
      if (lane.queueHead !== null && !lane.pumping) this.schedulePump(lane);
    }
  }

  /** Adds an item (to `key`'s batch when given). Synchronous and O(1). */
  insert(item: T, key?: BufferKey): void {
    if (this.closed) throw new BufferClosedError(this.name);
    if (key !== undefined && typeof key !== 'string' && typeof key !== 'number') throw this.badKey(key);
    if (this.pending + this.inFlight >= this.capacity && !this.makeRoom(key)) return;
    this.append(item, key);
  }

  /** Adds every item; under `overflow: 'reject'` either all fit or none is added. */
  insertMany(items: Iterable<T>, key?: BufferKey): void {
    if (this.closed) throw new BufferClosedError(this.name);
    const list = Array.isArray(items) ? (items as T[]) : Array.from(items);
    const held = this.pending + this.inFlight;
    if (this.opts.overflow === 'reject' && held + list.length > this.opts.capacity) {
      throw new BufferFullError(
        this.name,
        this.opts.capacity,
        `has no room for ${list.length} items (holds ${held})`,
      );
    }
    for (let i = 0; i < list.length; i++) this.insert(list[i], key);
  }

  /** Waits for room if needed, adds the item, and resolves once its batch was flushed successfully. */
  commit(item: T, key?: BufferKey): Promise<void> {
    if (this.closed) return Promise.reject(new BufferClosedError(this.name));
    if (key !== undefined && typeof key !== 'string' && typeof key !== 'number') return Promise.reject(this.badKey(key));
    if (this.waiting > 0 || this.pending + this.inFlight >= this.capacity) return this.waitForRoom(item, key);
    return this.commitNow(item, key, null);
  }

  /** Flushes what is pending (or `key`'s batch) and waits for it and for every batch already in flight. */
  async flush(key?: BufferKey): Promise<FlushReport> {
    const report: FlushReport = { batches: 0, items: 0, failed: 0 };
    if (this.closed) return report;
    const handed: Batch<T>[] = [];
    if (key === undefined) {
      for (const lane of this.lanes) {
        while (lane.openHead !== null) {
          handed.push(lane.openHead);
          this.seal(lane.openHead, 'manual');
        }
      }
    } else {
      const batch = this.byKey.get(key);
      if (batch !== undefined) {
        handed.push(batch);
        this.seal(batch, 'manual');
      }
    }
    await this.whenIdle();
    for (const batch of handed) {
      report.batches++;
      report.items += batch.size;
      if (batch.failed) report.failed += batch.size;
    }
    return report;
  }

  /** Items pending (not yet handed to a flush), or `key`'s pending items. */
  size(key?: BufferKey): number {
    if (key === undefined) return this.pending;
    const batch = this.byKey.get(key);
    return batch === undefined ? 0 : batch.items.length;
  }

  /** A snapshot of the counters. */
  stats(): BufferStats {
    return {
      name: this.name,
      partitions: this.partitions,
      capacity: this.opts.capacity,
      pending: this.pending,
      inFlight: this.inFlight,
      keys: this.byKey.size,
      // Every accepted item is in exactly one of these places, so the sum is the count of inserts.
      inserted: this.flushed + this.failed + this.dropped + this.drained + this.pending + this.inFlight,
      flushed: this.flushed,
      failed: this.failed,
      dropped: this.dropped,
      drained: this.drained,
      flushes: this.flushes,
      retries: this.retried,
      lastFlushAt: this.lastFlushAt,
      lastError: this.lastError === null ? null : { ...this.lastError },
    };
  }

  /** A copy of the pending items (all, or `key`'s), oldest first per batch. */
  dump(key?: BufferKey): T[] {
    const out: T[] = [];
    for (const batch of this.openBatches(key)) {
      for (let i = 0; i < batch.items.length; i++) out.push(batch.items[i]);
    }
    return out;
  }

  /** Removes and returns the pending items (all, or `key`'s) without calling any handler. */
  drain(key?: BufferKey): T[] {
    const out: T[] = [];
    for (const batch of this.openBatches(key)) {
      const n = batch.items.length;
      for (let i = 0; i < n; i++) out.push(batch.items[i]);
      this.discard(batch);
      this.pending -= n;
      this.drained += n;
      if (batch.runs !== null) {
        const error = new DataBufferError(
          `Item was drained from buffer "${this.name}" before it was flushed`,
          this.name,
        );
        for (const run of batch.runs) run.reject(error);
      }
    }
    if (this.waiting > 0) this.admitWaiters();
    return out;
  }

  /** Changes options at run time; all-or-nothing. Applies to batches opened afterwards (capacity and overflow at once). */
  updateOptions(patch: BufferOptionsPatch): void {
    if (patch === null || typeof patch !== 'object') {
      throw new InvalidBufferOptionsError(this.name, 'options', patch, 'an object of options to change');
    }
    const changes = patch as Record<string, unknown>;
    for (const option of Object.keys(changes)) {
      if (FIXED_OPTION_NAMES.has(option)) {
        throw new InvalidBufferOptionsError(
          this.name,
          option,
          changes[option],
          `no change: "${option}" is fixed when the buffer is created`,
        );
      }
    }
    validateBufferOptions(this.name, changes);
    const next: Record<string, unknown> = { ...this.opts };
    for (const option of Object.keys(changes)) {
      if (changes[option] !== undefined || option === 'meta') next[option] = changes[option];
    }
    this.opts = next as ResolvedBufferOptions;
    this.capacity = this.opts.capacity;
    this.setOrderTracking(this.opts.overflow === 'drop-oldest');
    if (this.waiting > 0) this.admitWaiters();
  }

  /**
   * Step 1 of a two-step shutdown: cancels timers, hands over every pending batch (reason
   * 'shutdown') and switches to flush-through: inserts are still accepted and every batch is
   * due at once. Resolves once nothing is pending or in flight, or when `timeout` ms (counted
   * from this call) ran out; what is unsettled then goes to `@OnFlushError` with a
   * `ShutdownTimeoutError`. `close()` is step 2. Idempotent.
   */
  beginClose(timeout = 15_000): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.beginning === null) {
      this.closeStartedAt = this.scheduler.now();
      this.beginning = this.flushThroughAll(timeout);
    }
    return this.beginning;
  }

  /**
   * Graceful shutdown: refuses new items, cancels timers, flushes every open batch (reason
   * 'shutdown') and waits for flushes in flight, retries included, up to `timeout` ms, counted
   * from `beginClose` when that was called. Batches still unflushed then go to `@OnFlushError`
   * with a `ShutdownTimeoutError`.
   */
  close(timeout = 15_000): Promise<void> {
    if (this.closing === null) {
      this.closed = true;
      this.closing = this.shutdown(timeout);
    }
    return this.closing;
  }

  // ---- insert path -------------------------------------------------------------------

  private append(item: T, key: BufferKey | undefined): Batch<T> {
    const batch = key === undefined ? this.nextUnkeyedBatch() : (this.byKey.get(key) ?? this.openBatch(this.laneOf(key), key));
    const items = batch.items;
    items.push(item);
    if (this.trackOrder) batch.lane.order.push(batch);
    this.pending++;
    if (items.length >= batch.limit) this.seal(batch, 'size');
    else if (this.flushThrough && this.started && !batch.lane.pumping) this.schedulePump(batch.lane);
    return batch;
  }

  /** The open batch of the lane whose turn it is (round-robin over the unkeyed items). */
  private nextUnkeyedBatch(): Batch<T> {
    const lane = this.lanes[this.nextLane];
    if (++this.nextLane === this.partitions) this.nextLane = 0;
    return lane.open ?? this.openBatch(lane, undefined);
  }

  private openBatch(lane: Lane<T>, key: BufferKey | undefined): Batch<T> {
    const opts = this.opts;
    const now = this.scheduler.now();
    const deadline = now + opts.interval + (opts.jitter > 0 ? randomInt(opts.jitter) : 0);
    const limit = opts.maxSizeJitter > 0 ? opts.maxSize + randomInt(opts.maxSizeJitter) : opts.maxSize;
    const batch = new Batch<T>(lane, key, deadline, limit, opts, this.batchSeq++);
    if (key === undefined) lane.open = batch;
    else this.byKey.set(key, batch);
    batch.prevOpen = lane.openTail;
    if (lane.openTail === null) lane.openHead = batch;
    else lane.openTail.nextOpen = batch;
    lane.openTail = batch;
    lane.openCount++;
    if (key !== undefined) {
      if (lane.heap.length > 2 * lane.openCount + 32) lane.heap = this.liveHeap(lane);
      heapPush(lane.heap, batch);
    }
    if (this.trackOrder && lane.order.length - lane.orderHead > 2 * this.pending + 1024) this.compactOrder(lane);
    if (this.started && !this.flushThrough && deadline < lane.timerDue) this.armLaneTimer(lane, deadline, now);
    return batch;
  }

  /** Takes `batch` out of the lane's open batches (it stays referenced by whoever holds it). */
  private unlinkOpen(batch: Batch<T>): void {
    const lane = batch.lane;
    if (batch.key === undefined) lane.open = null;
    else this.byKey.delete(batch.key);
    if (batch.prevOpen === null) lane.openHead = batch.nextOpen;
    else batch.prevOpen.nextOpen = batch.nextOpen;
    if (batch.nextOpen === null) lane.openTail = batch.prevOpen;
    else batch.nextOpen.prevOpen = batch.prevOpen;
    batch.prevOpen = batch.nextOpen = null;
    lane.openCount--;
  }

  /** Detaches a full (or due) batch and queues it on its lane: swap, don't copy. */
  private seal(batch: Batch<T>, reason: FlushReason): void {
    this.unlinkOpen(batch);
    batch.state = SEALED;
    batch.reason = reason;
    const n = batch.items.length;
    batch.size = n;
    this.pending -= n;
    this.inFlight += n;
    const lane = batch.lane;
    if (lane.queueTail === null) lane.queueHead = batch;
    else lane.queueTail.nextQueued = batch;
    lane.queueTail = batch;
    if (this.started && !lane.pumping) this.schedulePump(lane);
  }

  /** Removes an open batch that will never be flushed (emptied or drained). */
  private discard(batch: Batch<T>): void {
    this.unlinkOpen(batch);
    batch.state = SETTLED;
    batch.finished = true;
  }

  /** At capacity: applies the overflow policy. Returns true when the new item may go in. */
  private makeRoom(key: BufferKey | undefined): boolean {
    const overflow = this.opts.overflow;
    if (overflow === 'reject') throw new BufferFullError(this.name, this.opts.capacity);
    const existing = key === undefined ? undefined : this.byKey.get(key);
    const lane = existing !== undefined ? existing.lane : key === undefined ? this.lanes[this.nextLane] : this.laneOf(key);
    if (overflow === 'drop-oldest' && lane.openHead !== null) {
      this.evictOldest(lane);
      return true;
    }
    this.dropped++;
    this.publishDrop(key, lane.index, overflow);
    return false;
  }

  /**
   * drop-oldest: evicts the oldest pending item of `lane`. When that item belongs to a run of
   * commits sharing one promise (made while another overflow policy was in force), the whole
   * run goes, so that no promise resolves for an item that was dropped.
   */
  private evictOldest(lane: Lane<T>): void {
    const batch = this.oldestOpenBatch(lane);
    let count = 1;
    let run: CommitRun | undefined;
    if (batch.runs !== null && batch.runs.length > 0 && batch.runs[0].start === batch.base) {
      run = batch.runs.shift() as CommitRun;
      count = run.end - run.start + 1;
      if (batch.lastShared === run) batch.lastShared = null;
    }
    if (count === 1) batch.items.shift();
    else batch.items.splice(0, count);
    batch.skip += count - 1;
    batch.base += count;
    this.pending -= count;
    this.dropped += count;
    for (let i = 0; i < count; i++) this.publishDrop(batch.key, lane.index, 'drop-oldest');
    if (run !== undefined) {
      run.reject(new BufferFullError(this.name, this.opts.capacity, 'evicted a committed item (overflow "drop-oldest")'));
    }
    if (batch.items.length === 0) this.discard(batch);
  }

  /** The open batch holding the lane's oldest pending item. */
  private oldestOpenBatch(lane: Lane<T>): Batch<T> {
    const order = lane.order;
    let head = lane.orderHead;
    while (head < order.length) {
      const batch = order[head++];
      if (batch.state !== OPEN) continue;
      if (batch.skip > 0) {
        batch.skip--;
        continue;
      }
      lane.orderHead = head;
      if (head > 1024 && head * 2 > order.length) this.compactOrder(lane);
      return batch;
    }
    lane.orderHead = head;
    return lane.openHead as Batch<T>;
  }

  /** Drops the entries of `lane.order` that no longer stand for a pending item. */
  private compactOrder(lane: Lane<T>): void {
    const live: Batch<T>[] = [];
    const order = lane.order;
    for (let i = lane.orderHead; i < order.length; i++) {
      const batch = order[i];
      if (batch.state !== OPEN) continue;
      if (batch.skip > 0) {
        batch.skip--;
        continue;
      }
      live.push(batch);
    }
    lane.order = live;
    lane.orderHead = 0;
  }

  /**
   * Starts or stops keeping `lane.order`. Started by `updateOptions`, it is rebuilt from the
   * open batches in the order they opened: exact per batch, approximate across the keyed
   * batches of a lane for items inserted before the switch.
   */
  private setOrderTracking(on: boolean): void {
    if (on === this.trackOrder) return;
    this.trackOrder = on;
    for (const lane of this.lanes) {
      lane.order = [];
      lane.orderHead = 0;
      if (!on) continue;
      for (let batch = lane.openHead; batch !== null; batch = batch.nextOpen) {
        batch.skip = 0;
        for (let i = 0; i < batch.items.length; i++) lane.order.push(batch);
      }
    }
  }

  private publishDrop(key: BufferKey | undefined, partition: number, overflow: 'drop-oldest' | 'drop-newest'): void {
    if (dropChannel.hasSubscribers) {
      const message: DropMessage = { buffer: this.name, key, partition, overflow };
      dropChannel.publish(message);
    }
  }

  private laneOf(key: BufferKey): Lane<T> {
    return this.lanes[this.partitions === 1 ? 0 : laneIndex(key, this.partitions)];
  }

  private badKey(key: unknown): TypeError {
    return new TypeError(`Buffer "${this.name}": a key must be a string or a number, got ${key === null ? 'null' : typeof key}`);
  }

  // ---- commit ------------------------------------------------------------------------

  private commitNow(item: T, key: BufferKey | undefined, waiter: RoomWaiter<T> | null): Promise<void> {
    const batch = this.append(item, key);
    const position = batch.base + batch.items.length - 1;
    if (waiter === null) {
      const last = batch.lastShared;
      if (last !== null && last.end === position - 1) {
        last.end = position;
        return last.promise as Promise<void>;
      }
      const runs = batch.runs ?? (batch.runs = []);
      // Under drop-oldest each commit gets its own promise, so an eviction rejects only its own.
      const shared = this.opts.overflow !== 'drop-oldest';
      const run: CommitRun = { start: position, end: position, shared, promise: null, resolve: noop, reject: noop };
      run.promise = new Promise<void>((resolve, reject) => {
        run.resolve = resolve;
        run.reject = reject;
      });
      runs.push(run);
      batch.lastShared = shared ? run : null;
      return run.promise;
    }
    batch.lastShared = null;
    (batch.runs ?? (batch.runs = [])).push({ start: position, end: position, shared: false, promise: null, resolve: waiter.resolve, reject: waiter.reject });
    return Promise.resolve();
  }

  private waitForRoom(item: T, key: BufferKey | undefined): Promise<void> {
    const timeout = this.opts.waitTimeout;
    if (timeout === 0) {
      return Promise.reject(new BufferFullError(this.name, this.opts.capacity, 'has no room (waitTimeout 0)'));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: RoomWaiter<T> = { item, key, resolve, reject, timer: undefined, done: false };
      waiter.timer = this.scheduler.setTimeout(timeout, () => {
        if (waiter.done) return;
        waiter.done = true;
        this.waiting--;
        reject(new BufferFullError(this.name, this.opts.capacity, `had no room within waitTimeout (${timeout} ms)`));
      });
      this.roomWaiters.push(waiter);
      this.waiting++;
    });
  }

  /** Lets waiting commits in, oldest first, while there is room. */
  private admitWaiters(): void {
    const queue = this.roomWaiters;
    while (this.roomWaitersHead < queue.length && this.pending + this.inFlight < this.capacity) {
      const waiter = queue[this.roomWaitersHead++];
      if (waiter.done) continue;
      waiter.done = true;
      this.waiting--;
      this.scheduler.clearTimeout(waiter.timer);
      this.commitNow(waiter.item, waiter.key, waiter);
    }
    if (this.roomWaitersHead === queue.length) {
      this.roomWaiters = [];
      this.roomWaitersHead = 0;
    } else if (this.roomWaitersHead > 1024 && this.roomWaitersHead * 2 > queue.length) {
      this.roomWaiters = queue.slice(this.roomWaitersHead);
      this.roomWaitersHead = 0;
    }
  }

  // ---- time trigger ------------------------------------------------------------------

  private onLaneTimer(lane: Lane<T>): void {
    try {
      lane.timerDue = Infinity;
      if (this.closed || this.flushThrough) return;
      const now = this.scheduler.now();
      if (lane.open !== null && lane.open.deadline <= now) this.seal(lane.open, 'interval');
      const heap = lane.heap;
      while (heap.length > 0) {
        const top = heap[0];
        if (top.state !== OPEN) heapPop(heap);
        else if (top.deadline <= now) {
          heapPop(heap);
          this.seal(top, 'interval');
        } else break;
      }
      const due = Math.min(lane.open === null ? Infinity : lane.open.deadline, heap.length > 0 ? heap[0].deadline : Infinity);
      if (due !== Infinity) this.armLaneTimer(lane, due, now);
    } catch (error) {
      this.logger.error(INTERNAL_ERROR(this.name, describe(error)));
    }
  }

  private armLaneTimer(lane: Lane<T>, due: number, now: number): void {
    lane.timerDue = due;
    this.scheduler.setLaneTimer(lane.timerName, Math.max(0, due - now), lane.onTimer);
  }

  private liveHeap(lane: Lane<T>): Batch<T>[] {
    const live: Batch<T>[] = [];
    for (let batch = lane.openHead; batch !== null; batch = batch.nextOpen) if (batch.key !== undefined) live.push(batch);
    return heapify(live);
  }

  // ---- flush runner ------------------------------------------------------------------

  private schedulePump(lane: Lane<T>): void {
    lane.pumping = true;
    void RESOLVED.then(lane.pumpTask);
  }

  /**
   * Starts the lane's next batch, and the next again when one finishes synchronously. A batch
   * that finishes later calls back into `batchDone`, which pumps again: one batch at a time.
   */
  private pump(lane: Lane<T>): void {
    lane.inPump = true;
    try {
      while (lane.running === null) {
        const batch = lane.queueHead;
        if (batch === null) {
          // Flush-through: the lane has nothing else to run, so its open batches go now.
          if (!this.flushThrough || lane.openHead === null) break;
          while (lane.openHead !== null) this.seal(lane.openHead, 'shutdown');
          continue;
        }
        lane.queueHead = batch.nextQueued;
        if (lane.queueHead === null) lane.queueTail = null;
        batch.nextQueued = null;
        if (batch.state !== SEALED) continue;
        batch.state = RUNNING;
        lane.running = batch;
        this.startAttempt(batch, 1);
      }
    } catch (error) {
      this.logger.error(INTERNAL_ERROR(this.name, describe(error)));
    } finally {
      lane.inPump = false;
    }
    if (lane.running === null) lane.pumping = false;
  }

  private batchDone(batch: Batch<T>): void {
    const lane = batch.lane;
    if (lane.running === batch) lane.running = null;
    if (!lane.inPump) this.pump(lane);
  }

  /** A context for `attempt` (0: the error handler of a batch never attempted); its controller becomes `batch.controller`. */
  private context(batch: Batch<T>, attempt: number): FlushContext {
    const lane = batch.lane;
    let controller = lane.controller;
    if (controller === null || controller.signal.aborted || getEventListeners(controller.signal, 'abort').length > 0) {
      controller = lane.controller = new AbortController();
    }
    batch.controller = controller;
    if (batch.id === '') batch.id = this.batchPrefix + batch.seq;
    return {
      buffer: this.name,
      key: batch.key,
      partition: lane.index,
      batchId: batch.id,
      attempt,
      reason: batch.reason,
      signal: controller.signal,
      meta: batch.options.meta,
    };
  }

  /** Runs attempt `attempt` of `batch`; its outcome goes to `attemptDone`, through the tracing channel when it has subscribers. */
  private startAttempt(batch: Batch<T>, attempt: number): void {
    batch.attempts = attempt;
    const ctx = this.context(batch, attempt);
    batch.ctx = ctx;
    if (!flushChannel.hasSubscribers) {
      this.invoke(batch, ctx, null);
      return;
    }
    const trace: FlushTraceContext = {
      buffer: this.name,
      key: batch.key,
      partition: ctx.partition,
      batchId: ctx.batchId,
      size: batch.items.length,
      attempt,
      reason: ctx.reason,
    };
    flushChannel
      .tracePromise(() => new Promise<void>((resolve, reject) => this.invoke(batch, ctx, (error, failed) => (failed ? reject(error) : resolve()))), trace)
      .then(
        () => this.attemptDone(batch, undefined, false),
        (error: unknown) => this.attemptDone(batch, error, true),
      );
  }

  /**
   * One handler call, failed by a throw, a rejection or `flushTimeout`. The outcome goes to
   * `report`, or straight to `attemptDone`; an outcome that comes after the attempt was
   * decided (a late settle after a timeout, or after shutdown gave up) is ignored.
   */
  private invoke(batch: Batch<T>, ctx: FlushContext, report: ((error: unknown, failed: boolean) => void) | null): void {
    const lane = batch.lane;
    const token = ++lane.attemptToken;
    const decide = (error: unknown, failed: boolean): void => {
      if (lane.attemptToken !== token) return;
      lane.attemptToken++;
      lane.onDeadline = null;
      if (report !== null) report(error, failed);
      else this.attemptDone(batch, error, failed);
    };
    let result: unknown;
    try {
      result = (this.onFlush as FlushHandler<T>)(batch.items, ctx);
    } catch (error) {
      decide(error, true);
      return;
    }
    if (result === null || typeof result !== 'object' || typeof (result as PromiseLike<unknown>).then !== 'function') {
      decide(undefined, false);
      return;
    }
    const timeout = batch.options.flushTimeout;
    lane.onDeadline = () => {
      const error = new FlushTimeoutError(this.name, timeout);
      batch.controller?.abort(error);
      decide(error, true);
    };
    this.armWatchdog(lane, timeout);
    (result as PromiseLike<unknown>).then(
      () => decide(undefined, false),
      (error: unknown) => decide(error, true),
    );
  }

  /**
   * Sets the running attempt's `flushTimeout` deadline on the lane's watchdog timer. Making and
   * cancelling a timer for every batch costs more than the rest of a flush, so the watchdog
   * outlives attempts: armed no later than the deadline, it re-arms itself for the rest of the
   * time when it fires early, and fires into nothing (and stays off) when the lane is idle.
   */
  private armWatchdog(lane: Lane<T>, timeout: number): void {
    const now = this.scheduler.now();
    lane.deadlineAt = now + timeout;
    if (lane.watchdog !== null) {
      if (lane.watchdogAt <= lane.deadlineAt) return;
      this.scheduler.clearTimeout(lane.watchdog);
    }
    lane.watchdogAt = lane.deadlineAt;
    lane.watchdog = this.scheduler.setTimeout(timeout, lane.onWatchdog);
  }

  private onWatchdog(lane: Lane<T>): void {
    lane.watchdog = null;
    if (lane.onDeadline === null) return;
    const now = this.scheduler.now();
    if (lane.deadlineAt > now) {
      lane.watchdogAt = lane.deadlineAt;
      lane.watchdog = this.scheduler.setTimeout(lane.deadlineAt - now, lane.onWatchdog);
      return;
    }
    const onDeadline = lane.onDeadline;
    lane.onDeadline = null;
    onDeadline();
  }

  private stopWatchdog(lane: Lane<T>): void {
    lane.onDeadline = null;
    if (lane.watchdog === null) return;
    this.scheduler.clearTimeout(lane.watchdog);
    lane.watchdog = null;
  }

  /** Settles the batch, or schedules its retry, or hands it to the error handler after the last attempt. */
  private attemptDone(batch: Batch<T>, error: unknown, failed: boolean): void {
    try {
      if (batch.state !== RUNNING) return; // shutdown gave up on it meanwhile
      if (!failed) {
        this.settleSuccess(batch);
        this.batchDone(batch);
        return;
      }
      const opts = batch.options;
      const attempt = batch.attempts;
      if (attempt <= opts.retries) {
        this.retried++;
        const lane = batch.lane;
        const retry = () => {
          lane.sleep = null;
          if (batch.state === RUNNING) this.startAttempt(batch, attempt + 1);
        };
        const wait = retryWait(opts, attempt);
        if (wait <= 0) void RESOLVED.then(retry);
        else lane.sleep = this.scheduler.setTimeout(wait, retry);
        return;
      }
      const ctx = batch.ctx;
      this.settleFailure(batch, error, ctx).then(
        () => this.batchDone(batch),
        (internal: unknown) => this.logger.error(INTERNAL_ERROR(this.name, describe(internal))),
      );
    } catch (internal) {
      this.logger.error(INTERNAL_ERROR(this.name, describe(internal)));
    }
  }

  private settleSuccess(batch: Batch<T>): void {
    batch.state = SETTLED;
    const n = batch.size;
    this.inFlight -= n;
    this.flushed += n;
    this.flushes++;
    this.lastFlushAt = this.scheduler.now();
    this.lastFailed = false;
    if (batch.runs !== null) for (const run of batch.runs) run.resolve();
    this.finish(batch);
    if (this.waiting > 0) this.admitWaiters();
  }

  /** Counts the batch as failed, rejects its commits, and hands its items to `@OnFlushError`. */
  private async settleFailure(batch: Batch<T>, error: unknown, lastCtx: FlushContext | null): Promise<void> {
    batch.state = SETTLED;
    batch.failed = true;
    const n = batch.size;
    this.inFlight -= n;
    this.failed += n;
    this.lastError = { message: messageOf(error), at: this.scheduler.now() };
    this.lastFailed = true;
    if (batch.runs !== null) {
      const failure = new FlushFailedError(this.name, error, batch.attempts);
      for (const run of batch.runs) run.reject(failure);
    }
    if (this.waiting > 0) this.admitWaiters();
    try {
      await this.reportFailure(batch, error, lastCtx);
    } finally {
      this.finish(batch);
    }
  }

  private async reportFailure(batch: Batch<T>, error: unknown, lastCtx: FlushContext | null): Promise<void> {
    const onError = this.onFlushError;
    if (onError === undefined) {
      this.logger.error(ITEMS_LOST(this.name, batch.size, batch.attempts, describe(error)));
      return;
    }
    // A fresh signal: the last attempt's may be aborted already.
    const ctx = this.context(batch, lastCtx?.attempt ?? batch.attempts);
    const controller = batch.controller as AbortController;
    const timeout = batch.options.flushTimeout;
    let timer: TimerHandle;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = this.scheduler.setTimeout(timeout, () => resolve('timeout'));
    });
    try {
      const outcome = await Promise.race([Promise.resolve().then(() => onError(error, batch.items, ctx)), timedOut]);
      if (outcome === 'timeout') {
        controller.abort(new FlushTimeoutError(this.name, timeout));
        this.logger.error(FLUSH_ERROR_HANDLER_TIMED_OUT(this.name, batch.size, timeout));
      }
    } catch (handlerError) {
      this.logger.error(FLUSH_ERROR_HANDLER_FAILED(this.name, batch.size, describe(handlerError)));
    } finally {
      this.scheduler.clearTimeout(timer);
    }
  }

  private finish(batch: Batch<T>): void {
    batch.finished = true;
    // Settled: let go of the items (the handler may still hold them), promises and signal.
    batch.items = EMPTY;
    batch.runs = null;
    batch.lastShared = null;
    batch.controller = null;
    batch.ctx = null;
    const waiters = batch.waiters;
    if (waiters !== null) {
      batch.waiters = null;
      for (const wake of waiters) wake();
    }
  }

  /** Resolves once `batch` is settled and its error handler (if any) has returned. */
  private settled(batch: Batch<T>): Promise<void> {
    if (batch.finished) return Promise.resolve();
    return new Promise<void>((resolve) => (batch.waiters ??= []).push(resolve));
  }

  /** Resolves once every batch handed over so far has settled (lanes run in order, so their tails suffice). */
  private whenIdle(): Promise<unknown> {
    const waits: Promise<void>[] = [];
    for (const lane of this.lanes) {
      const tail = lane.queueTail ?? lane.running;
      if (tail !== null) waits.push(this.settled(tail));
    }
    return Promise.all(waits);
  }

  private *openBatches(key: BufferKey | undefined): Iterable<Batch<T>> {
    if (key !== undefined) {
      const batch = this.byKey.get(key);
      if (batch !== undefined) yield batch;
      return;
    }
    for (const lane of this.lanes) {
      for (let batch = lane.openHead; batch !== null; ) {
        const next: Batch<T> | null = batch.nextOpen;
        yield batch;
        batch = next;
      }
    }
  }

  // ---- shutdown ----------------------------------------------------------------------

  private cancelLaneTimers(): void {
    for (const lane of this.lanes) {
      if (lane.timerDue !== Infinity) lane.timerDue = Infinity;
      this.scheduler.clearLaneTimer(lane.timerName);
      lane.heap = [];
    }
  }

  /** Step 1: everything pending goes now, and whatever comes later goes as it comes. */
  private async flushThroughAll(timeout: number): Promise<void> {
    this.flushThrough = true;
    this.cancelLaneTimers();
    for (const lane of this.lanes) {
      while (lane.openHead !== null) this.seal(lane.openHead, 'shutdown');
    }
    if (!this.started) {
      if (this.onFlush === undefined) return; // step 2 reports what it cannot flush
      this.started = true;
      for (const lane of this.lanes) if (lane.queueHead !== null && !lane.pumping) this.schedulePump(lane);
    }
    let timer: TimerHandle;
    const outOfTime = new Promise<boolean>((resolve) => {
      timer = this.scheduler.setTimeout(timeout, () => resolve(true));
    });
    const timedOut = await Promise.race([this.whenDrained().then(() => false), outOfTime]);
    this.scheduler.clearTimeout(timer);
    if (timedOut && !this.closed) await this.abandon(new ShutdownTimeoutError(this.name, timeout));
  }

  /** Resolves once nothing is pending or in flight, items inserted meanwhile included. */
  private async whenDrained(): Promise<void> {
    while (this.pending + this.inFlight > 0 && !this.closed) {
      await this.whenIdle();
      await RESOLVED; // lets a pump scheduled by an insert seal its batch
    }
  }

  private async shutdown(timeout: number): Promise<void> {
    this.cancelLaneTimers();
    const closedError = new BufferClosedError(this.name);
    for (let i = this.roomWaitersHead; i < this.roomWaiters.length; i++) {
      const waiter = this.roomWaiters[i];
      if (waiter.done) continue;
      waiter.done = true;
      this.scheduler.clearTimeout(waiter.timer);
      waiter.reject(closedError);
    }
    this.roomWaiters = [];
    this.roomWaitersHead = 0;
    this.waiting = 0;
    for (const lane of this.lanes) {
      while (lane.openHead !== null) this.seal(lane.openHead, 'shutdown');
    }
    if (!this.started) {
      if (this.onFlush === undefined) {
        this.logger.error(NO_FLUSH_HANDLER(this.name));
        await this.abandon(new DataBufferError(NO_FLUSH_HANDLER(this.name), this.name));
        return;
      }
      this.started = true;
      for (const lane of this.lanes) if (lane.queueHead !== null && !lane.pumping) this.schedulePump(lane);
    }
    const left = this.closeStartedAt === null ? timeout : Math.max(0, this.closeStartedAt + timeout - this.scheduler.now());
    let timer: TimerHandle;
    const outOfTime = new Promise<boolean>((resolve) => {
      timer = this.scheduler.setTimeout(left, () => resolve(true));
    });
    const timedOut = await Promise.race([this.whenIdle().then(() => false), outOfTime]);
    this.scheduler.clearTimeout(timer);
    if (timedOut) await this.abandon(new ShutdownTimeoutError(this.name, timeout));
    for (const lane of this.lanes) this.stopWatchdog(lane);
  }

  /** Fails every batch that is still queued or running, lane by lane in order. */
  private async abandon(error: unknown): Promise<void> {
    await Promise.all(
      this.lanes.map(async (lane) => {
        const leftovers: Batch<T>[] = [];
        if (lane.running !== null && lane.running.state !== SETTLED) leftovers.push(lane.running);
        for (let batch = lane.queueHead; batch !== null; batch = batch.nextQueued) leftovers.push(batch);
        lane.queueHead = lane.queueTail = null;
        lane.running = null;
        lane.attemptToken++;
        this.stopWatchdog(lane);
        if (lane.sleep !== null) this.scheduler.clearTimeout(lane.sleep);
        lane.sleep = null;
        for (const batch of leftovers) {
          batch.controller?.abort(error);
          await this.settleFailure(batch, error, null);
        }
      }),
    );
  }
}

function randomInt(max: number): number {
  return Math.floor(Math.random() * (max + 1));
}

function retryWait(opts: ResolvedBufferOptions, retry: number): number {
  if (opts.retryBackoff === 'fixed') return opts.retryDelay;
  return Math.min(opts.maxRetryDelay, opts.retryDelay * 2 ** (retry - 1));
}
