/*
 * One run of the model-based test: a real DataBuffer under fake timers, the model beside it,
 * and the handlers that tell the model what the buffer did (each attempt, each error handler
 * call, each drop). The commands live in commands.ts, the checks between steps in checks.ts.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { DataBuffer, FlushTimeoutError, ShutdownTimeoutError, type FlushContext } from '../../index';
import { Model, type ModelBatch, type ModelItem } from './buffer-model';
import { attemptsAllowed, DROP_CHANNEL, describeError, keyName, messageOf, streamOf, waitBeforeRetry, withDefaults } from './contract';
import { learnLane, takeBatch } from './handover';
import { INV, type Invariant, InvariantLog } from './invariants';
import type { Key, Scenario } from './scenario';

export interface DropSeen {
  readonly key: Key;
  readonly partition: number;
  readonly overflow: string;
}

interface Attempt {
  readonly batch: ModelBatch;
  readonly attempt: number;
  readonly start: number;
  ended: boolean;
}

let runCounter = 0;

export class World {
  readonly name = `prop-${++runCounter}`;
  readonly buf: DataBuffer<{ id: number }>;
  readonly model: Model;
  readonly log: InvariantLog;
  readonly logs: string[] = [];
  readonly attempts: (Attempt | null)[];
  dropMessages = 0;
  /** Drop messages published during the engine call in progress. */
  probe: DropSeen[] | null = null;
  closeTimeout = 0;
  closeState: 'none' | 'pending' | 'resolved' | 'rejected' = 'none';
  private behaviourCursor = 0;
  private errorCursor = 0;
  private readonly onDropMessage = (message: unknown) => this.onDrop(message as DropSeen & { buffer: string });

  constructor(
    private readonly scenario: Scenario,
    enabled: (invariant: Invariant) => boolean,
  ) {
    this.log = new InvariantLog(enabled);
    const partitions = (scenario.options.partitions as number | undefined) ?? 1;
    this.model = new Model(withDefaults(scenario.options), partitions);
    this.attempts = Array.from({ length: partitions }, () => null);
    this.buf = new DataBuffer<{ id: number }>({ name: this.name, ...scenario.options } as never, {
      onFlush: (items, ctx) => this.onFlush(items, ctx),
      onFlushError: (error, items, ctx) => this.onFlushError(error, items, ctx),
      logger: {
        error: (message) => this.logs.push(`error: ${message}`),
        warn: (message) => this.logs.push(`warn: ${message}`),
      },
    });
    diagnosticsChannel.subscribe(DROP_CHANNEL, this.onDropMessage);
    this.buf.start();
  }

  dispose(): void {
    diagnosticsChannel.unsubscribe(DROP_CHANNEL, this.onDropMessage);
  }

  item(obj: { id: number } | undefined, via: string): ModelItem | undefined {
    const item = obj === undefined ? undefined : this.model.items[obj.id];
    if (item === undefined || item.obj !== obj) this.log.fail(INV.onePlace, `${via} holds an item that was never inserted (${JSON.stringify(obj)})`);
    return item === undefined || item.obj !== obj ? undefined : item;
  }

  items(objs: readonly { id: number }[], via: string): ModelItem[] {
    return objs.map((obj) => this.item(obj, via)).filter((item): item is ModelItem => item !== undefined);
  }

  /** Lets the model catch up: commits that got room since the last look, and the time trigger. */
  sync(): void {
    const model = this.model;
    const got = this.buf.stats().inserted - model.accepted;
    const waiters = model.waiters().filter((rec) => rec.calledAt + rec.waitTimeout > model.lastRoomAt);
    this.log.expect(INV.stats, got >= 0 && got <= waiters.length, () => `stats().inserted grew by ${got} with ${waiters.length} commit(s) waiting for room`);
    for (const rec of waiters.slice(0, Math.max(0, got))) {
      model.accepted++;
      model.enter(rec.item, Math.max(model.lastRoomAt, rec.calledAt));
      this.afterEntry();
    }
    model.advanceTo(Date.now());
  }

  /** The full-buffer rule of version 2, after an item took its place. */
  afterEntry(): void {
    const model = this.model;
    if (model.held() < model.opts.capacity) return;
    const busy = model.somethingSealedOrInFlight();
    if (busy === false) model.cut(model.streams.values(), 'full');
    else if (busy === undefined) model.fogFull();
  }

  // ---- the handlers ------------------------------------------------------------------

  private onFlush(objs: { id: number }[], ctx: FlushContext): unknown {
    const now = Date.now();
    const model = this.model;
    this.sync();
    this.log.expect(INV.lanes, Number.isInteger(ctx.partition) && ctx.partition >= 0 && ctx.partition < model.partitions, () => `ctx.partition ${ctx.partition} is out of range`);
    this.log.expect(INV.stats, ctx.buffer === this.name, () => `ctx.buffer is ${ctx.buffer}`);
    const got = this.items(objs, 'onFlush');
    let batch = model.batches.get(ctx.batchId);
    const running = model.running[ctx.partition] ?? null;
    if (batch === undefined) {
      this.log.expect(INV.oneAtATime, running === null, () => `lane ${ctx.partition} started ${ctx.batchId} while ${running?.id} (${running?.state}) was not over`);
      this.log.expect(INV.retries, ctx.attempt === 1, () => `new batch ${ctx.batchId} starts at attempt ${ctx.attempt}`);
      batch = takeBatch(model, this.log, got, ctx, 'onFlush', now);
      model.running[ctx.partition] = batch;
    } else {
      this.checkRetry(batch, got, ctx, now);
      batch.unsure = false;
      if (model.running[batch.lane] === null) model.running[batch.lane] = batch;
    }
    batch.attempts = ctx.attempt;
    batch.attemptStart = now;
    batch.state = 'running';
    return this.behave(batch, ctx, now);
  }

  private checkRetry(batch: ModelBatch, got: ModelItem[], ctx: FlushContext, now: number): void {
    const model = this.model;
    const log = this.log;
    log.expect(INV.oneAtATime, batch.state === 'retryWait', () => `batch ${batch.id} attempted again while ${batch.state}`);
    log.expect(INV.oneAtATime, model.running[batch.lane] === batch, () => `lane ${batch.lane} retried ${batch.id} while it runs ${model.running[batch.lane]?.id}`);
    log.expect(INV.retries, ctx.attempt === batch.attempts + 1, () => `batch ${batch.id}: attempt ${ctx.attempt} follows attempt ${batch.attempts}`);
    log.expect(INV.retries, got.length === batch.items.length && got.every((item, i) => item === batch.items[i]), () => `retry of ${batch.id} got other items than its first attempt`);
    log.expect(INV.retries, Object.is(ctx.key, batch.key) && ctx.partition === batch.lane && ctx.reason === batch.reason, () => `batch ${batch.id}: key, lane or reason changed between attempts`);
    const allowed = Math.max(...model.over(batch.vLo, batch.vHi, attemptsAllowed));
    log.expect(INV.retries, ctx.attempt <= allowed, () => `batch ${batch.id}: attempt ${ctx.attempt}, but retries + 1 is ${allowed}`);
    const waits = model.over(batch.vLo, batch.vHi, (o) => waitBeforeRetry(o, batch.attempts));
    log.expect(INV.retries, waits.includes(now - batch.lastEnd), () => `batch ${batch.id}: retry ${batch.attempts} started ${now - batch.lastEnd} ms after the failure, the contract says ${[...new Set(waits)].join(' or ')}`);
  }

  private behave(batch: ModelBatch, ctx: FlushContext, now: number): unknown {
    const attempt: Attempt = { batch, attempt: ctx.attempt, start: now, ended: false };
    this.attempts[batch.lane] = attempt;
    ctx.signal.addEventListener('abort', () => this.onAbort(attempt, ctx.signal.reason), { once: true });
    const behaviour = this.scenario.behaviours[this.behaviourCursor++ % this.scenario.behaviours.length];
    switch (behaviour.kind) {
      case 'ok':
        this.attemptEnded(attempt, false, undefined);
        return undefined;
      case 'throw': {
        const error = new Error(`thrown by ${batch.id}#${attempt.attempt}`);
        this.attemptEnded(attempt, true, error);
        throw error;
      }
      case 'okLater':
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            if (!ctx.signal.aborted) this.attemptEnded(attempt, false, undefined);
            resolve();
          }, behaviour.ms),
        );
      case 'rejectLater':
        return new Promise<void>((_, reject) =>
          setTimeout(() => {
            const error = new Error(`rejected by ${batch.id}#${attempt.attempt}`);
            if (!ctx.signal.aborted) this.attemptEnded(attempt, true, error);
            reject(error);
          }, behaviour.ms),
        );
      case 'hang':
        return new Promise<void>(() => undefined);
    }
  }

  private onAbort(attempt: Attempt, reason: unknown): void {
    const batch = attempt.batch;
    const now = Date.now();
    if (attempt.ended) {
      this.log.expect(INV.flushTimeout, reason instanceof ShutdownTimeoutError, () => `signal of ${batch.id}#${attempt.attempt} aborted after the attempt ended (${describeError(reason)})`);
      return;
    }
    if (reason instanceof FlushTimeoutError) {
      const limits = this.model.over(batch.vLo, batch.vHi, (o) => o.flushTimeout);
      this.log.expect(INV.flushTimeout, limits.includes(now - attempt.start), () => `attempt ${batch.id}#${attempt.attempt} timed out after ${now - attempt.start} ms, flushTimeout was ${limits.join(' or ')}`);
      this.attemptEnded(attempt, true, reason);
    } else if (reason instanceof ShutdownTimeoutError) {
      attempt.ended = true;
      if (this.attempts[batch.lane] === attempt) this.attempts[batch.lane] = null;
    } else {
      this.log.fail(INV.flushTimeout, `signal of ${batch.id}#${attempt.attempt} aborted with ${describeError(reason)}`);
    }
  }

  private attemptEnded(attempt: Attempt, failed: boolean, error: unknown): void {
    if (attempt.ended) return;
    attempt.ended = true;
    const model = this.model;
    const batch = attempt.batch;
    const now = Date.now();
    if (this.attempts[batch.lane] === attempt) this.attempts[batch.lane] = null;
    batch.lastEnd = now;
    if (!failed) {
      batch.state = 'flushed';
      for (const item of batch.items) {
        item.place = 'flushed';
        this.written(item);
      }
      model.inFlightCount -= batch.items.length;
      model.flushed += batch.items.length;
      model.successes++;
      model.lastFlushAt = now;
      model.lastRoomAt = now;
      if (model.running[batch.lane] === batch) model.running[batch.lane] = null;
      return;
    }
    batch.lastError = error;
    const allowed = model.over(batch.vLo, batch.vHi, attemptsAllowed);
    if (attempt.attempt < Math.max(...allowed)) {
      batch.state = 'retryWait';
      model.retries++;
      batch.unsure = attempt.attempt >= Math.min(...allowed);
    } else {
      batch.state = 'failing';
    }
  }

  /** What is written keeps the order of insertion per key and, for unkeyed items, per lane. */
  private written(item: ModelItem): void {
    const stream = streamOf(item.key, item.key === undefined ? item.lane : undefined);
    const last = this.model.written.get(stream) ?? 0;
    this.log.expect(INV.orderPerKey, item.seq > last, () => `in ${stream}, item ${item.id} (in ${item.seq}th) was written after an item that came in ${last}th`);
    this.model.written.set(stream, Math.max(last, item.seq));
  }

  private onFlushError(error: unknown, objs: { id: number }[], ctx: FlushContext): unknown {
    const now = Date.now();
    const model = this.model;
    const log = this.log;
    const got = this.items(objs, 'onFlushError');
    let batch = model.batches.get(ctx.batchId);
    const shutdown = error instanceof ShutdownTimeoutError;
    if (shutdown) {
      const due = (model.closedAt ?? NaN) + this.closeTimeout;
      log.expect(INV.close, now >= due, () => `ShutdownTimeoutError for ${ctx.batchId} at t=${now}, before the budget ran out at t=${due}`);
    }
    if (batch === undefined) {
      this.sync();
      log.expect(INV.errorHandler, shutdown, () => `onFlushError for ${ctx.batchId}, a batch never attempted, with ${describeError(error)}`);
      batch = takeBatch(model, log, got, ctx, 'onFlushError', now);
    } else {
      log.expect(INV.errorHandler, batch.state !== 'flushed' && batch.state !== 'failed', () => `onFlushError for ${batch?.id}, which already ended (${batch?.state})`);
      log.expect(INV.errorHandler, got.length === batch.items.length && got.every((item, i) => item === batch?.items[i]), () => `onFlushError for ${batch?.id} got other items than the handler`);
      log.expect(INV.errorHandler, Object.is(ctx.key, batch.key) && ctx.partition === batch.lane, () => `onFlushError ctx of ${batch?.id} has another key or lane`);
      if (!shutdown) this.checkGaveUp(batch, error, ctx);
      const attempt = this.attempts[batch.lane];
      if (attempt !== null && attempt.batch === batch) attempt.ended = true;
    }
    this.failBatch(batch, error, now);
    this.sync();
    const behaviour = this.scenario.errorBehaviours[this.errorCursor++ % this.scenario.errorBehaviours.length];
    const lane = batch.lane;
    if (behaviour.kind === 'throw') {
      model.errorHandlers[lane]--;
      throw new Error('dead-letter store is down');
    }
    if (behaviour.kind === 'ok') {
      model.errorHandlers[lane]--;
      return undefined;
    }
    return new Promise<void>((resolve) =>
      setTimeout(() => {
        model.errorHandlers[lane]--;
        resolve();
      }, behaviour.ms),
    );
  }

  private checkGaveUp(batch: ModelBatch, error: unknown, ctx: FlushContext): void {
    const model = this.model;
    const allowed = model.over(batch.vLo, batch.vHi, attemptsAllowed);
    if (batch.state === 'retryWait' && batch.unsure) {
      // Its options allowed either: it was the last attempt after all.
      model.retries--;
      batch.state = 'failing';
    }
    this.log.expect(INV.errorHandler, batch.state === 'failing', () => `onFlushError for ${batch.id} while it is ${batch.state}`);
    this.log.expect(INV.errorHandler, error === batch.lastError, () => `onFlushError for ${batch.id} got ${describeError(error)}, the last attempt failed with ${describeError(batch.lastError)}`);
    this.log.expect(INV.retries, allowed.includes(batch.attempts), () => `batch ${batch.id} gave up after ${batch.attempts} attempt(s), retries + 1 is ${allowed.join(' or ')}`);
    this.log.expect(INV.errorHandler, ctx.attempt === batch.attempts, () => `onFlushError ctx.attempt ${ctx.attempt}, the last attempt was ${batch.attempts}`);
  }

  private failBatch(batch: ModelBatch, error: unknown, now: number): void {
    const model = this.model;
    batch.unsure = false;
    batch.state = 'failed';
    batch.errorGiven = error;
    for (const item of batch.items) if (item.place === 'inFlight') item.place = 'failed';
    model.inFlightCount -= batch.items.length;
    model.failed += batch.items.length;
    model.lastError = { message: messageOf(error), at: now };
    model.lastRoomAt = now;
    if (model.running[batch.lane] === batch) model.running[batch.lane] = null;
    model.errorHandlers[batch.lane]++;
  }

  private onDrop(message: DropSeen & { buffer: string }): void {
    if (message.buffer !== this.name) return;
    this.dropMessages++;
    const fields = Object.keys(message).sort().join(',');
    this.log.expect(INV.overflow, fields === 'buffer,key,overflow,partition', () => `drop message has fields ${fields}`);
    this.log.expect(INV.overflow, message.overflow === this.model.opts.overflow, () => `drop message says ${message.overflow}, overflow is ${this.model.opts.overflow}`);
    const inRange = Number.isInteger(message.partition) && message.partition >= 0 && message.partition < this.model.partitions;
    this.log.expect(INV.overflow, inRange, () => `drop message names lane ${message.partition}`);
    if (inRange && message.key !== undefined) learnLane(this.model, this.log, message.key, message.partition, `drop of key ${keyName(message.key)}`);
    this.probe?.push({ key: message.key, partition: message.partition, overflow: message.overflow });
  }
}
