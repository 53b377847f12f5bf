/** Rows and row count of one statement. */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/** Counters of the statements the app sent, readable in `GET /stats` and by the tests and the load script. */
export interface DatabaseCounters {
  /** Statements that succeeded. */
  statements: number;
  /** Successful statements that insert rows (one per flushed batch in buffered mode). */
  inserts: number;
  /** Rows those statements inserted or updated. */
  rowsWritten: number;
  /** Statements that failed. */
  errors: number;
}

const INSERT = /\binsert\s+into\b/i;

/**
 * The one SQL door of the app: PGlite or PostgreSQL behind the same `query`, so the same SQL runs on
 * both. It counts statements so that buffering's effect (few INSERTs for many events) can be seen.
 */
export abstract class Database {
  /** `pglite` (embedded, the default) or `postgres` (when DATABASE_URL is set). */
  abstract readonly kind: 'pglite' | 'postgres';

  private readonly counts: DatabaseCounters = { statements: 0, inserts: 0, rowsWritten: 0, errors: 0 };

  /** Runs one parameterized statement ($1, $2, ...). */
  async query<Row = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<QueryResult<Row>> {
    let result: QueryResult<Row>;
    try {
      result = await this.run<Row>(sql, params);
    } catch (error) {
      this.counts.errors++;
      throw error;
    }
    this.counts.statements++;
    if (INSERT.test(sql)) {
      this.counts.inserts++;
      this.counts.rowsWritten += result.rowCount;
    }
    return result;
  }

  /** A copy of the statement counters. */
  counters(): DatabaseCounters {
    return { ...this.counts };
  }

  /** Runs a script of several statements without parameters (the schema). */
  abstract exec(sql: string): Promise<void>;

  /** Closes the connection(s); safe to call twice. */
  abstract close(): Promise<void>;

  protected abstract run<Row>(sql: string, params: unknown[]): Promise<QueryResult<Row>>;
}
