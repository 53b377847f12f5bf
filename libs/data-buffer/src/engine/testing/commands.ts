/*
 * The commands of the model-based test: each calls the real buffer, says what the contract
 * expects of that call, and moves the model the way the call moved the buffer.
 */
import {
  BufferClosedError,
  BufferFullError,
  InvalidBufferOptionsError,
  type FlushReport,
} from '../../index';
import type { CommitRec, FlushRec, ModelItem, Stream } from './buffer-model';
import { describeError, keyName, streamOf } from './contract';
import { INV } from './invariants';
import type { Key } from './scenario';
import type { DropSeen, World } from './world';

const now = (): number => Date.now();
const idSet = (objs: readonly { id: number }[]): Set<number> => new Set(objs.map((obj) => obj.id));

/** insert (n = 1, atomic false) and insertMany (atomic under 'reject'). */
export function insertItems(w: World, key: Key, n: number, many: boolean, asIterable = false): void {
  const { model, log, buf } = w;
  w.sync();
  const items = Array.from({ length: n }, () => model.newItem(key, 'refused'));
  const objs = items.map((item) => item.obj);
  const held = model.held();
  const capacity = model.opts.capacity;
  const policy = model.opts.overflow;
  const before = idSet(buf.dump());
  const drops: DropSeen[] = [];
  w.probe = drops;
  let thrown: unknown = null;
  try {
    if (!many) buf.insert(objs[0], key);
    else buf.insertMany(asIterable ? (function* () { yield* objs; })() : objs, key);
  } catch (error) {
    thrown = error ?? new Error('undefined thrown');
  } finally {
    w.probe = null;
  }
  const call = `${many ? 'insertMany' : 'insert'}(${many ? `${n} items, ` : ''}${keyName(key)})`;
  if (model.closedAt !== null) {
    log.expect(INV.close, thrown instanceof BufferClosedError, () => `${call} after close() threw ${describeError(thrown)}`);
    return;
  }
  const refuse = policy === 'reject' && held + (many ? n : 1) > capacity && n > 0;
  if (refuse || thrown !== null) {
    log.expect(INV.overflow, refuse && thrown instanceof BufferFullError, () => `${call} holding ${held}/${capacity} under ${policy} threw ${describeError(thrown)}`);
    log.expect(INV.overflow, drops.length === 0, () => `a refused ${call} published ${drops.length} drop(s)`);
    if (held >= capacity && model.somethingSealedOrInFlight() !== true) model.fogFull();
    return;
  }
  let unsure = false;
  let expectedDrops = 0;
  const victims = new Set<ModelItem>();
  for (const item of items) {
    model.accepted++;
    if (unsure) continue;
    if (model.held() < model.opts.capacity) {
      model.enter(item, now());
      w.afterEntry();
      continue;
    }
    expectedDrops++;
    const lane = model.nextLaneFor(key) ?? drops[expectedDrops - 1]?.partition;
    const victim = policy === 'drop-newest' || lane === undefined ? null : model.oldestPendingOfLane(lane);
    if (victim === undefined || (policy === 'drop-oldest' && n > 1)) {
      unsure = true;
      continue;
    }
    if (victim !== null) victims.add(victim);
    if (policy === 'drop-newest') {
      item.place = 'dropped';
      model.dropped++;
      if (model.somethingSealedOrInFlight() !== true) model.fogFull();
    } else unsure = true; // checked against the prediction below, then follows what the buffer did
  }
  const after = idSet(buf.dump());
  const gone = [...before].filter((id) => !after.has(id)).map((id) => model.items[id]);
  if (policy === 'drop-oldest' && n === 1 && expectedDrops === 1) {
    const expected = [...victims];
    log.expect(
      INV.dropOldest,
      // An empty prediction: the model lost track of which items wait in sealed batches of a busy lane.
      expected.length === 0 || (expected.length === gone.length && expected.every((victim) => gone.includes(victim))),
      () => `${call} at capacity evicted [${gone.map((i) => `${i.id} (${streamOf(i.key, i.lane)})`).join(', ')}], the oldest pending of the lane were [${expected.map((i) => `${i.id} (${streamOf(i.key, i.lane)})`).join(', ')}]`,
    );
    log.expect(INV.overflow, drops.length === 1, () => `${call} at capacity under drop-oldest dropped ${drops.length} item(s)`);
  }
  if (unsure) {
    // Follow what the buffer did: evicted items left dump(); new items that did not come in were dropped.
    let budget = drops.length;
    const evicted = [...model.pendingItems()].filter((item) => !after.has(item.id)).sort((a, b) => a.seq - b.seq);
    for (const item of evicted) if (budget > 0 && (before.has(item.id) || items.includes(item))) budget--, drop(w, item);
    let newDropped = budget;
    for (const item of items) {
      if (item.place !== 'refused') continue;
      if (!after.has(item.id) && newDropped > 0) {
        newDropped--;
        item.place = 'dropped';
        model.dropped++;
      } else {
        model.enter(item, now());
        w.afterEntry();
      }
    }
    return;
  }
  log.expect(INV.overflow, drops.length === expectedDrops, () => `${call} holding ${held}/${capacity} under ${policy} dropped ${drops.length} item(s), the contract says ${expectedDrops}`);
  for (const drop of drops) log.expect(INV.overflow, Object.is(drop.key, key) || policy === 'drop-oldest', () => `a drop of ${call} names key ${keyName(drop.key)}`);
}

function drop(w: World, item: ModelItem): void {
  w.model.remove(item);
  item.place = 'dropped';
  w.model.dropped++;
}

export function commit(w: World, key: Key): void {
  const { model, log, buf } = w;
  w.sync();
  const item = model.newItem(key, 'waiting');
  const rec: CommitRec = { item, calledAt: now(), waitTimeout: model.opts.waitTimeout, state: 'pending', error: undefined, settledAt: NaN };
  item.commit = rec;
  model.commits.push(rec);
  const closed = model.closedAt !== null;
  const room = model.held() < model.opts.capacity && model.waiters().length === 1;
  const inserted = buf.stats().inserted;
  const promise = buf.commit(item.obj, key);
  const took = buf.stats().inserted - inserted;
  promise.then(
    () => {
      rec.state = 'resolved';
      rec.settledAt = now();
      log.expect(INV.commit, item.place === 'flushed', () => `commit() of item ${item.id} resolved while the item is ${item.place}`);
    },
    (error: unknown) => {
      rec.state = 'rejected';
      rec.error = error;
      rec.settledAt = now();
      if (item.place === 'waiting') item.place = 'refused';
    },
  );
  if (closed) {
    log.expect(INV.close, took === 0, () => `commit() after close() inserted its item`);
    return;
  }
  log.expect(INV.commitRoom, took === (room ? 1 : 0), () => `commit() holding ${model.held()}/${model.opts.capacity} ${took === 1 ? 'took its item in at once' : 'did not take its item in'}`);
  if (took === 1) {
    model.accepted++;
    model.enter(item, now());
    w.afterEntry();
  }
}

export function flush(w: World, key: Key): void {
  const { model, log, buf } = w;
  w.sync();
  const pending = key === undefined ? [...model.pendingItems()] : model.pendingOfKey(key);
  const running = model.running.flatMap((batch) => (batch === null ? [] : batch.items));
  const rec: FlushRec = { key, closedAtCall: model.closedAt !== null, pending, running, state: 'pending', report: null };
  model.flushes.push(rec);
  if (!rec.closedAtCall) {
    for (const item of pending) item.firstFlush ??= rec;
    const streams: Stream[] = key === undefined ? [...model.streams.values()] : [model.streamFor(key, undefined)];
    model.cut(streams, 'manual');
  }
  buf.flush(key).then(
    (report) => {
      rec.state = 'resolved';
      rec.report = report;
      checkReport(w, rec, report);
    },
    (error: unknown) => {
      rec.state = 'rejected';
      log.fail(INV.flushReport, `flush() rejected: ${describeError(error)}`);
    },
  );
}

function checkReport(w: World, rec: FlushRec, report: FlushReport): void {
  const log = w.log;
  const label = `flush(${rec.key === undefined ? '' : keyName(rec.key)})`;
  if (rec.closedAtCall) {
    log.expect(INV.close, report.batches === 0 && report.items === 0 && report.failed === 0, () => `${label} after close() reported ${JSON.stringify(report)}`);
    return;
  }
  const open = ['waiting', 'pending', 'inFlight'];
  for (const item of [...rec.pending, ...rec.running]) {
    log.expect(INV.flushReport, !open.includes(item.place), () => `${label} resolved while item ${item.id} is still ${item.place}`);
  }
  if (rec.pending.some((item) => item.place === 'dropped' || item.place === 'drained')) return;
  const mine = rec.pending.filter((item) => item.firstFlush === rec && item.batch?.reason === 'manual');
  const batches = new Set(mine.map((item) => item.batch));
  const failed = mine.filter((item) => item.place === 'failed').length;
  log.expect(
    INV.flushReport,
    report.items === mine.length && report.batches === batches.size && report.failed === failed,
    () => `${label} reported ${JSON.stringify(report)}; it sealed ${batches.size} batch(es) of ${mine.length} item(s), ${failed} failed`,
  );
}

export function drain(w: World, key: Key): void {
  const { model, log, buf } = w;
  w.sync();
  const expected = key === undefined ? [...model.pendingItems()] : model.pendingOfKey(key);
  const out = w.items(buf.drain(key), 'drain()');
  const outSet = new Set(out);
  log.expect(
    INV.drain,
    out.length === expected.length && expected.every((item) => outSet.has(item)),
    () => `drain(${key === undefined ? '' : keyName(key)}) returned [${out.map((i) => i.id).join(',')}], pending were [${expected.map((i) => i.id).join(',')}]`,
  );
  for (const item of out) {
    log.expect(INV.onePlace, item.place === 'pending', () => `drain() returned item ${item.id}, which is ${item.place}`);
    if (item.place !== 'pending') continue;
    model.remove(item);
    item.place = 'drained';
    model.drained++;
  }
  for (const stream of model.streams.values()) stream.ghost = null;
  model.lastRoomAt = now();
  w.sync();
}

export function update(w: World, patch: Record<string, unknown>, invalid: Record<string, unknown> | null): void {
  const { model, log, buf } = w;
  w.sync();
  const full = invalid === null ? patch : { ...patch, ...invalid };
  const capacity = buf.stats().capacity;
  let thrown: unknown = null;
  try {
    buf.updateOptions(full as never);
  } catch (error) {
    thrown = error ?? new Error('undefined thrown');
  }
  if (invalid !== null) {
    log.expect(INV.options, thrown instanceof InvalidBufferOptionsError, () => `updateOptions(${JSON.stringify(full)}) threw ${describeError(thrown)}`);
    log.expect(INV.options, buf.stats().capacity === capacity, () => `a refused updateOptions changed capacity to ${buf.stats().capacity}`);
    return;
  }
  log.expect(INV.options, thrown === null, () => `updateOptions(${JSON.stringify(patch)}) threw ${describeError(thrown)}`);
  if (thrown !== null) return;
  model.versions.push({ ...model.opts, ...patch });
  log.expect(INV.options, buf.stats().capacity === model.opts.capacity, () => `capacity is ${buf.stats().capacity} after updateOptions(${JSON.stringify(patch)})`);
  model.lastRoomAt = now();
  w.sync();
}

export function close(w: World, timeout: number): void {
  const { model, log, buf } = w;
  w.sync();
  model.closedAt = now();
  w.closeTimeout = timeout;
  w.closeState = 'pending';
  model.cut(model.streams.values(), 'shutdown');
  buf.close(timeout).then(
    () => (w.closeState = 'resolved'),
    (error: unknown) => {
      w.closeState = 'rejected';
      log.fail(INV.close, `close() rejected: ${describeError(error)}`);
    },
  );
}

/** After close(): every way in refuses, flush() reports nothing. */
export function probeClosed(w: World): void {
  insertItems(w, undefined, 1, false);
  insertItems(w, 'a', 1, true);
  commit(w, 1);
  flush(w, undefined);
}
