import type pg from 'pg';
import type { ConversationShareRecord, ConversationShareRepository } from '../store';
import { inTransaction } from './pg-pool';
import { isoOf, isoOrNull } from './pg-values';

type Row = Record<string, unknown>;

const toShare = (row: Row): ConversationShareRecord => ({
  token: row.token as string,
  conversationId: row.conversation_id as string,
  createdBy: row.created_by as string,
  createdAt: isoOf(row.created_at),
  revokedAt: isoOrNull(row.revoked_at),
});

const LIVE = `SELECT s.* FROM conversation_shares s JOIN conversations c ON c.id = s.conversation_id
  WHERE s.conversation_id = $1 AND c.user_id = $2 AND s.revoked_at IS NULL`;

/** Conversations' read-only links in PostgreSQL (table of `SHARE_MIGRATIONS`). */
export function createPostgresShareRepository(pool: pg.Pool, { now }: { now: () => Date }): ConversationShareRepository {
  return {
    async share({ conversationId, userId, token }) {
      return inTransaction(pool, async (client) => {
        // Only the owner's conversation takes a link; a live one already there is kept (the partial
        // unique index settles two at once).
        const inserted = await client.query(
          `INSERT INTO conversation_shares (token, conversation_id, created_by, created_at)
           SELECT $1, c.id, c.user_id, $2 FROM conversations c WHERE c.id = $3 AND c.user_id = $4
           ON CONFLICT DO NOTHING`,
          [token, now().toISOString(), conversationId, userId],
        );
        const { rows } = await client.query(LIVE, [conversationId, userId]);
        return rows[0] ? { share: toShare(rows[0]), created: (inserted.rowCount ?? 0) > 0 } : undefined;
      });
    },
    async live(conversationId, userId) {
      const { rows } = await pool.query(LIVE, [conversationId, userId]);
      return rows[0] && toShare(rows[0]);
    },
    async revoke(conversationId, userId, at) {
      const { rows } = await pool.query(
        `UPDATE conversation_shares SET revoked_at = $1
         WHERE conversation_id = $2 AND revoked_at IS NULL AND conversation_id IN (SELECT id FROM conversations WHERE user_id = $3)
         RETURNING *`,
        [at.toISOString(), conversationId, userId],
      );
      return rows[0] && toShare(rows[0]);
    },
    async open(token, orgId) {
      const { rows } = await pool.query(
        `SELECT s.*, u.id AS owner_id, u.email AS owner_email
         FROM conversation_shares s JOIN conversations c ON c.id = s.conversation_id JOIN users u ON u.id = c.user_id
         WHERE s.token = $1 AND s.revoked_at IS NULL AND u.org_id = $2 AND u.disabled_at IS NULL AND u.deleted_at IS NULL`,
        [token, orgId],
      );
      const row = rows[0];
      return row && { share: toShare(row), ownerId: row.owner_id as string, ownerEmail: row.owner_email as string };
    },
  };
}
