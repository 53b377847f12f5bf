import type { BufferKey } from './buffer-options.interface';
import type { BufferScheduler, TimerHandle } from './buffer-scheduler.interface';
import { CommitRun, type Batch } from './batch';
import type { BufferCounters } from './buffer-counters';
import { BufferFullError } from './errors';
import { FULL_WAIT_TIMEOUT, FULL_WAIT_ZERO } from './engine.messages';

/**
 * What the commits of a run learn when the run's promise settles: `undefined` when all were
 * written; otherwise `fates[k]` for the run's k-th commit: `undefined` (written), a `Failure`
 * (reject with its error), or a promise to follow (its item is not settled yet).
 */
interface Verdict {
  fates: unknown[];
  cursor: number;
}

/** The fate of a commit whose item ended in failure. */
export class Failure {
  constructor(readonly error: unknown) {}
}

/**
 * The reaction each commit attaches to its run's promise. A promise's reactions run in the
 * order they were attached, and commits attach in order, so commit k reads `fates[k]`.
 */
function follow(verdict: Verdict | undefined): unknown {
  if (verdict === undefined) return undefined;
  const fate = verdict.fates[verdict.cursor++];
  if (fate === undefined) return undefined;
  if (fate instanceof Failure) throw fate.error;
  return fate;
}

let takeResolve: (verdict: unknown) => void = () => undefined;
function capture(resolve: (verdict: unknown) => void): void {
  takeResolve = resolve;
}

/** A `commit()` waiting for room. */
interface RoomWaiter<T> {
  item: T;
  key: BufferKey | undefined;
  resolve: (promise: Promise<void>) => void;
  reject: (error: unknown) => void;
  timer: TimerHandle;
  done: boolean;
}

/**
 * Commit runs and room waiters. Consecutive commits into a batch share one promise (one
 * allocation per run, not per item); each caller gets its own `then` of it, so the items of a
 * run can still end differently (a partial outcome, a split, an eviction). Commits that find
 * the buffer full wait here, oldest first, until the settler reports room was freed.
 */
export class CommitQueue<T> {
  /** Inserts a waiter's item once there is room (the facade's commit path). */
  admitOne: (item: T, key: BufferKey | undefined) => Promise<void> = () => Promise.resolve();
  private waiters: RoomWaiter<T>[] = [];
  private head = 0;
  /** Commits waiting for room. */
  waiting = 0;

  constructor(
    private readonly name: string,
    private readonly counters: BufferCounters,
    private readonly scheduler: BufferScheduler,
    private readonly capacity: () => number,
  ) {}

  /** The promise of the commit whose item is at `position` of `batch`. */
  track(batch: Batch<T>, position: number, shared: boolean): Promise<void> {
    let run = batch.lastRun;
    if (run !== null && !run.settled) {
      if (run.positions === null && run.start + run.count === position) {
        run.count++;
      } else {
        if (run.positions === null) {
          run.positions = [];
          for (let k = 0; k < run.count; k++) run.positions.push(run.start + k);
        }
        run.positions.push(position);
        run.count++;
      }
    } else {
      run = new CommitRun(position);
      run.promise = new Promise(capture);
      run.resolve = takeResolve;
      (batch.runs ??= []).push(run);
      batch.lastRun = shared ? run : null;
    }
    return (run.promise as Promise<Verdict | undefined>).then(follow) as Promise<void>;
  }

  /** Every open commit of `batch` gets `fate` (undefined: written). */
  settleAll(batch: Batch<T>, fate: Failure | undefined): void {
    const runs = batch.runs;
    if (runs === null) return;
    batch.runs = null;
    batch.lastRun = null;
    for (const run of runs) {
      if (!run.settled) {
        run.settled = true;
        run.resolve(fate === undefined ? undefined : uniform(run.count, fate));
      } else settleLater(run, () => fate);
    }
  }

  /** The commits of the items at `positions` get `fates[i]` (undefined: written); the rest keep waiting. */
  settleSome(batch: Batch<T>, positions: readonly number[], fates: readonly (Failure | undefined)[]): void {
    const runs = batch.runs;
    if (runs === null || positions.length === 0) return;
    const fateAt = new Map<number, Failure | undefined>();
    for (let i = 0; i < positions.length; i++) fateAt.set(positions[i], fates[i]);
    for (const run of runs) {
      if (run.settled) {
        settleLater(run, (position) => fateAt.get(position), fateAt);
        continue;
      }
      let touched = false;
      for (let k = 0; k < run.count && !touched; k++) touched = fateAt.has(run.positionOf(k));
      if (!touched) continue;
      if (batch.lastRun === run) batch.lastRun = null;
      run.settled = true;
      const verdict: Verdict = { fates: [], cursor: 0 };
      for (let k = 0; k < run.count; k++) {
        const position = run.positionOf(k);
        if (fateAt.has(position)) {
          verdict.fates.push(fateAt.get(position));
          continue;
        }
        let deferred!: { resolve: () => void; reject: (error: unknown) => void };
        verdict.fates.push(new Promise<void>((resolve, reject) => (deferred = { resolve, reject })));
        (run.later ??= new Array(run.count).fill(null))[k] = deferred;
      }
      run.resolve(verdict);
    }
  }

  /** The commits of `positions` (null: all of the batch's open ones) get one `fate`. */
  settle(batch: Batch<T>, positions: readonly number[] | null, fate: Failure | undefined): void {
    if (positions === null) this.settleAll(batch, fate);
    else this.settleSome(batch, positions, new Array(positions.length).fill(fate));
  }

  /** Waits for room, then inserts through `admitOne`; rejects with `BufferFullError` after `waitTimeout`. */
  waitForRoom(item: T, key: BufferKey | undefined, timeout: number): Promise<void> {
    if (timeout === 0) return Promise.reject(new BufferFullError(this.name, this.capacity(), FULL_WAIT_ZERO));
    return new Promise<void>((resolve, reject) => {
      const waiter: RoomWaiter<T> = { item, key, resolve, reject, timer: undefined, done: false };
      waiter.timer = this.scheduler.setTimeout(timeout, () => {
        if (waiter.done) return;
        waiter.done = true;
        this.waiting--;
        reject(new BufferFullError(this.name, this.capacity(), FULL_WAIT_TIMEOUT(timeout)));
      });
      this.waiters.push(waiter);
      this.waiting++;
    });
  }

  /** The one edge back in the engine: the settler (or a drain) freed room, so waiting commits go in, oldest first. */
  roomFreed(): void {
    if (this.waiting === 0) return;
    const queue = this.waiters;
    const capacity = this.capacity();
    while (this.head < queue.length && this.counters.held < capacity) {
      const waiter = queue[this.head++];
      if (waiter.done) continue;
      waiter.done = true;
      this.waiting--;
      this.scheduler.clearTimeout(waiter.timer);
      try {
        waiter.resolve(this.admitOne(waiter.item, waiter.key));
      } catch (error) {
        waiter.reject(error);
      }
    }
    if (this.head === queue.length) {
      this.waiters = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      this.waiters = queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Rejects every waiting commit (shutdown). */
  rejectWaiting(error: unknown): void {
    for (let i = this.head; i < this.waiters.length; i++) {
      const waiter = this.waiters[i];
      if (waiter.done) continue;
      waiter.done = true;
      this.scheduler.clearTimeout(waiter.timer);
      waiter.reject(error);
    }
    this.waiters = [];
    this.head = 0;
    this.waiting = 0;
  }
}

function uniform(count: number, fate: Failure): Verdict {
  return { fates: new Array(count).fill(fate), cursor: 0 };
}

/** Settles the deferreds of a run settled partly before. */
function settleLater(run: CommitRun, fateOf: (position: number) => Failure | undefined, only?: Map<number, unknown>): void {
  const later = run.later;
  if (later === null) return;
  for (let k = 0; k < later.length; k++) {
    const deferred = later[k];
    if (deferred === null) continue;
    const position = run.positionOf(k);
    if (only !== undefined && !only.has(position)) continue;
    later[k] = null;
    const fate = fateOf(position);
    if (fate === undefined) deferred.resolve();
    else deferred.reject(fate.error);
  }
}
