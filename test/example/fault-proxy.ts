import { createServer, Socket, type Server } from 'node:net';

type Pair = [Socket, Socket];

/**
 * A TCP proxy on 127.0.0.1 in front of a server (PostgreSQL in the fault test) that can break the
 * connections through it the ways networks do: reset them (RST, busy or idle), stall them (no byte
 * moves either way until resumed or reset), and refuse new ones.
 */
export class FaultProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<Pair>();
  /** Bytes that arrived during a stall, in order, with the socket they are for. */
  private readonly held: Array<[Socket, Buffer]> = [];
  private stalled = false;
  private refusing = false;
  /** Connections accepted, and connections the proxy broke (reset or refused). */
  readonly counts = { accepted: 0, reset: 0, refused: 0 };

  constructor(private readonly target: { host: string; port: number }) {}

  /** Listens on a free port of 127.0.0.1 and resolves with it. */
  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return (server.address() as { port: number }).port;
  }

  /** Resets every open connection, both ends. */
  resetAll(): void {
    for (const pair of [...this.pairs]) this.reset(pair);
  }

  /** Stops moving bytes on every connection, open and new, until {@link resume} or a reset. */
  stall(): void {
    this.stalled = true;
  }

  resume(): void {
    this.stalled = false;
    for (const [to, chunk] of this.held.splice(0)) if (!to.destroyed) to.write(chunk);
  }

  /** While on, a new connection is reset as soon as it is accepted. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  get open(): number {
    return this.pairs.size;
  }

  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    client.on('error', () => undefined);
    if (this.refusing) {
      this.counts.refused++;
      client.resetAndDestroy();
      return;
    }
    this.counts.accepted++;
    const upstream = new Socket();
    upstream.on('error', () => undefined);
    const pair: Pair = [client, upstream];
    this.pairs.add(pair);
    const drop = () => {
      if (!this.pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    // Forwarded by hand rather than piped, so that a stall holds every byte until it ends.
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (this.stalled) this.held.push([to, chunk]);
      else if (!to.destroyed) to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    upstream.connect(this.target.port, this.target.host);
  }

  private reset(pair: Pair): void {
    this.pairs.delete(pair);
    this.counts.reset++;
    for (const socket of pair) {
      if (socket.destroyed) continue;
      // resetAndDestroy needs a connected socket; one still connecting is just destroyed.
      if (socket.readyState === 'open') socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}
