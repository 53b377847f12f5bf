import type { BufferKey, CoalesceOptions, ResolvedBufferOptions } from './buffer-options.interface';
import { OPEN, type Batch } from './batch';
import type { BatchAssembler } from './batch-assembler';
import type { BufferCounters } from './buffer-counters';
import { BufferFullError, describe, showValue } from './errors';
import { BAD_KEY, BAD_SIZE, FULL_NO_ROOM_FOR, KEY_ON_COALESCING, SIZE_THREW } from './engine.messages';
import type { Lane } from './lane';
import type { OverflowGate } from './overflow-gate';

/**
 * The full insert path, for what the facade's inline one leaves out: byte sizes, coalescing,
 * drop-oldest's order, flush-through at shutdown, and the checks of `insertMany` and
 * `commit`. Also the rules of a full buffer.
 */
export class ItemIntake<T> {
  /** Shutdown step 1: every batch is due at once. */
  flushThrough = false;
  opts: ResolvedBufferOptions;

  constructor(
    private readonly name: string,
    opts: ResolvedBufferOptions,
    private readonly counters: BufferCounters,
    private readonly assembler: BatchAssembler<T>,
    private readonly gate: OverflowGate<T>,
  ) {
    this.opts = opts;
  }

  /** Adds one item (`size`: its measured bytes, when measured already); returns its batch, or null when it was dropped. */
  add(item: T, key: BufferKey | undefined, size: number | undefined): Batch<T> | null {
    const bad = this.checkKey(key);
    if (bad !== null) throw bad;
    const opts = this.opts;
    if (opts.coalesce !== undefined) return this.addValue(item, opts.coalesce, size);
    const bytes = size ?? (opts.maxBatchBytes !== undefined ? this.measure(item) : 0);
    if (this.counters.held >= this.gate.capacity) {
      const lane = key === undefined ? this.assembler.nextUnkeyedLane() : this.assembler.laneOf(key);
      if (!this.atCapacity(lane, key)) return null;
    }
    return this.placed(this.assembler.append(item, key, bytes));
  }

  /** Measures and checks a list for `insertMany`: the sizes (null when not measured); throws before anything is inserted. */
  prepareMany(items: readonly T[], key: BufferKey | undefined): number[] | null {
    const bad = this.checkKey(key);
    if (bad !== null) throw bad;
    const opts = this.opts;
    const sizes = opts.maxBatchBytes !== undefined ? items.map((item, index) => this.measure(item, index)) : null;
    if (opts.overflow !== 'reject') return sizes;
    const held = this.counters.held;
    const needed = opts.coalesce === undefined ? items.length : this.newValues(items, opts.coalesce);
    if (needed > 0 && held + needed > this.gate.capacity) {
      throw new BufferFullError(this.name, this.gate.capacity, FULL_NO_ROOM_FOR(items.length, held));
    }
    return sizes;
  }

  /** At capacity, for an item bound for `lane`: the full-buffer rule, then the overflow policy. True when the item may go in. */
  atCapacity(lane: Lane<T>, key: BufferKey | undefined): boolean {
    this.full();
    return this.gate.makeRoom(lane, key);
  }

  /** A full buffer flushes: when nothing is sealed or in flight, nothing would make room before a timer, so every open batch is sealed. */
  full(): void {
    if (!this.assembler.anyHandedOver) this.assembler.sealAll('size');
  }

  /** The error for an unusable key, or null. */
  checkKey(key: unknown): TypeError | null {
    if (key === undefined) return null;
    if (this.opts.coalesce !== undefined) return new TypeError(KEY_ON_COALESCING(this.name));
    return typeof key === 'string' || typeof key === 'number' ? null : this.badKey(key);
  }

  badKey(key: unknown): TypeError {
    return new TypeError(BAD_KEY(this.name, key === null ? 'null' : typeof key));
  }

  private addValue(item: T, coalesce: CoalesceOptions<T>, size: number | undefined): Batch<T> | null {
    const ckey = coalesce.key(item);
    // A key that is no BufferKey has no value to merge into: addNewValue refuses it.
    const merged = this.assembler.merge(item, ckey, coalesce.merge, this.measureValue);
    if (merged !== null) return this.placed(merged, false);
    return this.addNewValue(item, ckey, size);
  }

  /** Coalescing: adds the first value of `ckey` (which has no value in its lane's open batch); null when dropped. */
  addNewValue(item: T, ckey: BufferKey, size: number | undefined): Batch<T> | null {
    if (typeof ckey !== 'string' && typeof ckey !== 'number') throw this.badKey(ckey);
    const bytes = size ?? (this.opts.maxBatchBytes !== undefined ? this.measure(item) : 0);
    if (this.counters.held >= this.gate.capacity && !this.atCapacity(this.assembler.laneOf(ckey), undefined)) return null;
    return this.placed(this.assembler.appendValue(item, ckey, bytes));
  }

  /** After an item went into `batch`: drop-oldest's order, flush-through, and the full-buffer rule. */
  private placed(batch: Batch<T>, added = true): Batch<T> {
    if (added && this.gate.tracking) this.gate.track(batch);
    if (this.flushThrough && batch.state === OPEN) this.assembler.markDue(batch, 'shutdown');
    if (this.counters.held >= this.gate.capacity) this.full();
    return batch;
  }

  /** How many of `items` would take a place of their own (the others merge). */
  private newValues(items: readonly T[], coalesce: CoalesceOptions<T>): number {
    const seen = new Set<BufferKey>();
    let n = 0;
    for (const item of items) {
      const ckey = coalesce.key(item);
      if (seen.has(ckey) || this.assembler.values.has(ckey)) continue;
      seen.add(ckey);
      n++;
    }
    return n;
  }

  private readonly measureValue = (value: T): number => this.measure(value);

  /** `sizeOf(item)`, checked: a TypeError naming the buffer (and the index) when it throws or is no size. */
  private measure(item: T, index?: number): number {
    let size: unknown;
    try {
      size = this.opts.sizeOf(item);
    } catch (error) {
      throw new TypeError(SIZE_THREW(this.name, describe(error), index));
    }
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) throw new TypeError(BAD_SIZE(this.name, showValue(size), index));
    return size;
  }
}
