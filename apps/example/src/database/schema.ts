/**
 * Serializes the schema scripts of instances that start at the same time on one database
 * (concurrent `CREATE TABLE IF NOT EXISTS` can fail on PostgreSQL's catalog). Each script runs as
 * one implicit transaction, which holds this lock until it ends.
 */
export const SCHEMA_LOCK_SQL = 'SELECT pg_advisory_xact_lock(727601)';

/**
 * The app's tables, created at startup (idempotent). `events.event_id` is unique: a retried batch
 * whose first attempt did commit, a replayed dead-letter file, or a redelivered broker message
 * inserts nothing twice. `page_view_batches` does the same for the page-view counters.
 */
export const SCHEMA_SQL = `
${SCHEMA_LOCK_SQL};
CREATE TABLE IF NOT EXISTS events (
  id          bigserial   PRIMARY KEY,
  event_id    uuid        NOT NULL DEFAULT gen_random_uuid(),
  type        text        NOT NULL,
  user_id     text        NOT NULL,
  payload     jsonb,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  batch_id    text        NOT NULL
);
-- Tables of earlier versions keyed rows by (batch_id, batch_seq) instead.
ALTER TABLE events ADD COLUMN IF NOT EXISTS event_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE events DROP COLUMN IF EXISTS batch_seq;
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id_key ON events (event_id);
CREATE TABLE IF NOT EXISTS page_views (
  path       text        PRIMARY KEY,
  views      bigint      NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS page_view_batches (
  batch_id   text        PRIMARY KEY,
  applied_at timestamptz NOT NULL
);
`;

/** Batch ids only guard against a retry applying a batch twice, which happens within seconds: keep a day. */
export const PRUNE_SQL = `DELETE FROM page_view_batches WHERE applied_at < now() - interval '1 day'`;
