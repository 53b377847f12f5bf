import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Database } from '../database/database';
import type { EventRecord } from './event-record.interface';

/** Rows per statement: 7 parameters each stays below PostgreSQL's limit of 65535 parameters. */
const ROWS_PER_STATEMENT = 5000;

/** A stored event, as `GET /events` lists it. */
export interface StoredEvent {
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
   * Inserts the events with one multi-row INSERT (per 5000 rows). `(batchId, position)` is unique,
   * so retrying a batch whose first attempt did commit inserts nothing twice.
   */
  async insertMany(events: readonly EventRecord[], batchId: string = randomUUID()): Promise<void> {
    for (let start = 0; start < events.length; start += ROWS_PER_STATEMENT) {
      const chunk = events.slice(start, start + ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      const rows = chunk.map((event, i) => {
        const p = params.length;
        params.push(
          event.type,
          event.userId,
          event.payload === null ? null : JSON.stringify(event.payload),
          event.occurredAt,
          event.receivedAt,
          batchId,
          start + i,
        );
        return `($${p + 1}, $${p + 2}, $${p + 3}::jsonb, $${p + 4}::timestamptz, $${p + 5}::timestamptz, $${p + 6}, $${p + 7})`;
      });
      await this.db.query(
        `INSERT INTO events (type, user_id, payload, occurred_at, received_at, batch_id, batch_seq)
         VALUES ${rows.join(', ')}
         ON CONFLICT (batch_id, batch_seq) DO NOTHING`,
        params,
      );
    }
  }

  /** The most recent events, newest first. */
  async latest(limit: number): Promise<StoredEvent[]> {
    const result = await this.db.query<StoredEvent>(
      `SELECT id::text AS id, type, user_id AS "userId", payload,
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
