import type Database from 'better-sqlite3';
import type { ConversationShareRecord, ConversationShareRepository } from '../store';

type Row = Record<string, unknown>;

const toShare = (row: Row): ConversationShareRecord => ({
  token: row.token as string,
  conversationId: row.conversation_id as string,
  createdBy: row.created_by as string,
  createdAt: row.created_at as string,
  revokedAt: (row.revoked_at as string | null) ?? null,
});

/** Conversations' read-only links in SQLite. */
export function createSqliteShareRepository(db: Database.Database, now: () => Date): ConversationShareRepository {
  const q = {
    // Only the owner's conversation takes a link; a live one already there is kept.
    insert: db.prepare(
      `INSERT INTO conversation_shares (token, conversation_id, created_by, created_at)
       SELECT ?, c.id, c.user_id, ? FROM conversations c WHERE c.id = ? AND c.user_id = ?
       ON CONFLICT DO NOTHING`,
    ),
    live: db.prepare(
      `SELECT s.* FROM conversation_shares s JOIN conversations c ON c.id = s.conversation_id
       WHERE s.conversation_id = ? AND c.user_id = ? AND s.revoked_at IS NULL`,
    ),
    revoke: db.prepare(
      `UPDATE conversation_shares SET revoked_at = ?
       WHERE conversation_id = ? AND revoked_at IS NULL AND conversation_id IN (SELECT id FROM conversations WHERE user_id = ?)
       RETURNING *`,
    ),
    open: db.prepare(
      `SELECT s.*, u.id AS owner_id, u.email AS owner_email
       FROM conversation_shares s JOIN conversations c ON c.id = s.conversation_id JOIN users u ON u.id = c.user_id
       WHERE s.token = ? AND s.revoked_at IS NULL AND u.org_id = ? AND u.disabled_at IS NULL AND u.deleted_at IS NULL`,
    ),
  };
  return {
    async share({ conversationId, userId, token }) {
      return db
        .transaction(() => {
          const created = q.insert.run(token, now().toISOString(), conversationId, userId).changes > 0;
          const row = q.live.get(conversationId, userId) as Row | undefined;
          return row ? { share: toShare(row), created } : undefined;
        })
        .immediate();
    },
    async live(conversationId, userId) {
      const row = q.live.get(conversationId, userId) as Row | undefined;
      return row && toShare(row);
    },
    async revoke(conversationId, userId, at) {
      const row = q.revoke.get(at.toISOString(), conversationId, userId) as Row | undefined;
      return row && toShare(row);
    },
    async open(token, orgId) {
      const row = q.open.get(token, orgId) as Row | undefined;
      return row && { share: toShare(row), ownerId: row.owner_id as string, ownerEmail: row.owner_email as string };
    },
  };
}
