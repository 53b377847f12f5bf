import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';

/** Paths per upsert: 2 parameters each stays below PostgreSQL's limit of 65535 parameters. */
const PATHS_PER_STATEMENT = 10_000;

/** A page and its view count. */
export interface PageViewCount {
  path: string;
  views: number;
}

/** SQL of the `page_views` counters. */
@Injectable()
export class PageViewsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Adds the counts with one upsert per 10,000 paths and resolves with the number of paths it
   * changed (0 when the batch was applied before). The batch id is recorded in the same statement
   * (`<batchId>#<n>` for the n-th statement of a larger batch), so a retried batch whose first
   * attempt did commit, or a replayed one, adds nothing twice.
   */
  async addViews(counts: ReadonlyMap<string, number>, batchId: string): Promise<number> {
    const entries = [...counts];
    if (entries.length <= PATHS_PER_STATEMENT) return this.upsert(entries, batchId);
    let changed = 0;
    for (let start = 0, n = 1; start < entries.length; start += PATHS_PER_STATEMENT, n++) {
      changed += await this.upsert(entries.slice(start, start + PATHS_PER_STATEMENT), `${batchId}#${n}`);
    }
    return changed;
  }

  private async upsert(entries: ReadonlyArray<readonly [string, number]>, batchId: string): Promise<number> {
    const params: unknown[] = [batchId];
    const rows: string[] = [];
    for (const [path, views] of entries) {
      rows.push(`($${params.length + 1}, $${params.length + 2}::bigint)`);
      params.push(path, views);
    }
    const result = await this.db.query(
      `WITH batch AS (
         INSERT INTO page_view_batches (batch_id, applied_at) VALUES ($1, now())
         ON CONFLICT (batch_id) DO NOTHING
         RETURNING batch_id
       )
       INSERT INTO page_views (path, views, updated_at)
       SELECT v.path, v.views, now() FROM (VALUES ${rows.join(', ')}) AS v (path, views)
        WHERE EXISTS (SELECT 1 FROM batch)
       ON CONFLICT (path) DO UPDATE SET views = page_views.views + EXCLUDED.views, updated_at = EXCLUDED.updated_at`,
      params,
    );
    return result.rowCount;
  }

  /** The most viewed pages. */
  async top(limit: number): Promise<PageViewCount[]> {
    const result = await this.db.query<PageViewCount>(
      'SELECT path, views::int AS views FROM page_views ORDER BY views DESC, path LIMIT $1',
      [limit],
    );
    return result.rows;
  }
}
