import type { BufferLogger, BufferScheduler } from './buffer-scheduler.interface';
import { DUE, OPEN, type Batch } from './batch';
import type { BatchAssembler } from './batch-assembler';
import { heapify, heapPop, heapPush } from './deadline-heap';
import { describe } from './errors';
import { INTERNAL_ERROR } from './engine.messages';
import type { Lane } from './lane';

/**
 * The time trigger: one timer per lane, whatever the number of keys, armed for the lane's
 * earliest deadline. Open keyed batches sit in the lane's deadline heap (the unkeyed one is
 * checked directly), batches made due by a commit in its commit heap. Entries of batches
 * that left meanwhile are skipped lazily, and the heap is rebuilt when they pile up. A timer
 * armed for a batch sealed by size fires once and does nothing: re-arming the lane timer
 * for every batch costs more than a stale timer.
 */
export class DeadlineTrigger<T> {
  /** Seals and marks due what the timers find; set by the facade's wiring. */
  assembler: BatchAssembler<T>;
  private armed = false;

  constructor(
    private readonly name: string,
    private readonly scheduler: BufferScheduler,
    private readonly logger: BufferLogger,
  ) {}

  /** A batch was opened: its deadline joins the lane's. */
  opened(batch: Batch<T>, now: number): void {
    const lane = batch.lane;
    if (batch.key !== undefined) {
      if (lane.heap.length > 2 * lane.openCount + 32) lane.heap = liveHeap(lane);
      heapPush(lane.heap, batch);
    }
    if (this.armed && batch.deadline < lane.timerDue) this.arm(lane, batch.deadline, now);
  }

  /** A commit went into an open batch with `commitDelay`: it becomes due then (0: now). */
  committed(batch: Batch<T>, commitDelay: number): void {
    if (batch.commitDueAt !== Infinity || batch.state !== OPEN) return;
    if (commitDelay === 0) {
      batch.commitDueAt = this.scheduler.now();
      this.assembler.markDue(batch, 'commit');
      return;
    }
    const now = this.scheduler.now();
    const due = now + commitDelay;
    batch.commitDueAt = due;
    if (due >= batch.deadline) return;
    const lane = batch.lane;
    heapPush(lane.commitHeap, { deadline: due, batch });
    if (this.armed && due < lane.timerDue) this.arm(lane, due, now);
  }

  /** Arms every lane; what is overdue already is sealed now. */
  start(): void {
    this.armed = true;
    for (const lane of this.assembler.lanes) this.fire(lane);
  }

  /** Cancels every lane timer; none is armed again. */
  stop(): void {
    this.armed = false;
    for (const lane of this.assembler.lanes) {
      lane.timerDue = Infinity;
      this.scheduler.clearLaneTimer(lane.timerName);
      lane.heap = [];
      lane.commitHeap = [];
    }
  }

  /** How many lane timers are set now. */
  get count(): number {
    let n = 0;
    for (const lane of this.assembler.lanes) if (lane.timerDue !== Infinity) n++;
    return n;
  }

  /** The lane timer: seals the batches whose interval is up and marks due those a commit made due. */
  fire(lane: Lane<T>): void {
    try {
      lane.timerDue = Infinity;
      if (!this.armed) return;
      const now = this.scheduler.now();
      const assembler = this.assembler;
      const open = lane.open;
      if (open !== null && open.deadline <= now) assembler.seal(open, 'interval');
      const heap = lane.heap;
      while (heap.length > 0) {
        const top = heap[0];
        if (top.state > DUE) heapPop(heap);
        else if (top.deadline <= now) {
          heapPop(heap);
          assembler.seal(top, 'interval');
        } else break;
      }
      const commits = lane.commitHeap;
      while (commits.length > 0) {
        const top = commits[0];
        if (top.batch.state !== OPEN) heapPop(commits);
        else if (top.deadline <= now) {
          heapPop(commits);
          assembler.markDue(top.batch, 'commit');
        } else break;
      }
      let due = heap.length > 0 ? heap[0].deadline : Infinity;
      if (lane.open !== null && lane.open.deadline < due) due = lane.open.deadline;
      if (commits.length > 0 && commits[0].deadline < due) due = commits[0].deadline;
      if (due !== Infinity) this.arm(lane, due, now);
    } catch (error) {
      this.logger.error(INTERNAL_ERROR(this.name, describe(error)));
    }
  }

  private arm(lane: Lane<T>, due: number, now: number): void {
    lane.timerDue = due;
    this.scheduler.setLaneTimer(lane.timerName, Math.max(0, due - now), lane.onTimer);
  }
}

function liveHeap<T>(lane: Lane<T>): Batch<T>[] {
  const live: Batch<T>[] = [];
  for (let batch = lane.openHead; batch !== null; batch = batch.nextOpen) if (batch.key !== undefined) live.push(batch);
  return heapify(live);
}
