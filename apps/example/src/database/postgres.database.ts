import { Logger } from '@nestjs/common';
import { Pool, type PoolClient } from 'pg';
import { Database, type QueryResult } from './database';
import { SCHEMA_LOCK_SQL } from './schema';

/** Timeouts of the PostgreSQL connections. */
export interface PostgresOptions {
  /** A statement without an answer after this many ms fails, and its connection is dropped. */
  queryTimeout: number;
  /** A new connection that is not ready after this many ms fails. */
  connectTimeout: number;
}

/**
 * PostgreSQL through a `pg` connection pool; every connection works in `schema`.
 *
 * A connection that breaks never takes the process down: `pg` reports a broken connection with an
 * `'error'` event, on the pool for an idle client and on the client itself when it breaks while
 * checked out (or right after a failed query), and an `'error'` event without a listener is an
 * uncaught exception. Both get a listener that logs; the pool drops the broken client and opens a
 * new one for the next statement, so the app recovers by itself when the database is back. Stalled
 * connections cannot hold the pool forever: statements time out (`queryTimeout`), connecting times
 * out (`connectTimeout`), and a client whose statement failed is discarded rather than reused.
 */
export class PostgresDatabase extends Database {
  readonly kind = 'postgres' as const;
  private readonly logger = new Logger('Database');
  private closing: Promise<void> | undefined;

  private constructor(private readonly pool: Pool) {
    super();
    pool.on('error', (error) => this.logger.warn(`an idle connection failed: ${error.message}`));
    pool.on('connect', (client: PoolClient) => {
      client.on('error', (error) => this.logger.warn(`a connection failed: ${error.message}`));
    });
  }

  /** Connects, creates `schema` when missing and makes it the search path of every connection. */
  static async open(connectionString: string, schema: string, options: PostgresOptions): Promise<PostgresDatabase> {
    const pool = new Pool({
      connectionString,
      max: 10,
      options: `-c search_path=${schema}`,
      query_timeout: options.queryTimeout,
      connectionTimeoutMillis: options.connectTimeout,
      keepAlive: true,
    });
    const db = new PostgresDatabase(pool);
    try {
      // One script, one implicit transaction: instances starting together create the schema in turn.
      await pool.query(`${SCHEMA_LOCK_SQL}; CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (error) {
      await db.close();
      throw error;
    }
    return db;
  }

  async exec(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  protected async run<Row>(sql: string, params: unknown[]): Promise<QueryResult<Row>> {
    const result = await this.pool.query(sql, params);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
  }
}
