import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Database, type QueryResult } from './database';

/**
 * Embedded PostgreSQL (WASM) in the app's process: nothing to install. PGlite is no event
 * emitter: every failure comes back as the rejection of the query that met it, so, unlike the
 * `pg` pool, it has no `'error'` event that could end the process.
 */
export class PgliteDatabase extends Database {
  readonly kind = 'pglite' as const;
  private closing: Promise<void> | undefined;

  private constructor(private readonly db: PGlite) {
    super();
  }

  /** Opens (creating when needed) the database in `dataDir`; `memory://` keeps it in memory. */
  static async open(dataDir: string): Promise<PgliteDatabase> {
    if (!dataDir.startsWith('memory://')) {
      await mkdir(dataDir, { recursive: true });
    }
    return new PgliteDatabase(await PGlite.create(dataDir));
  }

  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  close(): Promise<void> {
    this.closing ??= this.db.closed ? Promise.resolve() : this.db.close();
    return this.closing;
  }

  protected async run<Row>(sql: string, params: unknown[]): Promise<QueryResult<Row>> {
    const result = await this.db.query<Row>(sql, params);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }
}
