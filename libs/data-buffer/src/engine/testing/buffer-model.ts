/*
 * The model of a buffer that the property test runs beside the real one. It is built from the
 * contract alone: where every item is, which stream (a key, or the unkeyed items of a lane)
 * it belongs to, and which runs of a stream must be batches of their own.
 *
 * A stream's pending items are kept in segments. A segment is a run that no batch may cross
 * once it is sealed. The model seals a segment only when the contract says it must be sealed
 * (a flush() call, close(), the full-buffer rule, the size limit or the interval when no
 * jitter leaves it open); where jitter leaves it open the segment is marked inexact and the
 * batches the handler gets tell where it was cut.
 */
import type { BufferKey, FlushReport } from '../../index';
import {
  type ContractOptions,
  largestSizeLimit,
  latestDeadline,
  laneOfUnkeyed,
  smallestSizeLimit,
  soonestDeadline,
  streamOf,
} from './contract';
import type { Key } from './scenario';

export type Place = 'waiting' | 'refused' | 'timedOut' | 'pending' | 'inFlight' | 'flushed' | 'failed' | 'dropped' | 'drained';

export interface ModelItem {
  readonly id: number;
  readonly key: Key;
  readonly obj: { readonly id: number };
  place: Place;
  /** Order of entry into the buffer (NaN until it entered). */
  seq: number;
  /** Unkeyed items: the lane the round-robin gives them. Keyed items: see `Model.laneOf`. */
  lane: number | undefined;
  enteredAt: number;
  /** Index of the options in force when it entered. */
  version: number;
  batch: ModelBatch | null;
  commit: CommitRec | null;
  /** The first flush() call that found it pending. */
  firstFlush: FlushRec | null;
}

/** Why the contract says a segment is sealed ('full': the full-buffer rule of version 2). */
export type SealCause = 'size' | 'interval' | 'manual' | 'shutdown' | 'full';

export interface Segment {
  items: ModelItem[];
  /** When the batch holding the first item opened, as a range. */
  openLo: number;
  openHi: number;
  /** The options versions that batch may have opened with. */
  vLo: number;
  vHi: number;
  /** The segment is one batch from its first item, and no trigger may have sealed it yet. */
  exact: boolean;
  sealed: SealCause | null;
  /** The segment was exact when it was sealed: its batch has the seal's reason. */
  sealedExact: boolean;
  /** The full-buffer rule may have sealed it (a 'size' batch below maxSize is then fine). */
  fullPossible: boolean;
}

export interface Stream {
  readonly id: string;
  readonly key: Key;
  segments: Segment[];
  /** What an emptied open segment leaves: its batch may live on with the old clock. */
  ghost: { openLo: number; vLo: number } | null;
}

export interface ModelBatch {
  readonly id: string;
  readonly key: Key;
  readonly lane: number;
  readonly reason: string;
  readonly items: ModelItem[];
  readonly vLo: number;
  readonly vHi: number;
  state: 'running' | 'retryWait' | 'failing' | 'flushed' | 'failed';
  attempts: number;
  attemptStart: number;
  lastEnd: number;
  lastError: unknown;
  errorGiven: unknown;
  /** Failed, waiting for a retry that its options versions may or may not allow. */
  unsure: boolean;
}

export interface CommitRec {
  readonly item: ModelItem;
  readonly calledAt: number;
  readonly waitTimeout: number;
  state: 'pending' | 'resolved' | 'rejected';
  error: unknown;
  settledAt: number;
}

export interface FlushRec {
  readonly key: Key;
  readonly closedAtCall: boolean;
  readonly pending: ModelItem[];
  readonly running: ModelItem[];
  state: 'pending' | 'resolved' | 'rejected';
  report: FlushReport | null;
}

export class Model {
  readonly versions: ContractOptions[];
  readonly items: ModelItem[] = [];
  readonly streams = new Map<string, Stream>();
  readonly keyLane = new Map<BufferKey, number>();
  readonly batches = new Map<string, ModelBatch>();
  readonly commits: CommitRec[] = [];
  readonly flushes: FlushRec[] = [];
  /** Per lane: the batch whose attempts are not over (running, waiting for a retry, or failing). */
  readonly running: (ModelBatch | null)[];
  /** Per lane: error handlers still running. */
  readonly errorHandlers: number[];
  /** Per stream: seq of the last item written. */
  readonly written = new Map<string, number>();
  /** Items counted in stats().inserted: those that entered and those dropped on the way in. */
  accepted = 0;
  entered = 0;
  unkeyedEntered = 0;
  pendingCount = 0;
  inFlightCount = 0;
  flushed = 0;
  failed = 0;
  dropped = 0;
  drained = 0;
  successes = 0;
  retries = 0;
  lastFlushAt: number | null = null;
  lastError: { message: string; at: number } | null = null;
  closedAt: number | null = null;
  /** When room was last freed: when waiting commits that got in, got in. */
  lastRoomAt = 0;

  constructor(
    options: ContractOptions,
    readonly partitions: number,
  ) {
    this.versions = [options];
    this.running = Array.from({ length: partitions }, () => null);
    this.errorHandlers = Array.from({ length: partitions }, () => 0);
  }

  get opts(): ContractOptions {
    return this.versions[this.versions.length - 1];
  }

  get version(): number {
    return this.versions.length - 1;
  }

  /** The values `pick` takes over the options versions lo..hi. */
  over<R>(lo: number, hi: number, pick: (opts: ContractOptions) => R): R[] {
    return this.versions.slice(lo, hi + 1).map(pick);
  }

  held(): number {
    return this.pendingCount + this.inFlightCount;
  }

  newItem(key: Key, place: Place): ModelItem {
    const id = this.items.length;
    const item: ModelItem = {
      id,
      key,
      obj: { id },
      place,
      seq: NaN,
      lane: undefined,
      enteredAt: NaN,
      version: this.version,
      batch: null,
      commit: null,
      firstFlush: null,
    };
    this.items.push(item);
    return item;
  }

  laneOf(item: ModelItem): number | undefined {
    if (this.partitions === 1) return 0;
    return item.key === undefined ? item.lane : this.keyLane.get(item.key);
  }

  /** The lane an item of `key` goes to next (unkeyed: the round-robin's next lane). */
  nextLaneFor(key: Key): number | undefined {
    if (key === undefined) return laneOfUnkeyed(this.unkeyedEntered, this.partitions);
    return this.partitions === 1 ? 0 : this.keyLane.get(key);
  }

  streamFor(key: Key, lane: number | undefined): Stream {
    const id = streamOf(key, lane);
    let stream = this.streams.get(id);
    if (stream === undefined) {
      stream = { id, key, segments: [], ghost: null };
      this.streams.set(id, stream);
    }
    return stream;
  }

  streamOfItem(item: ModelItem): Stream {
    return this.streamFor(item.key, item.key === undefined ? item.lane : undefined);
  }

  *pendingItems(): Iterable<ModelItem> {
    for (const stream of this.streams.values()) for (const segment of stream.segments) yield* segment.items;
  }

  pendingOfKey(key: BufferKey): ModelItem[] {
    const stream = this.streams.get(streamOf(key, undefined));
    return stream === undefined ? [] : stream.segments.flatMap((segment) => segment.items);
  }

  /** The item takes its place in the buffer now. */
  enter(item: ModelItem, now: number): void {
    this.advanceTo(now);
    item.place = 'pending';
    item.seq = ++this.entered;
    item.version = this.version;
    item.enteredAt = now;
    if (item.key === undefined) item.lane = laneOfUnkeyed(this.unkeyedEntered++, this.partitions);
    this.pendingCount++;
    const stream = this.streamOfItem(item);
    let open = stream.segments[stream.segments.length - 1];
    if (open === undefined || open.sealed !== null) {
      const ghost = stream.ghost;
      stream.ghost = null;
      open = {
        items: [],
        openLo: ghost?.openLo ?? now,
        openHi: now,
        vLo: ghost?.vLo ?? this.version,
        vHi: this.version,
        exact: ghost === null,
        sealed: null,
        sealedExact: false,
        fullPossible: false,
      };
      stream.segments.push(open);
    }
    open.items.push(item);
    if (!open.exact) return;
    const count = open.items.length;
    if (count >= Math.max(...this.over(open.vLo, open.vHi, largestSizeLimit))) this.seal(open, 'size');
    else if (count >= Math.min(...this.over(open.vLo, open.vHi, smallestSizeLimit))) open.exact = false;
  }

  /** Applies the time trigger up to `now`: a batch is sealed by its interval (+ its jitter). */
  advanceTo(now: number): void {
    for (const stream of this.streams.values()) {
      const open = stream.segments[stream.segments.length - 1];
      if (open === undefined || open.sealed !== null || !open.exact) continue;
      if (open.openHi + Math.max(...this.over(open.vLo, open.vHi, latestDeadline)) <= now) this.seal(open, 'interval');
      else if (open.openLo + Math.min(...this.over(open.vLo, open.vHi, soonestDeadline)) <= now) open.exact = false;
    }
  }

  private seal(segment: Segment, cause: SealCause): void {
    segment.sealed = cause;
    segment.sealedExact = segment.exact;
    segment.exact = false;
  }

  /** Every open batch of `streams` is sealed now (flush(), close(), the full-buffer rule). */
  cut(streams: Iterable<Stream>, cause: SealCause): void {
    for (const stream of streams) {
      stream.ghost = null;
      for (const segment of stream.segments) {
        if (segment.sealed !== null) continue;
        this.seal(segment, cause);
        if (cause === 'full') segment.fullPossible = true;
      }
    }
  }

  /** The full-buffer rule may or may not have sealed the open batches: they become inexact. */
  fogFull(): void {
    for (const stream of this.streams.values()) {
      stream.ghost = null;
      for (const segment of stream.segments) {
        if (segment.sealed !== null) continue;
        segment.fullPossible = true;
        segment.exact = false;
      }
    }
  }

  /**
   * Whether some batch is sealed or in flight: true, false, or undefined when a trigger
   * whose moment jitter leaves open may have sealed one.
   */
  somethingSealedOrInFlight(): boolean | undefined {
    if (this.running.some((batch) => batch !== null && batch.state !== 'failing')) return true;
    let unsure = false;
    for (const stream of this.streams.values()) {
      for (const segment of stream.segments) {
        if (segment.items.length === 0) continue;
        if (segment.sealed !== null) return true;
        if (!segment.exact) unsure = true;
      }
    }
    return unsure ? undefined : false;
  }

  /** Takes `item` out of its segment (handed over, dropped or drained). */
  remove(item: ModelItem): void {
    const stream = this.streamOfItem(item);
    for (let s = 0; s < stream.segments.length; s++) {
      const segment = stream.segments[s];
      const at = segment.items.indexOf(item);
      if (at < 0) continue;
      segment.items.splice(at, 1);
      if (segment.items.length === 0) {
        stream.segments.splice(s, 1);
        if (segment.sealed === null && s === stream.segments.length) stream.ghost = { openLo: segment.openLo, vLo: segment.vLo };
      }
      this.pendingCount--;
      return;
    }
  }

  /** The lane's oldest pending item; undefined when the lane of some pending item is unknown. */
  oldestPendingOfLane(lane: number): ModelItem | null | undefined {
    let oldest: ModelItem | null = null;
    for (const item of this.pendingItems()) {
      const itemLane = this.laneOf(item);
      if (itemLane === undefined) return undefined;
      if (itemLane === lane && (oldest === null || item.seq < oldest.seq)) oldest = item;
    }
    return oldest;
  }

  /** Lanes with nothing running, waiting for a retry, failing, or in an error handler. */
  laneIdle(lane: number): boolean {
    return this.running[lane] === null && this.errorHandlers[lane] === 0;
  }

  waiters(): CommitRec[] {
    return this.commits.filter((rec) => rec.item.place === 'waiting' && rec.state === 'pending');
  }
}
