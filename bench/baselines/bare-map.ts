/**
 * The bare keyed baseline: a Map of arrays, one per key. A key's array that reaches maxSize is
 * removed from the map and handed to the handler (no dead keys, like the library); one unref'd
 * timer flushes everything when the interval passes; a queue limit on items held throws like
 * `overflow: 'reject'`.
 */
import { BareBufferFullError } from '../common/sink';

export class BareMapBatcher<T, K> {
  private readonly batches = new Map<K, T[]>();
  private timer: NodeJS.Timeout | undefined;
  private held = 0;
  private inFlightBatches = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly maxSize: number,
    private readonly interval: number,
    private readonly limit: number,
    private readonly handler: (items: T[], key: K) => Promise<void>,
  ) {}

  insert(item: T, key: K): void {
    if (this.held >= this.limit) throw new BareBufferFullError('bare map full');
    this.held++;
    let batch = this.batches.get(key);
    if (batch === undefined) {
      batch = [];
      this.batches.set(key, batch);
      if (this.timer === undefined) {
        this.timer = setTimeout(this.onTimer, this.interval);
        this.timer.unref();
      }
    }
    batch.push(item);
    if (batch.length >= this.maxSize) {
      this.batches.delete(key);
      this.send(batch, key);
    }
  }

  /** flush every key and wait for every flush in flight */
  flush(): Promise<void> {
    this.flushAll();
    if (this.inFlightBatches === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  get keys(): number {
    return this.batches.size;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flushAll();
  };

  private flushAll(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    for (const [key, batch] of this.batches) this.send(batch, key);
    this.batches.clear();
  }

  private send(items: T[], key: K): void {
    this.inFlightBatches++;
    this.handler(items, key).then(
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
