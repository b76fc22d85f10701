import type Database from 'better-sqlite3';
import { type AccountChange, HOME_ORG_ID, type PasswordResetRepository, type SessionRepository, type UserRepository } from '../store';

type Row = Record<string, unknown>;

/** The account lifecycle in SQLite: disabling, deleting, password resets, and sessions listed by their owner. */
export function createSqliteAccountRepositories(
  db: Database.Database,
  now: () => Date,
): {
  users: Pick<UserRepository, 'disable' | 'enable' | 'delete' | 'setPassword'>;
  sessions: Pick<SessionRepository, 'describe' | 'touch' | 'listForUser' | 'deleteById' | 'deleteForUser'>;
  passwordResets: PasswordResetRepository;
} {
  const q = {
    inOrg: db.prepare('SELECT id, role, org_id, disabled_at FROM users WHERE id = ? AND org_id = ? AND deleted_at IS NULL'),
    otherActiveAdmins: db.prepare(
      "SELECT count(*) AS n FROM users WHERE org_id = ? AND role = 'admin' AND disabled_at IS NULL AND deleted_at IS NULL AND id != ?",
    ),
    disable: db.prepare('UPDATE users SET disabled_at = coalesce(disabled_at, ?) WHERE id = ?'),
    enable: db.prepare('UPDATE users SET disabled_at = NULL WHERE id = ? AND org_id = ? AND deleted_at IS NULL'),
    empty: db.prepare(
      'UPDATE users SET email = ?, password_hash = NULL, disabled_at = coalesce(disabled_at, ?), deleted_at = ? WHERE id = ?',
    ),
    setPassword: db.prepare('UPDATE users SET password_hash = ? WHERE id = ? AND deleted_at IS NULL'),
    sessionsOfUser: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
    revokeKeys: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL'),
    deleteKeys: db.prepare('DELETE FROM api_keys WHERE user_id = ?'),
    deleteIdentities: db.prepare('DELETE FROM user_identities WHERE user_id = ?'),
    deleteConversations: db.prepare('DELETE FROM conversations WHERE user_id = ?'),
    deleteMemberships: db.prepare('DELETE FROM collection_members WHERE user_id = ?'),
    resetsOfUser: db.prepare('DELETE FROM password_resets WHERE user_id = ?'),
    resetInsert: db.prepare('INSERT INTO password_resets (token_hash, user_id, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)'),
    resetTake: db.prepare(
      'UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING user_id',
    ),
    sessionDescribe: db.prepare('UPDATE sessions SET ip = ?, user_agent = ? WHERE token_hash = ?'),
    sessionTouch: db.prepare('UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?'),
    sessionList: db.prepare(
      'SELECT id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id',
    ),
    sessionDeleteById: db.prepare('DELETE FROM sessions WHERE id = ? AND user_id = ?'),
  };

  /** Finds the account and checks that losing it leaves the first organisation an active admin. */
  const check = (id: string, orgId: string): AccountChange => {
    const row = q.inOrg.get(id, orgId) as Row | undefined;
    if (!row) return 'not_found';
    const activeAdmin = row.role === 'admin' && row.disabled_at === null && row.org_id === HOME_ORG_ID;
    if (activeAdmin && (q.otherActiveAdmins.get(HOME_ORG_ID, id) as { n: number }).n === 0) return 'last_admin';
    return 'done';
  };

  return {
    users: {
      async disable(id, orgId, at) {
        // IMMEDIATE: two admins disabling each other at once cannot both pass the last-admin check.
        return db
          .transaction((): AccountChange => {
            const verdict = check(id, orgId);
            if (verdict !== 'done') return verdict;
            q.disable.run(at.toISOString(), id);
            q.sessionsOfUser.run(id);
            q.revokeKeys.run(at.toISOString(), id);
            q.resetsOfUser.run(id);
            return 'done';
          })
          .immediate();
      },
      async enable(id, orgId) {
        return q.enable.run(id, orgId).changes > 0;
      },
      async delete(id, orgId, at) {
        return db
          .transaction((): AccountChange => {
            const verdict = check(id, orgId);
            if (verdict !== 'done') return verdict;
            const iso = at.toISOString();
            // `.invalid` is reserved (RFC 2606): the address can never be anyone's, and frees the real one.
            q.empty.run(`deleted-${id}@deleted.invalid`, iso, iso, id);
            for (const statement of [
              q.sessionsOfUser,
              q.deleteKeys,
              q.deleteIdentities,
              q.deleteConversations,
              q.deleteMemberships,
              q.resetsOfUser,
            ])
              statement.run(id);
            return 'done';
          })
          .immediate();
      },
      async setPassword(id, passwordHash) {
        return q.setPassword.run(passwordHash, id).changes > 0;
      },
    },
    sessions: {
      async describe(tokenHash, { ip, userAgent }) {
        q.sessionDescribe.run(ip, userAgent?.slice(0, 500) ?? null, tokenHash);
      },
      async touch(tokenHash, at) {
        q.sessionTouch.run(at.toISOString(), tokenHash);
      },
      async listForUser(userId, at) {
        return (q.sessionList.all(userId, at.toISOString()) as Row[]).map((r) => ({
          id: r.id as string,
          createdAt: r.created_at as string,
          lastSeenAt: (r.last_seen_at as string | null) ?? null,
          expiresAt: r.expires_at as string,
          ip: (r.ip as string | null) ?? null,
          userAgent: (r.user_agent as string | null) ?? null,
        }));
      },
      async deleteById(id, userId) {
        return q.sessionDeleteById.run(id, userId).changes > 0;
      },
      async deleteForUser(userId) {
        return q.sessionsOfUser.run(userId).changes;
      },
    },
    passwordResets: {
      async create({ tokenHash, userId, createdBy, expiresAt }) {
        db.transaction(() => {
          q.resetsOfUser.run(userId);
          q.resetInsert.run(tokenHash, userId, createdBy, now().toISOString(), expiresAt.toISOString());
        })();
      },
      async take(tokenHash, at) {
        const iso = at.toISOString();
        const row = q.resetTake.get(iso, tokenHash, iso) as Row | undefined;
        return row && { userId: row.user_id as string };
      },
    },
  };
}
