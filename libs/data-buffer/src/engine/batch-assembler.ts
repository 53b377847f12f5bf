import type { BufferKey, FlushReason, ResolvedBufferOptions } from './buffer-options.interface';
import type { BufferScheduler } from './buffer-scheduler.interface';
import { Batch, DONE, DUE, HOLE, OPEN, SEALED } from './batch';
import type { BufferCounters } from './buffer-counters';
import type { DeadlineTrigger } from './deadline-trigger';
import type { FlushRunner } from './flush-runner';
import { Lane, laneIndex } from './lane';
import { pendingBatches, slotsOf } from './pending-view';
import { ValueSlots } from './value-slots';

/**
 * Open batches per lane and per key: it opens them, appends to them, seals them (swap, don't
 * copy: a sealed batch is queued on its lane as it is), discards and drains them, and hands
 * the runner its lane's next batch. Sealed batches waiting for their lane are still pending.
 */
export class BatchAssembler<T> {
  readonly lanes: Lane<T>[] = [];
  /** Open batches of keyed items. */
  readonly byKey = new Map<BufferKey, Batch<T>>();
  /** Coalescing: where each coalesce key's value sits. */
  readonly values: ValueSlots<T>;
  /** The options new batches are opened with. */
  opts: ResolvedBufferOptions;
  /** Open batches with a byte limit (their inserts are measured). */
  byteBatches = 0;
  /** Called when the last open batch with a byte limit was sealed. */
  onNoByteBatches: () => void = () => undefined;
  /** Set once `append` or `coalesce` placed an item: the position of its slot. */
  position = 0;
  private nextLane = 0;
  private seq = 0;

  constructor(
    readonly partitions: number,
    name: string,
    opts: ResolvedBufferOptions,
    private readonly counters: BufferCounters,
    private readonly scheduler: BufferScheduler,
    private readonly trigger: DeadlineTrigger<T>,
    private readonly runner: FlushRunner<T>,
  ) {
    this.opts = opts;
    for (let i = 0; i < partitions; i++) this.lanes.push(new Lane<T>(i, `data-buffer:${name}:${i}`));
    this.values = new ValueSlots<T>(this.lanes);
  }

  /** The lane whose turn it is for an unkeyed item (round-robin over the items). */
  nextUnkeyedLane(): Lane<T> {
    return this.lanes[this.nextLane];
  }

  /** The open batch of the lane whose turn it is; moves the turn on. */
  nextUnkeyed(): Batch<T> {
    const lane = this.lanes[this.nextLane];
    if (++this.nextLane === this.partitions) this.nextLane = 0;
    return lane.open ?? this.open(lane, undefined);
  }

  /** `key`'s open batch. */
  keyed(key: BufferKey): Batch<T> {
    return this.byKey.get(key) ?? this.open(this.laneOf(key), key);
  }

  laneOf(key: BufferKey): Lane<T> {
    return this.lanes[this.partitions === 1 ? 0 : laneIndex(key, this.partitions)];
  }

  /**
   * Adds an item of `size` bytes (maxBatchBytes) to its batch: the batch is sealed first when
   * the item would take it past its byte limit, and an item larger than the limit gets a batch
   * of its own, sealed at once, in its place in the lane's order.
   */
  append(item: T, key: BufferKey | undefined, size: number): Batch<T> {
    let batch = key === undefined ? this.nextUnkeyed() : this.keyed(key);
    const maxBytes = batch.maxBytes;
    if (maxBytes !== undefined && batch.live > 0 && batch.bytes + size > maxBytes) {
      this.seal(batch, 'size');
      batch = this.open(batch.lane, key);
    }
    this.place(batch, item, size);
    return batch;
  }

  /**
   * Coalescing: merges `item` into the pending value of its coalesce key in the lane's open
   * batch and returns the batch, or returns null when that key has no value there. `measure` sizes the
   * merged value when the batch has a byte limit; it may throw, and then nothing changed.
   */
  merge(item: T, ckey: BufferKey, merge: (pending: T, next: T) => T, measure: (value: T) => number): Batch<T> | null {
    const batch = this.values.find(ckey);
    if (batch === null) return null;
    const slot = this.values.slot;
    const value = merge(batch.items[slot], item);
    const sizes = batch.sizes;
    if (sizes !== null) {
      const size = measure(value);
      batch.bytes += size - sizes[slot];
      sizes[slot] = size;
    }
    batch.items[slot] = value;
    this.counters.merged++;
    this.position = batch.positionAt(slot);
    if (batch.maxBytes !== undefined && batch.bytes >= batch.maxBytes) this.seal(batch, 'size');
    return batch;
  }

  /**
   * Coalescing without byte limits: replaces the pending value of `ckey` with `merge(pending, item)`
   * and returns true, or returns false when `ckey` has no value in its lane's open batch. When
   * `merge` throws, nothing changed.
   */
  mergePlain(item: T, ckey: BufferKey, merge: (pending: T, next: T) => T): boolean {
    const batch = this.values.find(ckey);
    if (batch === null) return false;
    const items = batch.items;
    const slot = this.values.slot;
    items[slot] = merge(items[slot], item);
    this.counters.merged++;
    return true;
  }

  /** Coalescing: adds the first value of `ckey` to the lane's open batch. */
  appendValue(item: T, ckey: BufferKey, size: number): Batch<T> {
    const lane = this.laneOf(ckey);
    let batch = lane.open ?? this.open(lane, undefined);
    if (batch.maxBytes !== undefined && batch.live > 0 && batch.bytes + size > batch.maxBytes) {
      this.seal(batch, 'size');
      batch = this.open(lane, undefined);
    }
    this.values.add(ckey, batch);
    (batch.ckeys as BufferKey[]).push(ckey);
    this.place(batch, item, size);
    return batch;
  }

  private place(batch: Batch<T>, item: T, size: number): void {
    const items = batch.items;
    this.position = batch.base + items.length;
    items.push(item);
    this.counters.pending++;
    const maxBytes = batch.maxBytes;
    if (maxBytes !== undefined) {
      (batch.sizes as number[]).push(size);
      batch.bytes += size;
      if (batch.bytes >= maxBytes) {
        this.seal(batch, 'size');
        return;
      }
    }
    if (batch.live >= batch.limit) this.seal(batch, 'size');
  }

  open(lane: Lane<T>, key: BufferKey | undefined): Batch<T> {
    const opts = this.opts;
    const now = this.scheduler.now();
    const deadline = now + opts.interval + (opts.jitter > 0 ? randomInt(opts.jitter) : 0);
    const limit = opts.maxSizeJitter > 0 ? opts.maxSize + randomInt(opts.maxSizeJitter) : opts.maxSize;
    const batch = new Batch<T>(lane, key, deadline, limit, opts.maxBatchBytes, opts, this.seq++);
    if (key === undefined) lane.open = batch;
    else this.byKey.set(key, batch);
    batch.prevOpen = lane.openTail;
    if (lane.openTail === null) lane.openHead = batch;
    else lane.openTail.nextOpen = batch;
    lane.openTail = batch;
    lane.openCount++;
    if (opts.maxBatchBytes !== undefined) {
      batch.sizes = [];
      this.byteBatches++;
    }
    if (opts.coalesce !== undefined) batch.ckeys = [];
    this.trigger.opened(batch, now);
    return batch;
  }

  /** Detaches an open (or due) batch and queues it on its lane: swap, don't copy. */
  seal(batch: Batch<T>, reason: FlushReason): void {
    this.unlinkOpen(batch);
    batch.state = SEALED;
    batch.reason = reason;
    const n = batch.live;
    this.counters.queued += n;
    const lane = batch.lane;
    if (lane.queueTail === null) lane.queueHead = batch;
    else lane.queueTail.nextQueued = batch;
    lane.queueTail = batch;
    this.runner.wake(lane);
  }

  /** Seals every open batch (due ones too) with `reason`; returns them with their sizes. */
  sealAll(reason: FlushReason, sealed?: Batch<T>[]): void {
    for (const lane of this.lanes) {
      while (lane.openHead !== null) {
        sealed?.push(lane.openHead);
        this.seal(lane.openHead, reason);
      }
    }
  }

  /** Seals the open batches of `key` (or all of them) with `reason`; returns them. */
  sealOpen(key: BufferKey | undefined, coalesced: boolean, reason: FlushReason): Batch<T>[] {
    const sealed: Batch<T>[] = [];
    if (key === undefined) this.sealAll(reason, sealed);
    else {
      for (const batch of this.pendingBatches(key, coalesced)) {
        if (!batch.isOpen) continue;
        sealed.push(batch);
        this.seal(batch, reason);
      }
    }
    return sealed;
  }

  /** Marks an open batch due: the runner takes it, with `reason`, once its lane has nothing else to run. */
  markDue(batch: Batch<T>, reason: FlushReason): void {
    if (batch.state !== OPEN) return;
    batch.state = DUE;
    batch.dueReason = reason;
    batch.lane.due.push(batch);
    this.runner.wake(batch.lane);
  }

  /** Whether any item is in a sealed batch or in flight (a batch whose items all settled, in its error handler, makes no room). */
  get anyHandedOver(): boolean {
    return this.counters.queued > 0 || this.counters.inFlight > 0;
  }

  /**
   * The lane's next batch for the runner: the oldest sealed one, else the first due one;
   * its items leave `pending` for `inFlight`. Null when there is nothing to run.
   */
  take(lane: Lane<T>): Batch<T> | null {
    let batch = lane.queueHead;
    if (batch !== null) {
      lane.queueHead = batch.nextQueued;
      if (lane.queueHead === null) lane.queueTail = null;
      batch.nextQueued = null;
      this.counters.queued -= batch.live;
    } else {
      const due = lane.due;
      batch = null;
      while (lane.dueHead < due.length) {
        const next = due[lane.dueHead++];
        if (next.state === DUE) {
          batch = next;
          break;
        }
      }
      if (lane.dueHead === due.length) {
        lane.due = [];
        lane.dueHead = 0;
      }
      if (batch === null) return null;
      this.unlinkOpen(batch);
      batch.reason = batch.dueReason;
    }
    this.squeeze(batch);
    const n = batch.live;
    this.counters.pending -= n;
    this.counters.inFlight += n;
    return batch;
  }

  /** Coalescing: the slot of `ckey`'s value in `batch` while it is open, else undefined. */
  openSlot(batch: Batch<T>, ckey: BufferKey): number | undefined {
    return this.values.find(ckey) === batch ? this.values.slot : undefined;
  }

  /** Pending batches (open, due and sealed-waiting) of `key` or of all, lane by lane in the order they opened. */
  pendingBatches(key: BufferKey | undefined, coalesced: boolean): Batch<T>[] {
    return pendingBatches(this, key, coalesced);
  }

  /**
   * Takes pending items out without a handler: whole batches, or a coalesce key's values.
   * `settle(batch, positions)` is told which commits lost their items (null: all of the batch).
   */
  drain(key: BufferKey | undefined, coalesced: boolean, settle: (batch: Batch<T>, positions: number[] | null) => void): T[] {
    const out: T[] = [];
    for (const batch of this.pendingBatches(key, coalesced)) {
      const wasQueued = batch.state === SEALED;
      if (coalesced && key !== undefined) {
        const slots = slotsOf(this, batch, key);
        const positions: number[] = [];
        for (const slot of slots) {
          out.push(batch.items[slot]);
          positions.push(batch.positionAt(slot));
          this.clearSlot(batch, slot);
          batch.items[slot] = HOLE as T;
          batch.holes++;
        }
        this.counters.drainedOut(slots.length, wasQueued ? slots.length : 0);
        settle(batch, positions);
        if (batch.live === 0) this.discard(batch);
        continue;
      }
      const items = batch.items;
      for (let i = batch.head; i < items.length; i++) if (items[i] !== HOLE) out.push(items[i]);
      const n = batch.live;
      this.counters.drainedOut(n, wasQueued ? n : 0);
      settle(batch, null);
      this.discard(batch);
    }
    return out;
  }

  /**
   * Takes the first live item out of a pending batch (drop-oldest); returns its position.
   * The caller settles its commit, then discards the batch if it is empty.
   */
  evictFront(batch: Batch<T>): number {
    const items = batch.items;
    while (items[batch.head] === HOLE) {
      items[batch.head++] = undefined as T;
      batch.holes--;
    }
    const slot = batch.head;
    const position = batch.positionAt(slot);
    this.clearSlot(batch, slot);
    items[slot] = undefined as T;
    batch.head++;
    this.counters.pending--;
    if (batch.state === SEALED) this.counters.queued--;
    return position;
  }

  /** Removes a pending batch that will never be flushed (emptied or drained). */
  discard(batch: Batch<T>): void {
    if (batch.state === SEALED) this.unqueue(batch);
    else this.unlinkOpen(batch);
    batch.state = DONE;
    batch.items = [];
    this.runner.released(batch);
  }

  /** Forgets a slot's coalesce key and bytes. */
  private clearSlot(batch: Batch<T>, slot: number): void {
    if (batch.sizes !== null) batch.bytes -= batch.sizes[slot];
    if (batch.ckeys !== null && batch.isOpen) this.values.delete(batch.ckeys[slot]);
  }

  /** Squeezes evicted slots and holes out of a batch about to run: positions stay. */
  private squeeze(batch: Batch<T>): void {
    if (batch.head === 0 && batch.holes === 0) return;
    const items: T[] = [];
    const pos: number[] | null = batch.holes > 0 || batch.pos !== null ? [] : null;
    for (let i = batch.head; i < batch.items.length; i++) {
      if (batch.items[i] === HOLE) continue;
      items.push(batch.items[i]);
      pos?.push(batch.positionAt(i));
    }
    if (pos === null) batch.base += batch.head;
    batch.pos = pos;
    batch.items = items;
    batch.head = batch.holes = 0;
  }

  private unqueue(batch: Batch<T>): void {
    const lane = batch.lane;
    let prev: Batch<T> | null = null;
    for (let at = lane.queueHead; at !== null; prev = at, at = at.nextQueued) {
      if (at !== batch) continue;
      if (prev === null) lane.queueHead = at.nextQueued;
      else prev.nextQueued = at.nextQueued;
      if (lane.queueTail === at) lane.queueTail = prev;
      at.nextQueued = null;
      return;
    }
  }

  /** Takes `batch` out of the lane's open batches (it stays referenced by whoever holds it). */
  private unlinkOpen(batch: Batch<T>): void {
    const lane = batch.lane;
    if (batch.key === undefined) {
      if (lane.open === batch) lane.open = null;
    } else if (this.byKey.get(batch.key) === batch) this.byKey.delete(batch.key);
    if (batch.prevOpen === null) lane.openHead = batch.nextOpen;
    else batch.prevOpen.nextOpen = batch.nextOpen;
    if (batch.nextOpen === null) lane.openTail = batch.prevOpen;
    else batch.nextOpen.prevOpen = batch.prevOpen;
    batch.prevOpen = batch.nextOpen = null;
    lane.openCount--;
    if (batch.ckeys !== null) this.values.forget(batch);
    if (batch.sizes !== null && --this.byteBatches === 0) this.onNoByteBatches();
  }
}

function randomInt(max: number): number {
  return Math.floor(Math.random() * (max + 1));
}
