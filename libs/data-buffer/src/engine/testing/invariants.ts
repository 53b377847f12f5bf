/*
 * The named invariants of the model-based test. Every check belongs to one of them, so a
 * failure says which rule of the contract broke, after which step, and how.
 *
 * `since` marks the rules that version 2 of the contract changed ("what pending and inFlight
 * mean", "a full buffer flushes"): an engine that still follows version 1 breaks them, and
 * FC_V2=0 leaves them out to see the rest pass on such an engine.
 */

export interface Invariant {
  readonly name: string;
  readonly since?: 'v2 pending/inFlight' | 'v2 full buffer';
}

const inv = (name: string, since?: Invariant['since']): Invariant => ({ name, since });

export const INV = {
  onePlace: inv('every item ends in exactly one place'),
  pendingSet: inv('pending is what was taken in and not handed over', 'v2 pending/inFlight'),
  inFlight: inv('inFlight is the running batch of each lane', 'v2 pending/inFlight'),
  keys: inv('stats().keys counts the keys with pending items', 'v2 pending/inFlight'),
  dumpOrder: inv('dump() lists lane by lane, oldest first'),
  drain: inv('drain() takes every pending item', 'v2 pending/inFlight'),
  balance: inv('the stats balance'),
  stats: inv('the stats count what the handlers saw'),
  batchShape: inv('a batch is the oldest run of its key or lane'),
  batchLimit: inv('no batch over its size limit'),
  reason: inv('a flush reason fits what triggered it'),
  timeTrigger: inv('no item waits past its interval'),
  sealedHanded: inv('a sealed batch on an idle lane is handed over at once'),
  fullFlush: inv('a full buffer flushes', 'v2 full buffer'),
  lanes: inv('lanes: unkeyed items round-robin, a key keeps its lane'),
  oneAtATime: inv('a lane runs one batch at a time, retries first'),
  orderPerKey: inv('what is written keeps the order per key and per lane'),
  retries: inv('retries: how many, and the wait before each'),
  flushTimeout: inv('an attempt fails at flushTimeout'),
  errorHandler: inv('onFlushError gets the batch once, with the last error'),
  overflow: inv('the overflow policy at capacity'),
  dropOldest: inv("drop-oldest evicts the lane's oldest pending item", 'v2 pending/inFlight'),
  commit: inv('commit() settles the way its item ended'),
  commitRoom: inv('commit() waits for room, up to waitTimeout'),
  flushReport: inv('flush() reports what it handed over, once it settled'),
  options: inv('updateOptions is all-or-nothing and takes effect'),
  close: inv('close() refuses new items and settles everything within its budget'),
  rest: inv('left alone, the buffer comes to rest'),
  internal: inv('the engine logs no internal error'),
} satisfies Record<string, Invariant>;

export interface Violation {
  readonly invariant: Invariant;
  readonly step: string;
  readonly message: string;
}

/** Collects violations; `report()` turns the first ones into one error that names the invariant. */
export class InvariantLog {
  readonly violations: Violation[] = [];
  step = 'setup';

  constructor(private readonly enabled: (invariant: Invariant) => boolean) {}

  /** Records a violation of `invariant` unless `holds`. */
  expect(invariant: Invariant, holds: boolean, message: () => string): void {
    if (holds || !this.enabled(invariant)) return;
    this.violations.push({ invariant, step: this.step, message: message() });
  }

  fail(invariant: Invariant, message: string): void {
    this.expect(invariant, false, () => message);
  }

  report(): void {
    if (this.violations.length === 0) return;
    const first = this.violations[0];
    const more = this.violations.slice(1, 8).map((v) => `\n  also ${label(v)} after ${v.step}: ${v.message}`);
    throw new Error(`${label(first)} broke after ${first.step}: ${first.message}${more.join('')}`);
  }
}

const label = (v: Violation): string => `invariant "${v.invariant.name}"${v.invariant.since ? ` [${v.invariant.since}]` : ''}`;
