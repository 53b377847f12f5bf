import type { BufferKey, OverflowStrategy } from './buffer-options.interface';
import { SEALED, type Batch } from './batch';
import type { BatchAssembler } from './batch-assembler';
import type { BufferCounters } from './buffer-counters';
import { publishDrop } from './channels';
import { Failure, type CommitQueue } from './commit-queue';
import { BufferFullError } from './errors';
import { FULL_EVICTED } from './engine.messages';
import type { Lane } from './lane';

/**
 * Capacity and the overflow policies. Under drop-oldest it keeps, per lane, one entry per
 * pending item naming its batch, in insertion order, so that the lane's oldest pending item
 * is found in O(1) amortised across its open and waiting batches; entries of items that left
 * are skipped, and the list is compacted when they outnumber the live ones.
 */
export class OverflowGate<T> {
  overflow: OverflowStrategy;
  capacity: number;
  /** Whether `order` is kept (drop-oldest). */
  tracking = false;

  constructor(
    private readonly name: string,
    overflow: OverflowStrategy,
    capacity: number,
    private readonly counters: BufferCounters,
    private readonly assembler: BatchAssembler<T>,
    private readonly commits: CommitQueue<T>,
  ) {
    this.overflow = overflow;
    this.capacity = capacity;
    this.setTracking(overflow === 'drop-oldest');
  }

  /** At capacity: applies the policy for an item bound for `lane`. True when the item may go in. */
  makeRoom(lane: Lane<T>, key: BufferKey | undefined): boolean {
    const overflow = this.overflow;
    if (overflow === 'reject') throw new BufferFullError(this.name, this.capacity);
    if (overflow === 'drop-oldest') {
      const batch = this.oldest(lane);
      if (batch !== null) {
        const position = this.assembler.evictFront(batch);
        this.counters.dropped++;
        publishDrop(this.name, batch.key, lane.index, 'drop-oldest');
        if (batch.runs !== null) {
          this.commits.settleSome(batch, [position], [new Failure(new BufferFullError(this.name, this.capacity, FULL_EVICTED))]);
        }
        return true;
      }
    }
    this.counters.dropped++;
    publishDrop(this.name, key, lane.index, overflow);
    return false;
  }

  /** Notes a new pending item of `batch` (drop-oldest only). */
  track(batch: Batch<T>): void {
    const lane = batch.lane;
    lane.order.push(batch);
    if (lane.order.length - lane.orderHead > 2 * this.counters.pending + 1024) this.compact(lane);
  }

  /** Starts or stops keeping the order; started at run time, it is rebuilt batch by batch in the order they opened. */
  setTracking(on: boolean): void {
    if (on === this.tracking) return;
    this.tracking = on;
    for (const lane of this.assembler.lanes) {
      lane.order = [];
      lane.orderHead = 0;
      if (!on) continue;
      for (const batch of this.assembler.pendingBatches(undefined, false)) {
        if (batch.lane !== lane) continue;
        for (let i = 0; i < batch.live; i++) lane.order.push(batch);
      }
    }
  }

  /** The pending batch holding the lane's oldest item, or null when the lane has none pending. */
  private oldest(lane: Lane<T>): Batch<T> | null {
    const order = lane.order;
    while (lane.orderHead < order.length) {
      const batch = order[lane.orderHead++];
      if (batch.state > SEALED || batch.live === 0) continue;
      if (lane.orderHead > 1024 && lane.orderHead * 2 > order.length) this.compact(lane);
      return batch;
    }
    lane.order = [];
    lane.orderHead = 0;
    return null;
  }

  /** Drops the entries that no longer stand for a pending item. */
  private compact(lane: Lane<T>): void {
    const live: Batch<T>[] = [];
    const order = lane.order;
    const left = new Map<Batch<T>, number>();
    for (let i = lane.orderHead; i < order.length; i++) {
      const batch = order[i];
      if (batch.state > SEALED) continue;
      const seen = left.get(batch) ?? batch.live;
      if (seen === 0) continue;
      left.set(batch, seen - 1);
      live.push(batch);
    }
    lane.order = live;
    lane.orderHead = 0;
  }
}
