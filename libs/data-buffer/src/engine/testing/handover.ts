/*
 * What the model checks when a batch first reaches a handler (its first attempt, or the error
 * handler of a batch that shutdown gave up on before it ran): that it is the oldest run of its
 * stream, within its limits, for a reason that fits, on the right lane; then the model moves
 * its items from pending to in flight.
 */
import type { FlushContext } from '../../index';
import { FLUSH_REASONS, keyName, largestSizeLimit, smallestSizeLimit, soonestDeadline, streamOf } from './contract';
import type { Model, ModelBatch, ModelItem, Segment } from './buffer-model';
import { INV, type InvariantLog } from './invariants';

const ids = (items: readonly ModelItem[]): string => `[${items.map((item) => item.id).join(',')}]`;

export function takeBatch(model: Model, log: InvariantLog, got: ModelItem[], ctx: FlushContext, via: string, now: number): ModelBatch {
  const lane = ctx.partition;
  log.expect(INV.batchShape, got.length > 0, () => `${via} got an empty batch ${ctx.batchId}`);
  log.expect(INV.onePlace, new Set(got).size === got.length, () => `${via} got a batch with one item twice: ${ids(got)}`);
  if (ctx.key !== undefined) learnLane(model, log, ctx.key, lane, `${via} ${ctx.batchId}`);
  for (const item of got) {
    log.expect(INV.onePlace, item.place === 'pending', () => `${via} got item ${item.id}, which is ${item.place}, not pending`);
    log.expect(INV.batchShape, Object.is(item.key, ctx.key), () => `item ${item.id} of key ${keyName(item.key)} is in a batch of key ${keyName(ctx.key)}`);
    if (item.key === undefined && item.lane !== undefined) {
      log.expect(INV.lanes, item.lane === lane, () => `unkeyed item ${item.id} (the ${item.seq}th in) belongs to lane ${item.lane} by round-robin, but came in a batch of lane ${lane}`);
    }
  }

  const stream = model.streams.get(streamOf(ctx.key, ctx.key === undefined ? lane : undefined));
  const first: Segment | undefined = stream?.segments[0];
  const queued = stream === undefined ? [] : stream.segments.flatMap((segment) => segment.items);
  const prefix = queued.slice(0, got.length);
  log.expect(
    INV.batchShape,
    prefix.length === got.length && prefix.every((item, i) => item === got[i]),
    () => `${via} got ${ids(got)} in ${ctx.batchId}, but the oldest pending items of ${streamOf(ctx.key, lane)} are ${ids(queued)}`,
  );
  if (first !== undefined) {
    log.expect(
      first.sealed === 'full' ? INV.fullFlush : INV.batchShape,
      got.length <= first.items.length,
      () => `${via} got ${ids(got)}: it spans the seal (${first.sealed}) after ${ids(first.items)} of ${stream?.id}`,
    );
    checkLimitAndReason(model, log, got, ctx, first, via, now);
  }

  const batch: ModelBatch = {
    id: ctx.batchId,
    key: ctx.key,
    lane,
    reason: ctx.reason,
    items: got,
    vLo: first?.vLo ?? 0,
    vHi: first?.vHi ?? model.version,
    state: 'running',
    attempts: 0,
    attemptStart: now,
    lastEnd: now,
    lastError: undefined,
    errorGiven: undefined,
    unsure: false,
  };
  const last = got[got.length - 1];
  for (const item of got) {
    if (item.place === 'pending') {
      model.remove(item);
      model.inFlightCount++;
    }
    item.place = 'inFlight';
    item.batch = batch;
  }
  // What stays of the first segment is a batch of its own, opened after the last item handed over.
  if (first !== undefined && first.items.length > 0 && stream?.segments[0] === first && last !== undefined) {
    first.exact = false;
    first.openLo = Math.min(last.enteredAt, first.items[0].enteredAt);
    first.openHi = first.items[0].enteredAt;
    first.vLo = Math.min(last.version, first.items[0].version);
    first.vHi = first.items[0].version;
  }
  model.batches.set(batch.id, batch);
  return batch;
}

function checkLimitAndReason(model: Model, log: InvariantLog, got: ModelItem[], ctx: FlushContext, first: Segment, via: string, now: number): void {
  const n = got.length;
  const limit = Math.max(...model.over(first.vLo, first.vHi, largestSizeLimit));
  log.expect(INV.batchLimit, n <= limit, () => `${via} got ${n} items in ${ctx.batchId}: more than maxSize + maxSizeJitter (${limit})`);
  const reason = ctx.reason as string;
  log.expect(INV.reason, FLUSH_REASONS.includes(reason), () => `unknown flush reason ${String(reason)}`);
  if (reason === 'commit') log.fail(INV.reason, `batch ${ctx.batchId} has reason 'commit' but no commitDelay is set`);
  if (reason === 'size') {
    const least = Math.min(...model.over(first.vLo, first.vHi, smallestSizeLimit));
    log.expect(
      INV.reason,
      // A sealed batch still waiting may lose items to drop-oldest afterwards.
      n >= least || first.fullPossible || model.dropped > 0,
      () => `batch ${ctx.batchId} of ${n} items has reason 'size', but maxSize was at least ${least} and the buffer never filled up`,
    );
  }
  if (reason === 'interval') {
    const soonest = first.openLo + Math.min(...model.over(first.vLo, first.vHi, soonestDeadline));
    log.expect(INV.reason, now >= soonest, () => `batch ${ctx.batchId} has reason 'interval' at t=${now}, its interval ends at t=${soonest} at the earliest`);
  }
  if (reason === 'manual') log.expect(INV.reason, got[0]?.firstFlush != null, () => `batch ${ctx.batchId} has reason 'manual' but no flush() found its items pending`);
  if (reason === 'shutdown') log.expect(INV.reason, model.closedAt !== null, () => `batch ${ctx.batchId} has reason 'shutdown' before close()`);
  if (first.sealed !== null && first.sealedExact && n === first.items.length) {
    const expected = first.sealed === 'full' ? 'size' : first.sealed;
    const invariant = first.sealed === 'full' ? INV.fullFlush : INV.reason;
    log.expect(invariant, reason === expected, () => `batch ${ctx.batchId} was sealed by ${first.sealed} but has reason '${reason}'`);
  }
  const metas = model.over(first.vLo, first.vHi, (o) => o.meta);
  log.expect(INV.options, metas.some((meta) => Object.is(meta, ctx.meta)), () => `ctx.meta ${String(ctx.meta)} is none of the metas in force (${metas.join(',')})`);
}

export function learnLane(model: Model, log: InvariantLog, key: NonNullable<FlushContext['key']>, lane: number, where: string): void {
  const known = model.keyLane.get(key);
  if (known === undefined) model.keyLane.set(key, lane);
  else log.expect(INV.lanes, known === lane, () => `key ${keyName(key)} went to lane ${known} and then to lane ${lane} (${where})`);
}
