/**
 * @jest-environment ./test/example/pglite-environment.js
 */
import './example/native-pglite';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Controller,
  Global,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Param,
  Post,
  type DynamicModule,
  type INestApplication,
  type OnApplicationShutdown,
  type Provider,
  type Type,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { PGlite } from '@electric-sql/pglite';
import { EntitySchema as MikroEntitySchema, MikroORM } from '@mikro-orm/core';
import { LibSqlDriver } from '@mikro-orm/libsql';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import { Client, Pool } from 'pg';
import initSqlJs from 'sql.js';
import { DataSource, EntitySchema as TypeOrmEntitySchema } from 'typeorm';
import {
  BufferHandler,
  DataBuffer,
  DataBufferModule,
  getBufferToken,
  InjectBuffer,
  OnFlush,
  OnFlushError,
} from 'nestjs-data-buffer';
import { uniqueSchema, waitFor } from './example/test.utils';

/**
 * Issue "A graceful shutdown that works whatever the order of modules": app.close() with items
 * pending writes every one of them through a connection that a module closes in its own
 * onApplicationShutdown, whether that module is imported before or after the buffers. Each
 * store runs embedded (sql.js for TypeORM, libSQL for MikroORM, PGlite behind the pg-Pool-like
 * module) and on PostgreSQL when TEST_DATABASE_URL is set.
 */

const PENDING = 500;
const databaseUrl = process.env.TEST_DATABASE_URL;
const schema = uniqueSchema('shutdown_order');
if (!databaseUrl) {
  process.stdout.write(
    'shutdown-order.e2e-spec: TEST_DATABASE_URL is not set, so the PostgreSQL runs of TypeORM, MikroORM and the pg Pool ' +
      'module are left out; the embedded runs (sql.js, libSQL, PGlite) still run.\n',
  );
}

type ImportedModule = DynamicModule | Promise<DynamicModule>;

interface RowRecord {
  id: number;
  value: number;
}

/** What the handlers could not write, so a failing test says why. */
@Injectable()
class FlushFailures {
  readonly errors: string[] = [];
}

let tableSeq = 0;
const nextTable = () => `buffered_rows_${process.pid}_${++tableSeq}`;

/** One database behind one kind of module: the module, a handler writing through it, and a way to count the rows after the app closed. */
interface Store {
  /** The module that owns the connection and closes it in its onApplicationShutdown. */
  module: ImportedModule;
  /** The @BufferHandler('rows') class writing through it. */
  handler: Type<unknown>;
  /** Runs after app.init() (schema creation). */
  prepare?(app: INestApplication): Promise<void>;
  /** Rows written, read after the app closed. */
  values(): Promise<number[]>;
  dispose(): Promise<void>;
}

interface StoreKind {
  name: string;
  open(workDir: string): Promise<Store>;
}

async function pgClient(): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  return client;
}

async function pgValues(table: string): Promise<number[]> {
  const client = await pgClient();
  try {
    const result = await client.query(`SELECT value FROM ${schema}.${table}`);
    return result.rows.map((row: { value: number }) => row.value);
  } finally {
    await client.end();
  }
}

// ---- TypeORM -----------------------------------------------------------------------------

function typeOrmStore(engine: 'sqljs' | 'postgres'): StoreKind {
  return {
    name: `TypeORM on ${engine === 'sqljs' ? 'sql.js' : 'PostgreSQL'}`,
    async open(workDir) {
      const table = nextTable();
      const file = join(workDir, `${table}.sqlite`);
      const Row = new TypeOrmEntitySchema<RowRecord>({
        name: `Row_${table}`,
        tableName: table,
        columns: { id: { type: 'integer', primary: true, generated: true }, value: { type: 'integer' } },
      });
      if (engine === 'postgres') await (await pgClient()).end();
      const module = TypeOrmModule.forRoot(
        engine === 'sqljs'
          ? { type: 'sqljs', location: file, autoSave: true, entities: [Row], synchronize: true, logging: false }
          : { type: 'postgres', url: databaseUrl, schema, entities: [Row], synchronize: true, logging: false },
      );

      @BufferHandler('rows')
      class TypeOrmRowsHandler {
        constructor(
          @Inject(getDataSourceToken()) private readonly dataSource: DataSource,
          private readonly failures: FlushFailures,
        ) {}

        @OnFlush()
        async save(items: number[]) {
          await this.dataSource.getRepository(Row).insert(items.map((value) => ({ value })));
        }

        @OnFlushError()
        failed(error: unknown, items: number[]) {
          this.failures.errors.push(`${items.length} items: ${String(error)}`);
        }
      }

      return {
        module,
        handler: TypeOrmRowsHandler,
        async values() {
          if (engine === 'postgres') return pgValues(table);
          const SQL = await initSqlJs();
          const db = new SQL.Database(await readFile(file));
          try {
            const [result] = db.exec(`SELECT value FROM ${table}`);
            return (result?.values ?? []).map(([value]: unknown[]) => Number(value));
          } finally {
            db.close();
          }
        },
        async dispose() {},
      };
    },
  };
}

// ---- MikroORM ----------------------------------------------------------------------------

function mikroOrmStore(engine: 'libsql' | 'postgres'): StoreKind {
  return {
    name: `MikroORM on ${engine === 'libsql' ? 'libSQL' : 'PostgreSQL'}`,
    async open(workDir) {
      const table = nextTable();
      const file = join(workDir, `${table}.db`);
      const Row = new MikroEntitySchema<RowRecord>({
        name: `Row_${table}`,
        tableName: table,
        properties: { id: { type: 'number', primary: true, autoincrement: true }, value: { type: 'number' } },
      });
      if (engine === 'postgres') await (await pgClient()).end();
      const module = MikroOrmModule.forRoot(
        engine === 'libsql'
          ? { driver: LibSqlDriver, dbName: file, entities: [Row], allowGlobalContext: true, debug: false }
          : { driver: PostgreSqlDriver, clientUrl: databaseUrl, schema, entities: [Row], allowGlobalContext: true, debug: false },
      );

      @BufferHandler('rows')
      class MikroOrmRowsHandler {
        constructor(
          private readonly orm: MikroORM,
          private readonly failures: FlushFailures,
        ) {}

        @OnFlush()
        async save(items: number[]) {
          await this.orm.em.fork().insertMany(Row, items.map((value) => ({ value }) as RowRecord));
        }

        @OnFlushError()
        failed(error: unknown, items: number[]) {
          this.failures.errors.push(`${items.length} items: ${String(error)}`);
        }
      }

      return {
        module,
        handler: MikroOrmRowsHandler,
        prepare: async (app) => {
          await app.get(MikroORM).schema.updateSchema(engine === 'postgres' ? { schema } : {});
        },
        async values() {
          if (engine === 'postgres') return pgValues(table);
          const orm = await MikroORM.init({ driver: LibSqlDriver, dbName: file, entities: [Row], allowGlobalContext: true, debug: false });
          try {
            const rows = await orm.em.getConnection().execute<{ value: number }[]>(`SELECT value FROM ${table}`);
            return rows.map((row) => Number(row.value));
          } finally {
            await orm.close();
          }
        },
        async dispose() {},
      };
    },
  };
}

// ---- a user's own @Global() module holding a pg Pool -------------------------------------

/** What the user's module exports: a pg `Pool`, or PGlite behind the same two methods. */
interface SqlPool {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  end(): Promise<void>;
}

const POOL = Symbol('POOL');

/** Ends the pool when the app shuts down, as a user's database module would. */
@Injectable()
class PoolShutdown implements OnApplicationShutdown {
  constructor(@Inject(POOL) private readonly pool: SqlPool) {}

  async onApplicationShutdown() {
    await this.pool.end();
  }
}

@Global()
@Module({})
class UserDatabaseModule {
  static forRoot(pool: SqlPool): DynamicModule {
    return { module: UserDatabaseModule, global: true, providers: [{ provide: POOL, useValue: pool }, PoolShutdown], exports: [POOL] };
  }
}

function userPoolStore(engine: 'pglite' | 'postgres'): StoreKind {
  return {
    name: `a @Global() module with a ${engine === 'pglite' ? 'PGlite' : 'pg'} pool`,
    async open(workDir) {
      const table = nextTable();
      const dataDir = join(workDir, table);
      let pool: SqlPool;
      if (engine === 'postgres') {
        await (await pgClient()).end();
        const pg = new Pool({ connectionString: databaseUrl, max: 4, options: `-c search_path=${schema}` });
        pool = pg;
      } else {
        const db = await PGlite.create(dataDir);
        pool = { query: (sql, params) => db.query(sql, params), end: () => db.close() };
      }
      await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, value integer NOT NULL)`);

      @BufferHandler('rows')
      class PoolRowsHandler {
        constructor(
          @Inject(POOL) private readonly pool: SqlPool,
          private readonly failures: FlushFailures,
        ) {}

        @OnFlush()
        async save(items: number[]) {
          await this.pool.query(`INSERT INTO ${table} (value) SELECT unnest($1::int[])`, [items]);
        }

        @OnFlushError()
        failed(error: unknown, items: number[]) {
          this.failures.errors.push(`${items.length} items: ${String(error)}`);
        }
      }

      return {
        module: UserDatabaseModule.forRoot(pool),
        handler: PoolRowsHandler,
        async values() {
          if (engine === 'postgres') return pgValues(table);
          const db = await PGlite.create(dataDir);
          try {
            return (await db.query<{ value: number }>(`SELECT value FROM ${table}`)).rows.map((row) => row.value);
          } finally {
            await db.close();
          }
        },
        async dispose() {},
      };
    },
  };
}

// ---- the tests ---------------------------------------------------------------------------

const kinds: StoreKind[] = [typeOrmStore('sqljs'), mikroOrmStore('libsql'), userPoolStore('pglite')];
if (databaseUrl) kinds.push(typeOrmStore('postgres'), mikroOrmStore('postgres'), userPoolStore('postgres'));

/** Long interval and size: nothing flushes before app.close(). */
const rowsBuffer = () => DataBufferModule.forFeature({ name: 'rows', interval: 600_000, maxSize: 10_000, partitions: 2, retries: 0 });

const orders: [string, (buffers: ImportedModule, database: ImportedModule) => ImportedModule[]][] = [
  ['imported before the database module', (buffers, database) => [buffers, database]],
  ['imported after the database module', (buffers, database) => [database, buffers]],
];

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('graceful shutdown whatever the order of modules', () => {
  let workDir: string;
  let store: Store | undefined;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'shutdown-order-'));
  });

  afterEach(async () => {
    await app?.close();
    await store?.dispose();
    app = store = undefined;
  });

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
    if (databaseUrl) {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });

  async function startWith(kind: StoreKind, order: (typeof orders)[number][1], extra: { controllers?: Type<unknown>[]; providers?: Provider[] } = {}) {
    store = await kind.open(workDir);
    const moduleRef = await Test.createTestingModule({
      imports: order(rowsBuffer(), store.module),
      controllers: extra.controllers ?? [],
      providers: [FlushFailures, store.handler, ...(extra.providers ?? [])],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    return { app, store };
  }

  describe.each(kinds)('$name', (kind) => {
    it.each(orders)(`app.close() with ${PENDING} items pending writes ${PENDING} rows, buffers %s`, async (_order, order) => {
      const started = await startWith(kind, order);
      await started.app.init();
      await started.store.prepare?.(started.app);
      const buffer = started.app.get<DataBuffer<number>>(getBufferToken('rows'));
      buffer.insertMany(range(PENDING));
      expect(buffer.stats().pending).toBe(PENDING);

      await started.app.close();
      app = undefined;

      expect(started.app.get(FlushFailures).errors).toEqual([]);
      expect((await started.store.values()).sort((a, b) => a - b)).toEqual(range(PENDING));
    }, 60_000);
  });

  describe('HTTP requests in flight during app.close()', () => {
    const REQUESTS = 50;

    @Injectable()
    class Arrivals {
      count = 0;
    }

    @Controller('track')
    class TrackController {
      constructor(
        @InjectBuffer('rows') private readonly rows: DataBuffer<number>,
        private readonly arrivals: Arrivals,
      ) {}

      @Post(':id')
      @HttpCode(202)
      async track(@Param('id') id: string) {
        this.arrivals.count++;
        await new Promise((resolve) => setTimeout(resolve, 300));
        this.rows.insert(Number(id));
        return { accepted: Number(id) };
      }
    }

    const poolKinds = kinds.filter((kind) => kind.name.includes('pool'));

    describe.each(poolKinds)('$name', (kind) => {
      it.each(orders)('every request answered 2xx has its row, buffers %s', async (_order, order) => {
        const started = await startWith(kind, order, { controllers: [TrackController], providers: [Arrivals] });
        await started.app.listen(0, '127.0.0.1');
        const base = await started.app.getUrl();
        const arrivals = started.app.get(Arrivals);

        const answers = range(REQUESTS).map((id) =>
          fetch(`${base}/track/${id}`, { method: 'POST' }).then(
            async (res) => ({ id, status: res.status, body: await res.text() }),
            (error: unknown) => ({ id, status: 0, body: String(error) }),
          ),
        );
        await waitFor(() => arrivals.count === REQUESTS, 'every request to reach the controller', 10_000, 5);
        const closing = started.app.close();
        app = undefined;
        const answered = await Promise.all(answers);
        await closing;

        const accepted = answered.filter((a) => a.status >= 200 && a.status < 300).map((a) => a.id);
        expect(accepted).toHaveLength(REQUESTS);
        expect(started.app.get(FlushFailures).errors).toEqual([]);
        const written = new Set(await started.store.values());
        expect(accepted.filter((id) => !written.has(id))).toEqual([]);
      }, 60_000);
    });
  });
});
