/**
 * The per-item-promise baseline for `commit()`: each call allocates its own promise and keeps
 * its resolve/reject next to the item; a size trigger (and an unref'd timer) hands the batch to
 * the handler and settles every item's promise when it resolves; a queue limit rejects.
 */
import { BareBufferFullError } from '../common/sink';

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class BarePromiseBatcher<T> {
  private batch: T[] = [];
  private waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private held = 0;

  constructor(
    private readonly maxSize: number,
    private readonly interval: number,
    private readonly limit: number,
    private readonly handler: (items: T[]) => Promise<void>,
  ) {}

  commit(item: T): Promise<void> {
    if (this.held >= this.limit) return Promise.reject(new BareBufferFullError('bare batcher full'));
    return new Promise<void>((resolve, reject) => {
      this.held++;
      this.batch.push(item);
      this.waiters.push({ resolve, reject });
      if (this.batch.length >= this.maxSize) {
        this.seal();
      } else if (this.timer === undefined) {
        this.timer = setTimeout(this.onTimer, this.interval);
        this.timer.unref();
      }
    });
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
    const waiters = this.waiters;
    this.batch = [];
    this.waiters = [];
    this.handler(items).then(
      () => {
        this.held -= items.length;
        for (let i = 0; i < waiters.length; i++) waiters[i].resolve();
      },
      (err) => {
        this.held -= items.length;
        for (let i = 0; i < waiters.length; i++) waiters[i].reject(err);
      },
    );
  }
}

/**
 * A reference, not a target baseline: the same batcher, but every item of a batch shares one
 * promise (created when the batch opens, settled after its handler call). It shows what the
 * one-promise-per-batch design can reach in this driver, where each caller still attaches its
 * own reaction to the promise it awaits.
 */
export class BareSharedPromiseBatcher<T> {
  private batch: T[] = [];
  private promise: Promise<void> | null = null;
  private resolve: () => void = () => undefined;
  private reject: (err: unknown) => void = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private held = 0;

  constructor(
    private readonly maxSize: number,
    private readonly interval: number,
    private readonly limit: number,
    private readonly handler: (items: T[]) => Promise<void>,
  ) {}

  commit(item: T): Promise<void> {
    if (this.held >= this.limit) return Promise.reject(new BareBufferFullError('bare batcher full'));
    this.held++;
    let promise = this.promise;
    if (promise === null) {
      promise = this.promise = new Promise<void>((resolve, reject) => {
        this.resolve = resolve;
        this.reject = reject;
      });
      if (this.timer === undefined) {
        this.timer = setTimeout(this.onTimer, this.interval);
        this.timer.unref();
      }
    }
    this.batch.push(item);
    if (this.batch.length >= this.maxSize) this.seal();
    return promise;
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
    const resolve = this.resolve;
    const reject = this.reject;
    this.batch = [];
    this.promise = null;
    this.handler(items).then(
      () => {
        this.held -= items.length;
        resolve();
      },
      (err) => {
        this.held -= items.length;
        reject(err);
      },
    );
  }
}
