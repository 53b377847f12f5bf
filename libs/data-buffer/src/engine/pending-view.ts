import type { BufferKey } from './buffer-options.interface';
import { HOLE, type Batch } from './batch';
import type { BatchAssembler } from './batch-assembler';
import type { BufferCounters } from './buffer-counters';

/** What `size()`, `stats().keys` and `dump()` see of the pending items: open, due and sealed-waiting batches. */
export class PendingView<T> {
  constructor(
    private readonly assembler: BatchAssembler<T>,
    private readonly counters: BufferCounters,
    private readonly coalesced: boolean,
  ) {}

  /** Pending items of `key` (a coalesce key on a coalescing buffer), or of all. */
  size(key: BufferKey | undefined): number {
    const coalesced = this.coalesced;
    if (key === undefined) return this.counters.pending;
    if (!coalesced) {
      let n = this.assembler.byKey.get(key)?.live ?? 0;
      for (let batch = this.assembler.laneOf(key).queueHead; batch !== null; batch = batch.nextQueued) if (batch.key === key) n += batch.live;
      return n;
    }
    let n = 0;
    for (const batch of this.assembler.pendingBatches(key, true)) n += slotsOf(this.assembler, batch, key).length;
    return n;
  }

  /** Keys (coalesce keys) with pending items. */
  keys(): number {
    const coalesced = this.coalesced;
    if (!coalesced) {
      // O(sealed batches waiting): kept out of the seal and flush path, which would pay for it per batch.
      const waiting = new Set<BufferKey>();
      for (const lane of this.assembler.lanes) {
        for (let batch = lane.queueHead; batch !== null; batch = batch.nextQueued) {
          if (batch.key !== undefined && !this.assembler.byKey.has(batch.key)) waiting.add(batch.key);
        }
      }
      return this.assembler.byKey.size + waiting.size;
    }
    let queued = false;
    for (const lane of this.assembler.lanes) if (lane.queueHead !== null) queued = true;
    if (!queued) return this.assembler.values.size;
    const seen = new Set<BufferKey>();
    for (const batch of this.assembler.pendingBatches(undefined, true)) {
      const ckeys = batch.ckeys as BufferKey[];
      for (let i = batch.head; i < ckeys.length; i++) if (batch.items[i] !== HOLE) seen.add(ckeys[i]);
    }
    return seen.size;
  }

  /** Copies the pending items (of `key`'s batches or coalesce key's values) in order. */
  dump(key: BufferKey | undefined): T[] {
    const coalesced = this.coalesced;
    const out: T[] = [];
    for (const batch of this.assembler.pendingBatches(key, coalesced)) {
      if (coalesced && key !== undefined) {
        for (const slot of slotsOf(this.assembler, batch, key)) out.push(batch.items[slot]);
        continue;
      }
      const items = batch.items;
      for (let i = batch.head; i < items.length; i++) if (items[i] !== HOLE) out.push(items[i]);
    }
    return out;
  }
}

/** Pending batches (open, due and sealed-waiting) of `key` or of all, lane by lane in the order they opened. */
export function pendingBatches<T>(assembler: BatchAssembler<T>, key: BufferKey | undefined, coalesced: boolean): Batch<T>[] {
  const out: Batch<T>[] = [];
  const lanes = key === undefined ? assembler.lanes : [assembler.laneOf(key)];
  for (const lane of lanes) {
    const start = out.length;
    for (let batch = lane.queueHead; batch !== null; batch = batch.nextQueued) {
      if (holds(assembler, batch, key, coalesced)) out.push(batch);
    }
    for (let batch = lane.openHead; batch !== null; batch = batch.nextOpen) {
      if (holds(assembler, batch, key, coalesced)) out.push(batch);
    }
    if (out.length - start > 1) sortBySeq(out, start);
  }
  return out;
}

function holds<T>(assembler: BatchAssembler<T>, batch: Batch<T>, key: BufferKey | undefined, coalesced: boolean): boolean {
  if (key === undefined) return true;
  if (!coalesced) return batch.key === key;
  return slotsOf(assembler, batch, key).length > 0;
}

/** The slots of a coalesce key's values in a batch. */
export function slotsOf<T>(assembler: BatchAssembler<T>, batch: Batch<T>, ckey: BufferKey): number[] {
  if (batch.isOpen) {
    const slot = assembler.openSlot(batch, ckey);
    return slot === undefined ? [] : [slot];
  }
  const slots: number[] = [];
  const ckeys = batch.ckeys as BufferKey[];
  for (let i = batch.head; i < ckeys.length; i++) if (ckeys[i] === ckey && batch.items[i] !== HOLE) slots.push(i);
  return slots;
}

function sortBySeq<T>(batches: Batch<T>[], start: number): void {
  const part = batches.slice(start).sort((a, b) => a.seq - b.seq);
  for (let i = 0; i < part.length; i++) batches[start + i] = part[i];
}

