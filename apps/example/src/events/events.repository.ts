import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import type { EventRecord } from './event-record.interface';

/** Rows per statement: 7 parameters each stays below PostgreSQL's limit of 65535 parameters. */
const ROWS_PER_STATEMENT = 5000;

/** A stored event, as `GET /events` lists it. */
export interface StoredEvent {
  /** The event's id (a UUID). */
  id: string;
  type: string;
  userId: string;
  payload: Record<string, unknown> | null;
  occurredAt: string;
  receivedAt: string;
}

/** SQL of the `events` table. */
@Injectable()
export class EventsRepository {
  constructor(private readonly db: Database) {}

  /**
   * Inserts the events with one multi-row INSERT (per 5000 rows) and resolves with the number of rows
   * it added. The event id is unique and conflicts are skipped, so retrying a batch whose first
   * attempt did commit, replaying a dead-letter file or a redelivered message inserts nothing twice.
   * `batchId` is kept with each row to tell which batch wrote it.
   */
  async insertMany(events: readonly EventRecord[], batchId: string = randomUUID()): Promise<number> {
    let inserted = 0;
    for (let start = 0; start < events.length; start += ROWS_PER_STATEMENT) {
      const chunk = events.slice(start, start + ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const rows = chunk.map((event) => {
        const p = params.length;
        params.push(
          event.id,
          event.type,
          event.userId,
          event.payload === null ? null : JSON.stringify(event.payload),
          event.occurredAt,
          event.receivedAt,
          batchId,
        );
        return `($${p + 1}::uuid, $${p + 2}, $${p + 3}, $${p + 4}::jsonb, $${p + 5}::timestamptz, $${p + 6}::timestamptz, $${p + 7})`;
      });
      const result = await this.db.query(
        `INSERT INTO events (event_id, type, user_id, payload, occurred_at, received_at, batch_id)
         VALUES ${rows.join(', ')}
         ON CONFLICT (event_id) DO NOTHING`,
        params,
      );
      inserted += result.rowCount;
    }
    return inserted;
  }

  /** The most recent events, newest first. */
  async latest(limit: number): Promise<StoredEvent[]> {
    const result = await this.db.query<StoredEvent>(
      `SELECT event_id::text AS id, type, user_id AS "userId", payload,
              to_json(occurred_at) #>> '{}' AS "occurredAt", to_json(received_at) #>> '{}' AS "receivedAt"
         FROM events ORDER BY id DESC LIMIT $1`,
      [limit],
    );
    return result.rows;
  }

  /** Number of stored events. */
  async count(): Promise<number> {
    const result = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM events');
    return result.rows[0].n;
  }
}
