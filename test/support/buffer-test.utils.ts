import { INestApplication, Injectable, LoggerService, ModuleMetadata } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  BufferHandler,
  BufferOptions,
  DataBuffer,
  DataBufferModule,
  FlushContext,
  getBufferToken,
  OnFlush,
  OnFlushError,
} from 'nestjs-data-buffer';

/** Collects every log line so a test can assert what the library logged. */
export class CapturedLogs implements LoggerService {
  readonly entries: { level: string; message: string; context: unknown }[] = [];
  log(message: unknown, ...rest: unknown[]) { this.push('log', message, rest); }
  error(message: unknown, ...rest: unknown[]) { this.push('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]) { this.push('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]) { this.push('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]) { this.push('verbose', message, rest); }
  fatal(message: unknown, ...rest: unknown[]) { this.push('fatal', message, rest); }
  /** Error lines logged with the library's context. */
  errors(): string[] {
    return this.entries.filter((e) => e.level === 'error' && e.context === 'DataBuffer').map((e) => e.message);
  }
  private push(level: string, message: unknown, rest: unknown[]) {
    this.entries.push({ level, message: String(message), context: rest[rest.length - 1] });
  }
}

/** A promise with its resolve and reject at hand, to hold a handler until the test lets it go. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What the test buffers carry; `secret` stands for a payload that must never leave the handler. */
export interface Item {
  id: number;
  secret?: string;
}

/** What the recording handlers saw; each test sets how the "database" behaves. */
@Injectable()
export class RecordingSink {
  readonly flushes: { items: Item[]; ctx: FlushContext; at: number }[] = [];
  readonly failures: { error: unknown; items: Item[]; ctx: FlushContext; at: number }[] = [];
  onFlush: (items: Item[], ctx: FlushContext) => unknown = () => undefined;
  onFlushError: (error: unknown, items: Item[], ctx: FlushContext) => unknown = () => undefined;

  /** Batches as arrays of ids, of one buffer or of all. */
  ids(buffer?: string): number[][] {
    return this.flushes.filter((f) => buffer === undefined || f.ctx.buffer === buffer).map((f) => f.items.map((i) => i.id));
  }

  /** Every id handed to @OnFlush, sorted. */
  delivered(): number[] {
    return this.flushes.flatMap((f) => f.items.map((i) => i.id)).sort((a, b) => a - b);
  }
}

/** Leaves a method as it is: a `deadLetter` without @OnFlushError is invisible to the explorer. */
const undecorated: MethodDecorator = () => undefined;

/** A new @BufferHandler class for `buffer` (`events` -> `EventsHandler`) recording @OnFlush and, unless `deadLetter: false`, @OnFlushError calls into RecordingSink. */
export function recordingHandler(buffer: string, { deadLetter = true }: { deadLetter?: boolean } = {}) {
  @BufferHandler(buffer)
  class RecordingHandler {
    constructor(readonly sink: RecordingSink) {}

    @OnFlush()
    save(items: Item[], ctx: FlushContext) {
      this.sink.flushes.push({ items: [...items], ctx, at: Date.now() });
      return this.sink.onFlush(items, ctx);
    }

    @(deadLetter ? OnFlushError() : undecorated)
    deadLetter(error: unknown, items: Item[], ctx: FlushContext) {
      this.sink.failures.push({ error, items: [...items], ctx, at: Date.now() });
      return this.sink.onFlushError(error, items, ctx);
    }
  }
  Object.defineProperty(RecordingHandler, 'name', { value: `${buffer[0].toUpperCase()}${buffer.slice(1)}Handler` });
  return RecordingHandler;
}

/** The recording handler of the `events` buffer, with @OnFlushError. */
export const EventsHandler = recordingHandler('events');

/** The app of the running test: created, started and closed through it, closed after each test at the latest. */
class BufferTestApp {
  /** The log lines of the running test (Nest's output goes here, not to the console). */
  logs = new CapturedLogs();
  private moduleRef: TestingModule | undefined;
  private current: INestApplication | undefined;

  /** The app created by `create` or `start`. */
  get app(): INestApplication {
    if (this.current === undefined) throw new Error('no app: call create() or start() first');
    return this.current;
  }

  /** Compiles and creates the app without initialising it. */
  readonly create = async (metadata: ModuleMetadata): Promise<INestApplication> => {
    this.moduleRef = await Test.createTestingModule(metadata).setLogger(this.logs).compile();
    this.current = this.moduleRef.createNestApplication();
    return this.current;
  };

  /** compile() then init(): a failure in either rejects. */
  readonly start = async (metadata: ModuleMetadata): Promise<INestApplication> => {
    const created = await this.create(metadata);
    await created.init();
    return created;
  };

  /** An app with the `events` buffer (options as given, interval 60 s unless set) and its recording handler. */
  readonly startEvents = async (options: Omit<BufferOptions, 'name'> = {}, extra: ModuleMetadata = {}) => {
    const started = await this.start({
      imports: [DataBufferModule.forFeature({ name: 'events', interval: 60_000, ...options }), ...(extra.imports ?? [])],
      providers: [RecordingSink, EventsHandler, ...(extra.providers ?? [])],
    });
    return { buffer: started.get<DataBuffer<Item>>(getBufferToken('events')), sink: started.get(RecordingSink) };
  };

  /** Closes the app (and forgets it, so afterEach does not close it twice). */
  readonly close = (): Promise<void> => {
    const closing = this.app.close();
    this.current = this.moduleRef = undefined;
    return closing;
  };

  /** Before each test: fresh logs and fake timers, so `app.init()` starts its timers on the fake clock. */
  setUp(): void {
    this.logs = new CapturedLogs();
    jest.useFakeTimers();
  }

  /** After each test: closes what is still open (the module alone when the app was never created). */
  async tearDown(): Promise<void> {
    if (this.current !== undefined) await this.current.close();
    else if (this.moduleRef !== undefined) await this.moduleRef.close();
    this.current = this.moduleRef = undefined;
    jest.useRealTimers();
  }
}

/** Sets up a BufferTestApp around each test of the calling describe block and returns it. */
export function useBufferTestApp(): BufferTestApp {
  const testApp = new BufferTestApp();
  beforeEach(() => testApp.setUp());
  afterEach(() => testApp.tearDown());
  return testApp;
}
