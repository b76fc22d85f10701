import { randomUUID } from 'node:crypto';
import type { Account, ApiKey, ApiKeyScope, Role, User } from '@axon/contracts';
import type pg from 'pg';
import { AppError } from '../../errors';
import {
  type AccountChange,
  type ApiKeyRecord,
  type ApiKeyRepository,
  HOME_ORG_ID,
  type PasswordResetRepository,
  type SessionRepository,
  type UserRecord,
  type UserRepository,
} from '../store';
import { inTransaction } from './pg-pool';
import { isoOf, isoOrNull, isUniqueViolation, type Sql } from './pg-values';

type Row = Record<string, unknown>;

/**
 * Taken by every change that could leave the first organisation without an active admin, so that two
 * admins disabling or deleting each other at once cannot both pass the check.
 */
const LAST_ADMIN_LOCK = 0x6178_0001;

const toUser = (row: Row): UserRecord => ({
  id: row.id as string,
  email: row.email as string,
  role: row.role as Role,
  orgId: row.org_id as string,
  createdAt: isoOf(row.created_at),
  passwordHash: (row.password_hash as string | null) ?? null,
  disabledAt: isoOrNull(row.disabled_at),
});
const publicUser = ({ passwordHash: _secret, disabledAt: _state, ...user }: UserRecord): User => user;
const toAccount = ({ passwordHash: _secret, ...account }: UserRecord): Account => account;

const toApiKey = (row: Row): ApiKeyRecord => ({
  id: row.id as string,
  userId: row.user_id as string,
  name: row.name as string,
  prefix: row.prefix as string,
  scopes: row.scopes as ApiKeyScope[],
  rpm: (row.rpm as number | null) ?? null,
  tpm: (row.tpm as number | null) ?? null,
  expiresAt: isoOrNull(row.expires_at),
  prompt: (row.prompt as string | null) ?? null,
  model: (row.model as string | null) ?? null,
  createdAt: isoOf(row.created_at),
  lastUsedAt: isoOrNull(row.last_used_at),
  revokedAt: isoOrNull(row.revoked_at),
});
const publicApiKey = ({ userId: _owner, ...key }: ApiKeyRecord): ApiKey => key;

const changed = (result: pg.QueryResult) => (result.rowCount ?? 0) > 0;

/** Accounts, their sessions, password resets and API keys, in PostgreSQL. */
export function createPostgresAccountRepositories(
  pool: pg.Pool,
  { now }: { now: () => Date },
): {
  users: UserRepository;
  sessions: SessionRepository;
  passwordResets: PasswordResetRepository;
  apiKeys: ApiKeyRepository;
} {
  const iso = () => now().toISOString();
  const sql: Sql = pool;

  const userById = async (db: Sql, id: string) => {
    const { rows } = await db.query('SELECT * FROM users WHERE id = $1 AND deleted_at IS NULL', [id]);
    return rows[0] && toUser(rows[0]);
  };

  /** Finds the account and checks that losing it leaves the first organisation an active admin (under the lock). */
  const check = async (client: pg.PoolClient, id: string, orgId: string): Promise<AccountChange> => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [LAST_ADMIN_LOCK]);
    const { rows } = await client.query(
      'SELECT role, org_id, disabled_at FROM users WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL',
      [id, orgId],
    );
    const row = rows[0];
    if (!row) return 'not_found';
    const activeAdmin = row.role === 'admin' && row.disabled_at === null && row.org_id === HOME_ORG_ID;
    if (!activeAdmin) return 'done';
    const others = await client.query(
      "SELECT 1 FROM users WHERE org_id = $1 AND role = 'admin' AND disabled_at IS NULL AND deleted_at IS NULL AND id <> $2 LIMIT 1",
      [HOME_ORG_ID, id],
    );
    return others.rows.length === 0 ? 'last_admin' : 'done';
  };

  return {
    users: {
      async create({ email, passwordHash, role, orgId }) {
        try {
          const { rows } = await sql.query(
            'INSERT INTO users (id, email, password_hash, role, org_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
            [randomUUID(), email, passwordHash, role, orgId, iso()],
          );
          return toUser(rows[0] as Row);
        } catch (error) {
          if (isUniqueViolation(error)) throw new AppError('conflict', { detail: `an account for ${email} already exists` });
          throw error;
        }
      },
      async createFirstAdmin({ email, passwordHash }) {
        return inTransaction(pool, async (client) => {
          // Holds off every other insert into users until this one commits: exactly one first admin.
          await client.query('LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE');
          const { rows } = await client.query(
            `INSERT INTO users (id, email, password_hash, role, org_id, created_at)
             SELECT $1, $2, $3, 'admin', $4, $5 WHERE NOT EXISTS (SELECT 1 FROM users) RETURNING *`,
            [randomUUID(), email, passwordHash, HOME_ORG_ID, iso()],
          );
          return rows[0] && toUser(rows[0]);
        });
      },
      async findByEmail(email) {
        const { rows } = await sql.query('SELECT * FROM users WHERE email = $1', [email]);
        return rows[0] && toUser(rows[0]);
      },
      findById: (id) => userById(sql, id),
      async list(orgId) {
        const { rows } = await sql.query('SELECT * FROM users WHERE org_id = $1 AND deleted_at IS NULL ORDER BY created_at, email', [
          orgId,
        ]);
        return rows.map((r) => toAccount(toUser(r)));
      },
      async count() {
        const { rows } = await sql.query<{ n: number }>('SELECT count(*) AS n FROM users');
        return Number(rows[0]?.n ?? 0);
      },
      async setRole(id, role) {
        return changed(await sql.query('UPDATE users SET role = $1 WHERE id = $2', [role, id]));
      },
      async setOrg(id, orgId) {
        return changed(await sql.query('UPDATE users SET org_id = $1 WHERE id = $2', [orgId, id]));
      },
      async findByIdentity(provider, subject) {
        const { rows } = await sql.query(
          'SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.provider = $1 AND i.subject = $2',
          [provider, subject],
        );
        return rows[0] && toUser(rows[0]);
      },
      async linkIdentity(provider, subject, userId) {
        await sql.query(
          'INSERT INTO user_identities (provider, subject, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
          [provider, subject, userId, iso()],
        );
      },
      async disable(id, orgId, at) {
        return inTransaction(pool, async (client): Promise<AccountChange> => {
          const verdict = await check(client, id, orgId);
          if (verdict !== 'done') return verdict;
          const when = at.toISOString();
          await client.query('UPDATE users SET disabled_at = coalesce(disabled_at, $1) WHERE id = $2', [when, id]);
          await client.query('DELETE FROM sessions WHERE user_id = $1', [id]);
          await client.query('UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL', [when, id]);
          await client.query('DELETE FROM password_resets WHERE user_id = $1', [id]);
          return 'done';
        });
      },
      async enable(id, orgId) {
        return changed(
          await sql.query('UPDATE users SET disabled_at = NULL WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL', [id, orgId]),
        );
      },
      async delete(id, orgId, at) {
        return inTransaction(pool, async (client): Promise<AccountChange> => {
          const verdict = await check(client, id, orgId);
          if (verdict !== 'done') return verdict;
          const when = at.toISOString();
          // `.invalid` is reserved (RFC 2606): the address can never be anyone's, and frees the real one.
          await client.query(
            'UPDATE users SET email = $1, password_hash = NULL, disabled_at = coalesce(disabled_at, $2), deleted_at = $2 WHERE id = $3',
            [`deleted-${id}@deleted.invalid`, when, id],
          );
          for (const table of ['sessions', 'api_keys', 'user_identities', 'conversations', 'collection_members', 'password_resets']) {
            await client.query(`DELETE FROM ${table} WHERE user_id = $1`, [id]);
          }
          return 'done';
        });
      },
      async setPassword(id, passwordHash) {
        return changed(await sql.query('UPDATE users SET password_hash = $1 WHERE id = $2 AND deleted_at IS NULL', [passwordHash, id]));
      },
    },

    sessions: {
      async create({ tokenHash, userId, csrfToken, expiresAt }) {
        await sql.query(
          'INSERT INTO sessions (id, token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)',
          [randomUUID(), tokenHash, userId, csrfToken, iso(), expiresAt.toISOString()],
        );
      },
      async find(tokenHash, at) {
        // Named (read on every signed-in request, so prepared once per connection), with its columns
        // spelled out: a prepared `*` fails on a replica still running when a newer one adds a column.
        const { rows } = await sql.query({
          name: 'axon-find-session',
          text: `SELECT s.id AS session_id, s.csrf_token, s.expires_at AS session_expires_at,
             u.id, u.email, u.role, u.org_id, u.created_at, u.disabled_at
           FROM sessions s JOIN users u ON u.id = s.user_id
           WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL`,
          values: [tokenHash, at.toISOString()],
        });
        const row = rows[0];
        if (!row) return undefined;
        return {
          id: row.session_id as string,
          user: publicUser(toUser(row)),
          csrfToken: row.csrf_token as string,
          expiresAt: isoOf(row.session_expires_at),
        };
      },
      async delete(tokenHash) {
        await sql.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash]);
      },
      async describe(tokenHash, { ip, userAgent }) {
        await sql.query('UPDATE sessions SET ip = $1, user_agent = $2 WHERE token_hash = $3', [
          ip,
          userAgent?.slice(0, 500) ?? null,
          tokenHash,
        ]);
      },
      async touch(tokenHash, at) {
        await sql.query('UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2', [at.toISOString(), tokenHash]);
      },
      async listForUser(userId, at) {
        const { rows } = await sql.query(
          `SELECT id, created_at, last_seen_at, expires_at, ip, user_agent FROM sessions
           WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id`,
          [userId, at.toISOString()],
        );
        return rows.map((r) => ({
          id: r.id as string,
          createdAt: isoOf(r.created_at),
          lastSeenAt: isoOrNull(r.last_seen_at),
          expiresAt: isoOf(r.expires_at),
          ip: (r.ip as string | null) ?? null,
          userAgent: (r.user_agent as string | null) ?? null,
        }));
      },
      async deleteById(id, userId) {
        return changed(await sql.query('DELETE FROM sessions WHERE id = $1 AND user_id = $2', [id, userId]));
      },
      async deleteForUser(userId) {
        return (await sql.query('DELETE FROM sessions WHERE user_id = $1', [userId])).rowCount ?? 0;
      },
      async deleteExpired(at) {
        return (await sql.query('DELETE FROM sessions WHERE expires_at <= $1', [at.toISOString()])).rowCount ?? 0;
      },
    },

    passwordResets: {
      async create({ tokenHash, userId, createdBy, expiresAt }) {
        await inTransaction(pool, async (client) => {
          await client.query('DELETE FROM password_resets WHERE user_id = $1', [userId]);
          await client.query(
            'INSERT INTO password_resets (token_hash, user_id, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
            [tokenHash, userId, createdBy, iso(), expiresAt.toISOString()],
          );
        });
      },
      async take(tokenHash, at) {
        const { rows } = await sql.query(
          'UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id',
          [at.toISOString(), tokenHash],
        );
        return rows[0] && { userId: rows[0].user_id as string };
      },
    },

    apiKeys: {
      async create({ userId, name, prefix, keyHash, scopes, rpm, tpm, expiresAt, prompt, model }) {
        const { rows } = await sql.query(
          `INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, rpm, tpm, expires_at, prompt, model, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
          [randomUUID(), userId, name, prefix, keyHash, scopes, rpm, tpm, expiresAt, prompt, model, iso()],
        );
        return toApiKey(rows[0] as Row);
      },
      async findActiveByHash(keyHash) {
        const { rows } = await sql.query(
          `SELECT k.*, u.email AS u_email, u.role AS u_role, u.org_id AS u_org_id, u.created_at AS u_created_at
           FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND u.disabled_at IS NULL`,
          [keyHash],
        );
        const row = rows[0];
        if (!row) return undefined;
        return {
          key: toApiKey(row),
          user: {
            id: row.user_id as string,
            email: row.u_email as string,
            role: row.u_role as Role,
            orgId: row.u_org_id as string,
            createdAt: isoOf(row.u_created_at),
          },
        };
      },
      async listForUser(userId) {
        const { rows } = await sql.query('SELECT * FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id', [userId]);
        return rows.map((r) => publicApiKey(toApiKey(r)));
      },
      async listAll(orgId) {
        const { rows } = await sql.query(
          'SELECT k.* FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.org_id = $1 ORDER BY k.created_at DESC, k.id',
          [orgId],
        );
        return rows.map(toApiKey);
      },
      async revoke(id, owner) {
        const result =
          'userId' in owner
            ? await sql.query('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL', [
                iso(),
                id,
                owner.userId,
              ])
            : await sql.query(
                'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE org_id = $3)',
                [iso(), id, owner.orgId],
              );
        return changed(result);
      },
      async touch(id, at) {
        await sql.query('UPDATE api_keys SET last_used_at = $1 WHERE id = $2', [at.toISOString(), id]);
      },
    },
  };
}
