/**
 * The app's tables, created at startup (idempotent). `events.batch_id/batch_seq` make a retried
 * batch insert nothing twice; `page_view_batches` does the same for the page-view counters.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS events (
  id          bigserial   PRIMARY KEY,
  type        text        NOT NULL,
  user_id     text        NOT NULL,
  payload     jsonb,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  batch_id    text        NOT NULL,
  batch_seq   integer     NOT NULL,
  UNIQUE (batch_id, batch_seq)
);
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
