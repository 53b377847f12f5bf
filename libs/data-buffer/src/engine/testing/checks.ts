/*
 * The invariants checked between steps (and once more after close) against what the public
 * API shows: dump(), size(), stats(), and the commit() and flush() promises.
 */
import { BufferClosedError, BufferFullError, DataBufferError, FlushFailedError } from '../../index';
import type { CommitRec, ModelItem } from './buffer-model';
import { describeError, keyName, latestDeadline } from './contract';
import { INV } from './invariants';
import { KEYS } from './scenario';
import type { World } from './world';

const list = (items: readonly ModelItem[]): string => `[${items.map((item) => item.id).join(',')}]`;

function sameItems(a: readonly ModelItem[], b: readonly ModelItem[]): boolean {
  const set = new Set(a);
  return a.length === b.length && set.size === a.length && b.every((item) => set.has(item));
}

export function checkStep(w: World): void {
  const { model, log, buf } = w;
  w.sync();
  const now = Date.now();
  const stats = buf.stats();
  const dump = w.items(buf.dump(), 'dump()');
  const pending = [...model.pendingItems()];
  // Once close() ran out of budget, leftovers go to the error handler one by one: pending or in flight, they balance.
  const cutting = model.closedAt !== null && now >= model.closedAt + w.closeTimeout;

  log.expect(INV.onePlace, new Set(dump).size === dump.length, () => `dump() lists an item twice: ${list(dump)}`);
  if (!cutting) {
    const missing = pending.filter((item) => !dump.includes(item));
    const extra = dump.filter((item) => !pending.includes(item));
    log.expect(INV.pendingSet, missing.length === 0 && extra.length === 0, () => `dump() misses ${list(missing)} and has ${list(extra)} (${extra.map((i) => i.place).join(',')})`);
    log.expect(INV.pendingSet, stats.pending === pending.length && buf.size() === pending.length, () => `stats().pending ${stats.pending}, size() ${buf.size()}, the model has ${pending.length} pending`);
    let keys = 0;
    for (const key of KEYS) {
      const mine = model.pendingOfKey(key);
      if (mine.length > 0) keys++;
      const got = w.items(buf.dump(key), `dump(${keyName(key)})`);
      log.expect(INV.pendingSet, buf.size(key) === mine.length && sameItems(got, mine), () => `size(${keyName(key)}) ${buf.size(key)}, dump(${keyName(key)}) ${list(got)}, the model has ${list(mine)}`);
    }
    log.expect(INV.inFlight, stats.inFlight === model.inFlightCount, () => `stats().inFlight ${stats.inFlight}, the running batches hold ${model.inFlightCount}`);
    log.expect(INV.keys, stats.keys === keys, () => `stats().keys ${stats.keys}, ${keys} key(s) have pending items`);
  }
  checkDumpOrder(w, dump);
  checkStats(w, stats);
  checkLiveness(w, now);
  for (const attempt of w.attempts) {
    if (attempt === null || attempt.ended) continue;
    const limit = Math.max(...model.over(attempt.batch.vLo, attempt.batch.vHi, (o) => o.flushTimeout));
    log.expect(INV.flushTimeout, now - attempt.start <= limit, () => `attempt ${attempt.batch.id}#${attempt.attempt} has run ${now - attempt.start} ms, flushTimeout is ${limit}`);
  }
  for (const rec of model.commits) checkCommit(w, rec, now);
  for (const line of w.logs) log.expect(INV.internal, !line.includes('Unexpected error'), () => line);
  w.logs.length = 0;
}

function checkDumpOrder(w: World, dump: ModelItem[]): void {
  const last = new Map<string, number>();
  let lane = 0;
  for (const item of dump) {
    const stream = item.key === undefined ? `lane ${item.lane}` : `key ${keyName(item.key)}`;
    w.log.expect(INV.dumpOrder, item.seq > (last.get(stream) ?? 0), () => `dump() lists item ${item.id} of ${stream} after a later one`);
    last.set(stream, item.seq);
    const itemLane = w.model.laneOf(item);
    if (itemLane === undefined) continue;
    w.log.expect(INV.dumpOrder, itemLane >= lane, () => `dump() lists item ${item.id} of lane ${itemLane} after items of lane ${lane}`);
    lane = Math.max(lane, itemLane);
  }
}

function checkStats(w: World, stats: ReturnType<World['buf']['stats']>): void {
  const { model, log } = w;
  const merged = (stats as { merged?: number }).merged ?? 0;
  const sum = stats.flushed + stats.failed + stats.dropped + stats.drained + merged + stats.pending + stats.inFlight;
  log.expect(INV.balance, stats.inserted === sum, () => `inserted ${stats.inserted} !== ${sum} (${JSON.stringify(stats)})`);
  const unsure = [...model.batches.values()].filter((batch) => batch.state === 'retryWait' && batch.unsure).length;
  const seen = {
    inserted: model.accepted,
    flushed: model.flushed,
    failed: model.failed,
    dropped: model.dropped,
    drained: model.drained,
    flushes: model.successes,
    capacity: model.opts.capacity,
    partitions: model.partitions,
  };
  for (const [field, value] of Object.entries(seen)) {
    const got = (stats as unknown as Record<string, number>)[field];
    log.expect(INV.stats, got === value, () => `stats().${field} is ${got}, the model counts ${value}`);
  }
  log.expect(INV.stats, w.dropMessages === stats.dropped, () => `stats().dropped ${stats.dropped}, the drop channel published ${w.dropMessages}`);
  log.expect(INV.stats, stats.name === w.name, () => `stats().name is ${stats.name}`);
  log.expect(INV.retries, stats.retries <= model.retries && stats.retries >= model.retries - unsure, () => `stats().retries ${stats.retries}, ${model.retries} failed attempt(s) were retried`);
  log.expect(INV.stats, stats.lastFlushAt === model.lastFlushAt, () => `stats().lastFlushAt ${stats.lastFlushAt}, the last successful flush was at ${model.lastFlushAt}`);
  const lastError = model.lastError;
  log.expect(
    INV.stats,
    lastError === null ? stats.lastError === null : stats.lastError?.message === lastError.message && stats.lastError.at === lastError.at,
    () => `stats().lastError ${JSON.stringify(stats.lastError)}, the last failure was ${JSON.stringify(lastError)}`,
  );
}

/** A sealed batch, or one past its interval, must not sit on an idle lane. */
function checkLiveness(w: World, now: number): void {
  const { model, log } = w;
  const allIdle = model.running.every((_, lane) => model.laneIdle(lane));
  for (const stream of model.streams.values()) {
    const first = stream.segments[0];
    const head = first?.items[0];
    if (first === undefined || head === undefined) continue;
    const lane = stream.key === undefined ? Number(stream.id.slice('lane '.length)) : model.partitions === 1 ? 0 : model.keyLane.get(stream.key);
    const idle = lane === undefined ? allIdle : model.laneIdle(lane);
    if (!idle) continue;
    if (first.sealed !== null) {
      const invariant = first.sealed === 'full' ? INV.fullFlush : first.sealed === 'interval' ? INV.timeTrigger : INV.sealedHanded;
      log.fail(invariant, `${list(first.items)} of ${stream.id} were sealed (${first.sealed}) but wait on an idle lane`);
      continue;
    }
    const due = head.enteredAt + Math.max(...model.over(first.vLo, head.version, latestDeadline));
    log.expect(INV.timeTrigger, now < due, () => `item ${head.id} of ${stream.id} came in at t=${head.enteredAt} and is still pending at t=${now} on an idle lane; its batch was due by t=${due}`);
  }
}

function checkCommit(w: World, rec: CommitRec, now: number): void {
  const { model, log } = w;
  const item = rec.item;
  const error = rec.error;
  const where = `commit() of item ${item.id} (${item.place})`;
  switch (item.place) {
    case 'flushed':
      log.expect(INV.commit, rec.state === 'resolved', () => `${where} is ${rec.state}`);
      return;
    case 'pending':
    case 'inFlight':
      log.expect(INV.commit, rec.state === 'pending', () => `${where} already ${rec.state}: ${describeError(error)}`);
      return;
    case 'failed': {
      const batch = item.batch;
      // Version 2: a failed commit() settles only after the error handler returned.
      if (rec.state === 'pending' && batch !== null && model.errorHandlers[batch.lane] > 0) return;
      log.expect(INV.commit, rec.state === 'rejected' && error instanceof FlushFailedError, () => `${where} is ${rec.state} ${describeError(error)}`);
      if (!(error instanceof FlushFailedError) || batch === null) return;
      log.expect(INV.commit, error.cause === batch.errorGiven, () => `${where}: FlushFailedError.cause is not the error given to onFlushError`);
      log.expect(INV.commit, error.attempts === batch.attempts, () => `${where}: FlushFailedError.attempts ${error.attempts}, ${batch.id} made ${batch.attempts}`);
      return;
    }
    case 'drained': {
      const kind = error instanceof DataBufferError && !(error instanceof FlushFailedError) && !(error instanceof BufferFullError) && !(error instanceof BufferClosedError);
      log.expect(INV.commit, rec.state === 'rejected' && kind, () => `${where} is ${rec.state} ${describeError(error)}`);
      return;
    }
    case 'dropped':
      log.expect(INV.commit, rec.state === 'rejected' && error instanceof BufferFullError, () => `${where} is ${rec.state} ${describeError(error)}`);
      return;
    case 'waiting':
      log.expect(INV.commitRoom, now < rec.calledAt + rec.waitTimeout, () => `${where} still waits ${now - rec.calledAt} ms after the call, waitTimeout ${rec.waitTimeout}`);
      log.expect(INV.commitRoom, model.closedAt !== null || model.held() >= model.opts.capacity, () => `${where} still waits though the buffer holds ${model.held()}/${model.opts.capacity}`);
      return;
    default:
      if (error instanceof BufferFullError) {
        log.expect(INV.commitRoom, rec.settledAt - rec.calledAt === rec.waitTimeout, () => `${where} gave up waiting for room after ${rec.settledAt - rec.calledAt} ms, waitTimeout ${rec.waitTimeout}`);
      } else {
        log.expect(INV.close, error instanceof BufferClosedError && model.closedAt !== null && rec.settledAt >= model.closedAt, () => `${where} rejected with ${describeError(error)}`);
      }
  }
}

/** After close() and enough time: nothing held, every item in one place, every promise settled. */
export function checkFinal(w: World): void {
  const { model, log, buf } = w;
  const stats = buf.stats();
  log.expect(INV.close, w.closeState === 'resolved', () => `close() is still ${w.closeState}`);
  log.expect(INV.close, stats.pending === 0 && stats.inFlight === 0 && stats.keys === 0, () => `after close: pending ${stats.pending}, inFlight ${stats.inFlight}, keys ${stats.keys}`);
  for (const batch of model.batches.values()) {
    log.expect(INV.close, batch.state === 'flushed' || batch.state === 'failed', () => `batch ${batch.id} never ended (${batch.state})`);
  }
  const ends = ['flushed', 'failed', 'dropped', 'drained', 'refused', 'timedOut'];
  for (const item of model.items) log.expect(INV.onePlace, ends.includes(item.place), () => `item ${item.id} ended ${item.place}`);
  for (const rec of model.commits) log.expect(INV.commit, rec.state !== 'pending', () => `commit() of item ${rec.item.id} (${rec.item.place}) never settled`);
  for (const rec of model.flushes) log.expect(INV.flushReport, rec.state === 'resolved', () => `a flush() never resolved`);
}

/** Whether the run has nothing left to wait for. */
export function settled(w: World): boolean {
  const model = w.model;
  return (
    w.closeState !== 'pending' &&
    model.commits.every((rec) => rec.state !== 'pending') &&
    model.flushes.every((rec) => rec.state !== 'pending') &&
    model.errorHandlers.every((count) => count === 0)
  );
}
