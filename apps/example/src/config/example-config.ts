import { resolve } from 'node:path';

/** Settings of one buffer of the example app. */
export interface ExampleBufferConfig {
  /** Longest time (ms) an event waits in a batch. */
  interval: number;
  /** Items per batch that trigger a flush at once (page-views: paths, as views of one path are merged). */
  maxSize: number;
  /** Most events held in memory; beyond it `POST` answers 503. */
  capacity: number;
  /** Independent lanes (flushes in flight at once). */
  partitions: number;
  /** Group commit for `?confirm=true`: a batch holding a confirmed event is due this many ms after it (undefined: off). */
  commitDelay?: number;
}

/** Everything the example app reads from its environment. */
export interface ExampleConfig {
  /** HTTP port. */
  port: number;
  /** Interface to bind; undefined binds every interface (Nest's default). */
  host: string | undefined;
  /** Directory for the embedded database and the dead-letter files. */
  dataDir: string;
  /** PGlite data directory (`memory://` keeps it in memory); used when `databaseUrl` is unset. */
  pgliteDir: string;
  /** PostgreSQL connection string; when set, the app uses PostgreSQL through `pg` instead of PGlite. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema holding the app's tables (created at startup). */
  databaseSchema: string;
  /** PostgreSQL: a statement without an answer after this many ms fails and its connection is dropped. */
  databaseQueryTimeout: number;
  /** PostgreSQL: a new connection that is not ready after this many ms fails. */
  databaseConnectTimeout: number;
  /** RabbitMQ URL; when set, the app also consumes events from `amqpQueue`. */
  amqpUrl: string | undefined;
  /** Queue of the broker-fed path (durable; created when missing). */
  amqpQueue: string;
  /** Unacknowledged messages the broker hands this instance at once; at least events' maxSize x partitions. */
  amqpPrefetch: number;
  /** `true`: every request inserts its own row at once, no buffer (the load test's baseline). */
  directInsert: boolean;
  events: ExampleBufferConfig;
  pageViews: ExampleBufferConfig;
  /** Retries after a failed flush before the batch goes to the dead-letter file. */
  flushRetries: number;
  /** Wait (ms) before the first retry; doubles for each further retry. */
  retryDelay: number;
  /** Budget (ms) of the graceful flush at shutdown. */
  shutdownTimeout: number;
  /** `/health` turns down when a buffer holds this share of its capacity. */
  maxFillRatio: number;
  /** Seconds sent in `Retry-After` when a buffer is full. */
  retryAfterSeconds: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got "${raw}"`);
  }
  return value;
}

function ratio(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 1) {
    throw new Error(`${name} must be a number in (0, 1], got "${raw}"`);
  }
  return value;
}

function bool(env: Env, name: string): boolean {
  const raw = (env[name] ?? '').toLowerCase();
  return raw === '1' || raw === 'true' || raw === 'yes';
}

function identifier(env: Env, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) {
    throw new Error(`${name} must be a lower-case SQL identifier, got "${raw}"`);
  }
  return raw;
}

/** Reads the app's configuration from environment variables, with defaults that need nothing installed. */
export function loadConfig(env: Env = process.env): ExampleConfig {
  const dataDir = resolve(env.DATA_DIR || '.data');
  const events = {
    interval: int(env, 'EVENTS_INTERVAL', 1000, 1),
    maxSize: int(env, 'EVENTS_MAX_SIZE', 1000, 1),
    capacity: int(env, 'EVENTS_CAPACITY', 100_000, 1),
    partitions: int(env, 'EVENTS_PARTITIONS', 2, 1),
    commitDelay: env.EVENTS_COMMIT_DELAY === 'off' ? undefined : int(env, 'EVENTS_COMMIT_DELAY', 2),
  };
  // Fewer messages in hand than a full batch on every lane would leave each batch waiting for its interval.
  const fullBatches = events.maxSize * events.partitions;
  return {
    port: int(env, 'PORT', 3000),
    host: env.HOST || undefined,
    dataDir,
    pgliteDir: env.PGLITE_DIR || resolve(dataDir, 'pglite'),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseSchema: identifier(env, 'DATABASE_SCHEMA', 'public'),
    databaseQueryTimeout: int(env, 'DATABASE_QUERY_TIMEOUT', 10_000, 1),
    databaseConnectTimeout: int(env, 'DATABASE_CONNECT_TIMEOUT', 5_000, 1),
    amqpUrl: env.AMQP_URL || undefined,
    amqpQueue: env.AMQP_QUEUE || 'events',
    amqpPrefetch: int(env, 'AMQP_PREFETCH', fullBatches, fullBatches),
    directInsert: bool(env, 'DIRECT_INSERT'),
    events,
    pageViews: {
      interval: int(env, 'PAGE_VIEWS_INTERVAL', 5000, 1),
      // values, i.e. paths: one upsert statement holds up to 10,000
      maxSize: int(env, 'PAGE_VIEWS_MAX_SIZE', 10_000, 1),
      capacity: int(env, 'PAGE_VIEWS_CAPACITY', 100_000, 1),
      partitions: int(env, 'PAGE_VIEWS_PARTITIONS', 2, 1),
    },
    flushRetries: int(env, 'FLUSH_RETRIES', 3),
    retryDelay: int(env, 'RETRY_DELAY', 500),
    shutdownTimeout: int(env, 'SHUTDOWN_TIMEOUT', 15_000, 1),
    maxFillRatio: ratio(env, 'HEALTH_MAX_FILL_RATIO', 0.9),
    retryAfterSeconds: int(env, 'RETRY_AFTER_SECONDS', 1, 1),
  };
}

/** Injection token of the resolved {@link ExampleConfig}. */
export const EXAMPLE_CONFIG = Symbol('EXAMPLE_CONFIG');
