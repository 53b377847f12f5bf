/*
 * The bench of the version-2 property spec: one DataBuffer under fake timers with handlers
 * that record every attempt and every error-handler call (with the stats seen at that moment),
 * and the checks every family shares: the balance of the stats, one place per item, limits.
 */
import { DataBuffer } from '../data-buffer';
import type { BufferOptions } from '../buffer-options.interface';
import type { BufferStats } from '../buffer-stats.interface';
import type { FlushContext } from '../flush-context.interface';

export const START_TIME = 1_700_000_000_000;
export const SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 1;
/** The run count of one family: FC_RUNS when set. */
export const runs = (byDefault: number): number => (process.env.FC_RUNS !== undefined ? Number(process.env.FC_RUNS) : byDefault);

/** One handler attempt as the handler saw it. */
export interface Call<T> {
  items: T[];
  id: string;
  attempt: number;
  key: unknown;
  partition: number;
  reason: string;
  at: number;
  /** stats().inFlight when the handler was called. */
  inFlight: number;
}

/** One `onFlushError` call. */
export interface ErrorCall<T> {
  error: unknown;
  items: T[];
  id: string;
  attempt: number;
  at: number;
}

/** The part of a batch id after the buffer's prefix: `0`, `3.2.1`. */
export const idOf = (ctx: FlushContext): string => ctx.batchId.slice(ctx.batchId.lastIndexOf(':') + 1);

/** `inserted === flushed + failed + dropped + drained + merged + pending + inFlight`. */
export function expectBalanced(stats: BufferStats, where: string): void {
  const sum = stats.flushed + stats.failed + stats.dropped + stats.drained + stats.merged + stats.pending + stats.inFlight;
  if (stats.inserted !== sum) throw new Error(`stats do not balance ${where}: ${JSON.stringify(stats)}`);
}

export interface BenchHooks<T> {
  onFlush: (items: T[], ctx: FlushContext, call: Call<T>) => unknown;
  onFlushError?: (error: unknown, items: T[], ctx: FlushContext) => unknown;
}

export class Bench<T> {
  readonly buffer: DataBuffer<T>;
  readonly calls: Call<T>[] = [];
  readonly errors: ErrorCall<T>[] = [];
  readonly logged: string[] = [];

  constructor(options: Omit<BufferOptions<T>, 'name'>, hooks: BenchHooks<T>) {
    this.buffer = new DataBuffer<T>(
      { name: 'v2-prop', ...options },
      {
        onFlush: (items, ctx) => {
          this.balanced(`in the handler of ${idOf(ctx)}#${ctx.attempt}`);
          const call: Call<T> = {
            items: [...items],
            id: idOf(ctx),
            attempt: ctx.attempt,
            key: ctx.key,
            partition: ctx.partition,
            reason: ctx.reason,
            at: Date.now(),
            inFlight: this.buffer.stats().inFlight,
          };
          this.calls.push(call);
          return hooks.onFlush(items, ctx, call);
        },
        onFlushError: (error, items, ctx) => {
          this.balanced(`in the error handler of ${idOf(ctx)}`);
          this.errors.push({ error, items: [...items], id: idOf(ctx), attempt: ctx.attempt, at: Date.now() });
          return hooks.onFlushError?.(error, items, ctx);
        },
        logger: { error: (m) => this.logged.push(m), warn: (m) => this.logged.push(m) },
      },
    );
    this.buffer.start();
  }

  balanced(where: string): void {
    expectBalanced(this.buffer.stats(), where);
  }

  /** Advances the fake clock (microtasks included) and checks the balance after it. */
  async advance(ms: number, where: string): Promise<void> {
    await jest.advanceTimersByTimeAsync(ms);
    this.balanced(where);
  }

  /** Lets time run until nothing is pending or in flight (at most `limit` ms). */
  async rest(step = 50, limit = 60_000): Promise<void> {
    for (let t = 0; t <= limit; t += step) {
      const stats = this.buffer.stats();
      if (stats.pending === 0 && stats.inFlight === 0) return this.advance(0, 'at rest');
      await this.advance(step, 'coming to rest');
    }
    throw new Error(`the buffer did not come to rest: ${JSON.stringify(this.buffer.stats())}`);
  }
}

/** Runs `body` under fake timers starting at START_TIME, restoring real timers afterwards. */
export async function underFakeTimers(body: () => Promise<void>): Promise<void> {
  jest.useFakeTimers({ now: START_TIME });
  try {
    await body();
  } finally {
    jest.clearAllTimers();
    jest.useRealTimers();
  }
}

/** Each element of `seen` equals one of `expected` and vice versa, counted with multiplicity (by identity). */
export function expectOnePlace<T>(all: readonly T[], places: Record<string, readonly T[]>): void {
  const count = new Map<T, string[]>();
  for (const item of all) count.set(item, []);
  for (const [place, items] of Object.entries(places)) {
    for (const item of items) {
      const where = count.get(item);
      if (where === undefined) throw new Error(`${place} holds an item never inserted: ${JSON.stringify(item)}`);
      where.push(place);
    }
  }
  for (const [item, where] of count) {
    if (where.length !== 1) throw new Error(`item ${JSON.stringify(item)} ended in ${where.length} places (${where.join(', ')})`);
  }
}

/** How a promise settled, once it did. */
export interface Settled {
  state: 'pending' | 'resolved' | 'rejected';
  error?: unknown;
}

export function watch(promise: Promise<unknown>, onSettle?: (s: Settled) => void): Settled {
  const s: Settled = { state: 'pending' };
  promise.then(
    () => {
      s.state = 'resolved';
      onSettle?.(s);
    },
    (error: unknown) => {
      s.state = 'rejected';
      s.error = error;
      onSettle?.(s);
    },
  );
  return s;
}
