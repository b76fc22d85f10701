/** The `blobs` table as the core PostgreSQL migrations create it, for tests that build only what they use. */
export const BLOBS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS blobs (
  key TEXT PRIMARY KEY,
  bytes BYTEA NOT NULL,
  size BIGINT,
  content_type TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;
