import { Pool } from 'pg';
import { Database, type QueryResult } from './database';

/** PostgreSQL through a `pg` connection pool; every connection works in `schema`. */
export class PostgresDatabase extends Database {
  readonly kind = 'postgres' as const;
  private closing: Promise<void> | undefined;

  private constructor(private readonly pool: Pool) {
    super();
  }

  /** Connects, creates `schema` when missing and makes it the search path of every connection. */
  static async open(connectionString: string, schema: string): Promise<PostgresDatabase> {
    const pool = new Pool({ connectionString, max: 10, options: `-c search_path=${schema}` });
    try {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return new PostgresDatabase(pool);
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
