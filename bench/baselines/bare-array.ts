/**
 * The bare-array baseline: what a hand-written batcher does with no library at all. One array,
 * a size trigger that hands the full array to the handler (swap, no copy), one unref'd timer
 * armed by the first item of a batch, and a queue limit on items held (pending + in flight)
 * that throws like `overflow: 'reject'`. No ordering, no retries, no per-lane serialisation.
 */
import { BareBufferFullError } from '../common/sink';

export class BareArrayBatcher<T> {
  private batch: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private held = 0;
  private inFlightBatches = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly maxSize: number,
    private readonly interval: number,
    private readonly limit: number,
    private readonly handler: (items: T[]) => Promise<void>,
  ) {}

  insert(item: T): void {
    if (this.held >= this.limit) throw new BareBufferFullError('bare array full');
    this.held++;
    const batch = this.batch;
    batch.push(item);
    if (batch.length >= this.maxSize) {
      this.seal();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(this.onTimer, this.interval);
      this.timer.unref();
    }
  }

  /** flush what is pending and wait for every flush in flight */
  flush(): Promise<void> {
    if (this.batch.length > 0) this.seal();
    if (this.inFlightBatches === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** pending + in flight */
  get size(): number {
    return this.held;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.batch.length > 0) this.seal();
  };

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const items = this.batch;
    this.batch = [];
    this.inFlightBatches++;
    this.handler(items).then(
      () => this.settle(items.length),
      () => this.settle(items.length),
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
