import type { BufferKey } from './buffer-options.interface';
import { HOLE, type Batch } from './batch';
import type { Lane } from './lane';

/**
 * Coalescing: where each coalesce key's value sits in its lane's open batch, as
 * `slot * partitions + lane`. One map for the buffer, so that a merge finds its value with one
 * lookup and no hash of its own to find the lane; a key leaves it when its batch stops being open.
 */
export class ValueSlots<T> {
  /** Set by `find`: the slot of the value it found. */
  slot = 0;
  private readonly codes = new Map<BufferKey, number>();

  constructor(private readonly lanes: readonly Lane<T>[]) {}

  /** Coalesce keys with a pending value. */
  get size(): number {
    return this.codes.size;
  }

  has(ckey: BufferKey): boolean {
    return this.codes.has(ckey);
  }

  /** The open batch that holds `ckey`'s value (its slot in `this.slot`), or null. */
  find(ckey: BufferKey): Batch<T> | null {
    const code = this.codes.get(ckey);
    if (code === undefined) return null;
    const partitions = this.lanes.length;
    const lane = code % partitions;
    this.slot = (code - lane) / partitions;
    return this.lanes[lane].open;
  }

  /** `ckey`'s value is about to take the next slot of `batch`, its lane's open batch. */
  add(ckey: BufferKey, batch: Batch<T>): void {
    this.codes.set(ckey, batch.items.length * this.lanes.length + batch.lane.index);
  }

  delete(ckey: BufferKey): void {
    this.codes.delete(ckey);
  }

  /**
   * Takes the values of a batch that stops being open out, key by key, or, when they are most
   * of the map, by refilling it with the other lanes' open values instead (a single lane's seal
   * then costs one `clear()`, not one delete per key).
   */
  forget(batch: Batch<T>): void {
    const codes = this.codes;
    const ckeys = batch.ckeys as BufferKey[];
    const items = batch.items;
    if (batch.live * 2 < codes.size) {
      for (let i = batch.head; i < ckeys.length; i++) if (items[i] !== HOLE) codes.delete(ckeys[i]);
      return;
    }
    codes.clear();
    const partitions = this.lanes.length;
    for (const lane of this.lanes) {
      const open = lane.open;
      if (open === null || open === batch || open.ckeys === null) continue;
      for (let i = open.head; i < open.ckeys.length; i++) if (open.items[i] !== HOLE) codes.set(open.ckeys[i], i * partitions + lane.index);
    }
  }
}
