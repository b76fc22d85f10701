import type { PgMigration } from './pg-migration';

/**
 * Read-only links to conversations (version 50, in the core range after conversations): the final
 * shape of the SQLite table of the same name, written for PostgreSQL the way the core schema is.
 */
export const SHARE_MIGRATIONS: PgMigration[] = [
  {
    version: 50,
    name: 'read-only links to conversations',
    sql: `
      -- A link members of the owner's organisation open read-only; revoked links stay as a record.
      CREATE TABLE conversation_shares (
        token TEXT PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        created_by TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TIMESTAMPTZ NOT NULL,
        revoked_at TIMESTAMPTZ
      );
      -- At most one live link per conversation.
      CREATE UNIQUE INDEX conversation_shares_live ON conversation_shares(conversation_id) WHERE revoked_at IS NULL;
    `,
  },
];
