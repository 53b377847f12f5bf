/**
 * The bare baseline of the coalescing scenario: a `Map<key, sum>` with the buffer's triggers.
 * An increment of a key already in the map adds to its sum; a new key takes a place, and a map
 * that reaches `maxSize` keys is swapped for a new one and handed to the handler; one unref'd
 * timer, armed by the first key of a map, flushes it after `interval`; a limit on keys held
 * (pending and in flight) throws like `overflow: 'reject'`.
 */
import { BareBufferFullError } from '../common/sink';

export class BareSumMap<K> {
  private sums = new Map<K, number>();
  private timer: NodeJS.Timeout | undefined;
  private held = 0;
  private inFlightBatches = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly maxSize: number,
    private readonly interval: number,
    private readonly limit: number,
    private readonly handler: (sums: Map<K, number>) => Promise<void>,
  ) {}

  add(key: K, n: number): void {
    const sums = this.sums;
    const sum = sums.get(key);
    if (sum !== undefined) {
      sums.set(key, sum + n);
      return;
    }
    if (this.held >= this.limit) throw new BareBufferFullError('bare sum map full');
    this.held++;
    sums.set(key, n);
    if (sums.size >= this.maxSize) {
      this.seal();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.interval);
      this.timer.unref();
    }
  }

  /** flush what is pending and wait for every flush in flight */
  flush(): Promise<void> {
    if (this.sums.size > 0) this.seal();
    if (this.inFlightBatches === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** keys pending */
  get keys(): number {
    return this.sums.size;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.sums.size > 0) this.seal();
  };

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const sums = this.sums;
    this.sums = new Map<K, number>();
    this.inFlightBatches++;
    this.handler(sums).then(
      () => this.settle(sums.size),
      () => this.settle(sums.size),
    );
  }

  private settle(count: number): void {
    this.held -= count;
    if (--this.inFlightBatches === 0 && this.idle.length > 0) {
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
    }
  }
}
