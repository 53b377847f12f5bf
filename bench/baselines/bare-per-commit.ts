/**
 * The bare baseline of the group-commit scenario: what a service does without a batcher when
 * every write must be confirmed: one handler call per commit, at most `concurrency` calls at
 * once (a connection pool of that size), the other commits waiting in arrival order.
 */
interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class BarePerCommitWriter<T> {
  private running = 0;
  private queue: Waiting<T>[] = [];
  private head = 0;

  constructor(
    private readonly concurrency: number,
    private readonly handler: (items: T[]) => Promise<void>,
  ) {}

  commit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.running < this.concurrency) this.write({ item, resolve, reject });
      else this.queue.push({ item, resolve, reject });
    });
  }

  private write(w: Waiting<T>): void {
    this.running++;
    this.handler([w.item]).then(
      () => {
        this.next();
        w.resolve();
      },
      (err: unknown) => {
        this.next();
        w.reject(err);
      },
    );
  }

  private next(): void {
    this.running--;
    if (this.head < this.queue.length) {
      const w = this.queue[this.head++];
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      }
      this.write(w);
    }
  }
}
