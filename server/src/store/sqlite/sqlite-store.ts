import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Account, ApiKey, ApiKeyScope, Conversation, Message, Role, User } from '@axon/contracts';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import { AppError } from '../../errors';
import { decodeConversationCursor as decodeCursor, encodeConversationCursor as encodeCursor } from '../conversation-cursor';
import { containsPattern, snippetAround } from '../snippet-around';
import {
  type ApiKeyRecord,
  type ConversationListQuery,
  INTERRUPTED_ANSWER_ERROR,
  type MessagePatch,
  type NewMessage,
  type NewTurn,
  type Store,
  type UserRecord,
} from '../store';
import { SQLITE_MIGRATIONS } from './migrations';
import { createSqliteAccountRepositories } from './sqlite-account-store';
import {
  createSqliteAgentRepository,
  createSqliteDatasetRepository,
  createSqliteMcpServerRepository,
  createSqliteToolApprovalRepository,
} from './sqlite-agent-store';
import { createSqliteAuditRepository } from './sqlite-audit-store';
import { createSqliteFeedbackRepository, createSqlitePreferencesRepository } from './sqlite-feedback-store';
import { createSqliteModelRegistryRepository } from './sqlite-model-registry-store';
import { createSqliteOrgRepositories, HOME_ORG_ID } from './sqlite-org-store';
import { createSqliteRagRepositories } from './sqlite-rag-store';
import { createSqliteResponseRepository } from './sqlite-response-store';
import { createSqlitePromptLogRepository, createSqlitePromptRepository, createSqliteUsageRepository } from './sqlite-service-store';
import { createSqliteShareRepository } from './sqlite-share-store';

export { snippetAround };

type Row = Record<string, unknown>;

const toUser = (row: Row): UserRecord => ({
  id: row.id as string,
  email: row.email as string,
  role: row.role as Role,
  orgId: row.org_id as string,
  createdAt: row.created_at as string,
  passwordHash: (row.password_hash as string | null) ?? null,
  disabledAt: (row.disabled_at as string | null) ?? null,
});
const publicUser = ({ passwordHash: _secret, disabledAt: _state, ...user }: UserRecord): User => user;
const toAccount = ({ passwordHash: _secret, ...account }: UserRecord): Account => account;

const toApiKey = (row: Row): ApiKeyRecord => ({
  id: row.id as string,
  userId: row.user_id as string,
  name: row.name as string,
  prefix: row.prefix as string,
  scopes: String(row.scopes).split(',') as ApiKeyScope[],
  rpm: (row.rpm as number | null) ?? null,
  tpm: (row.tpm as number | null) ?? null,
  expiresAt: (row.expires_at as string | null) ?? null,
  prompt: (row.prompt as string | null) ?? null,
  model: (row.model as string | null) ?? null,
  createdAt: row.created_at as string,
  lastUsedAt: (row.last_used_at as string | null) ?? null,
  revokedAt: (row.revoked_at as string | null) ?? null,
});
const publicApiKey = ({ userId: _owner, ...key }: ApiKeyRecord): ApiKey => key;

const toConversation = (row: Row): Conversation => ({
  id: row.id as string,
  title: row.title as string,
  model: (row.model as string | null) ?? null,
  prompt: (row.prompt as string | null) ?? null,
  collectionIds: row.collection_ids ? (JSON.parse(row.collection_ids as string) as string[]) : [],
  systemPrompt: (row.system_prompt as string | null) ?? null,
  temperature: (row.temperature as number | null) ?? null,
  maxTokens: (row.max_tokens as number | null) ?? null,
  pinnedAt: (row.pinned_at as string | null) ?? null,
  archivedAt: (row.archived_at as string | null) ?? null,
  folder: (row.folder as string | null) ?? null,
  createdAt: row.created_at as string,
  updatedAt: row.updated_at as string,
});

const toMessage = (row: Row): Message => ({
  id: row.id as string,
  conversationId: row.conversation_id as string,
  role: row.role as Message['role'],
  content: row.content as string,
  status: row.status as Message['status'],
  model: (row.model as string | null) ?? null,
  usage: { inputTokens: (row.input_tokens as number | null) ?? null, outputTokens: (row.output_tokens as number | null) ?? null },
  timing: { ttftMs: (row.ttft_ms as number | null) ?? null, totalMs: (row.total_ms as number | null) ?? null },
  error: (row.error as string | null) ?? null,
  citations: row.citations ? JSON.parse(row.citations as string) : [],
  agentRun: row.agent_run ? JSON.parse(row.agent_run as string) : null,
  attachments: row.attachments ? JSON.parse(row.attachments as string) : [],
  parentId: (row.parent_id as string | null) ?? null,
  versions: [],
  feedback: null,
  createdAt: row.created_at as string,
});

/** The conversation's collections as a JSON array column, `collection_ids`. */
const COLLECTION_IDS_SQL =
  '(SELECT json_group_array(collection_id) FROM conversation_collections cc WHERE cc.conversation_id = c.id) AS collection_ids';

/** Applies pending migrations (every one, unless given fewer) inside one transaction each; returns the versions applied. */
export function migrateSqlite(db: Database.Database, migrations: typeof SQLITE_MIGRATIONS = SQLITE_MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as Row[]).map((r) => r.version as number));
  const done: number[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    if (migration.rebuildsTables) db.pragma('foreign_keys = OFF');
    db.transaction(() => {
      db.exec(migration.sql);
      migration.run?.(db);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        new Date().toISOString(),
      );
      if (migration.rebuildsTables && (db.pragma('foreign_key_check') as unknown[]).length > 0) {
        throw new Error(`migration ${migration.version} left rows pointing nowhere`);
      }
    })();
    if (migration.rebuildsTables) db.pragma('foreign_keys = ON');
    done.push(migration.version);
  }
  return done;
}

export interface SqliteStoreOptions {
  /** Path of the database file, or `:memory:`. */
  path: string;
  now?: () => Date;
  /** Search on in-memory indexes mirroring the tables (default), or in SQLite itself. */
  memoryIndex?: boolean;
}

/** The embedded store: one SQLite file in WAL mode, migrated on open. */
export function openSqliteStore({
  path,
  now = () => new Date(),
  memoryIndex = true,
}: SqliteStoreOptions): Store & { db: Database.Database; migrated: number[] } {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  sqliteVec.load(db);
  const migrated = migrateSqlite(db);
  const iso = () => now().toISOString();
  /** Message updates by the columns they set (a few shapes, at most one per combination of fields). */
  const messageUpdates = new Map<string, Database.Statement>();

  const q = {
    userInsert: db.prepare('INSERT INTO users (id, email, password_hash, role, org_id, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
    userByEmail: db.prepare('SELECT * FROM users WHERE email = ?'),
    userById: db.prepare('SELECT * FROM users WHERE id = ? AND deleted_at IS NULL'),
    userList: db.prepare('SELECT * FROM users WHERE org_id = ? AND deleted_at IS NULL ORDER BY created_at, email'),
    userSetOrg: db.prepare('UPDATE users SET org_id = ? WHERE id = ?'),
    userByIdentity: db.prepare('SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.provider = ? AND i.subject = ?'),
    identityInsert: db.prepare('INSERT OR IGNORE INTO user_identities (provider, subject, user_id, created_at) VALUES (?, ?, ?, ?)'),
    userCount: db.prepare('SELECT count(*) AS n FROM users'),
    userSetRole: db.prepare('UPDATE users SET role = ? WHERE id = ?'),
    sessionInsert: db.prepare(
      'INSERT INTO sessions (id, token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    sessionFind: db.prepare(
      `SELECT s.id AS session_id, s.csrf_token, s.expires_at, u.* FROM sessions s JOIN users u ON u.id = s.user_id
       WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL`,
    ),
    sessionDelete: db.prepare('DELETE FROM sessions WHERE token_hash = ?'),
    sessionDeleteExpired: db.prepare('DELETE FROM sessions WHERE expires_at <= ?'),
    keyInsert: db.prepare(
      'INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, rpm, tpm, expires_at, prompt, model, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    keyByHash: db.prepare(
      `SELECT k.*, u.email AS u_email, u.role AS u_role, u.org_id AS u_org_id, u.created_at AS u_created_at
       FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ? AND k.revoked_at IS NULL AND u.disabled_at IS NULL`,
    ),
    keyListForUser: db.prepare('SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at DESC'),
    keyListAll: db.prepare('SELECT k.* FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.org_id = ? ORDER BY k.created_at DESC'),
    keyRevokeInOrg: db.prepare(
      'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND user_id IN (SELECT id FROM users WHERE org_id = ?)',
    ),
    keyRevokeOwned: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL'),
    keyTouch: db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?'),
    convInsert: db.prepare(
      'INSERT INTO conversations (id, user_id, title, model, prompt, system_prompt, temperature, max_tokens, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    convGet: db.prepare(`SELECT c.*, ${COLLECTION_IDS_SQL} FROM conversations c WHERE c.id = ? AND c.user_id = ?`),
    convDelete: db.prepare('DELETE FROM conversations WHERE id = ? AND user_id = ?'),
    convTouch: db.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?'),
    msgInsert: db.prepare(
      'INSERT INTO messages (id, conversation_id, role, content, status, model, created_at, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
    ),
    msgLeaf: db.prepare(
      `SELECT COALESCE(c.active_leaf_id, (SELECT m.id FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1)) AS id
       FROM conversations c WHERE c.id = ?`,
    ),
    msgSetLeaf: db.prepare('UPDATE conversations SET active_leaf_id = ? WHERE id = ?'),
    turnTouch: db.prepare(
      'UPDATE conversations SET updated_at = ?, active_leaf_id = ?, title = COALESCE(?, title), model = COALESCE(?, model) WHERE id = ?',
    ),
    turnInsert: db.prepare(
      'INSERT INTO messages (id, conversation_id, role, content, status, model, created_at, parent_id, attachments, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
    ),
    msgList: db.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY seq'),
    msgDelete: db.prepare('DELETE FROM messages WHERE id = ?'),
    msgInterrupted: db.prepare(
      "UPDATE messages SET status = 'error', error = 'The server stopped while this answer was being written' WHERE status = 'streaming'",
    ),
    msgHeartbeat: db.prepare("UPDATE messages SET content = ?, heartbeat_at = ? WHERE id = ? AND status = 'streaming'"),
    msgTouch: db.prepare("UPDATE messages SET heartbeat_at = ? WHERE id = ? AND status = 'streaming'"),
    msgMarkStale: db.prepare(
      `UPDATE messages SET status = 'error', error = ?
       WHERE status = 'streaming' AND COALESCE(heartbeat_at, created_at) < ?
       RETURNING id, conversation_id, content`,
    ),
  };

  const setConversationCollections = (conversationId: string, collectionIds: string[]) => {
    db.prepare('DELETE FROM conversation_collections WHERE conversation_id = ?').run(conversationId);
    const insert = db.prepare('INSERT OR IGNORE INTO conversation_collections (conversation_id, collection_id) VALUES (?, ?)');
    for (const collectionId of collectionIds) insert.run(conversationId, collectionId);
  };

  const accounts = createSqliteAccountRepositories(db, now);
  const usage = createSqliteUsageRepository(db);
  const promptLog = createSqlitePromptLogRepository(db, { path });
  const store: Store & { db: Database.Database; migrated: number[] } = {
    db,
    migrated,
    passwordResets: accounts.passwordResets,
    ...createSqliteRagRepositories(db, now, { memoryIndex }),
    ...createSqliteOrgRepositories(db, now),
    audit: createSqliteAuditRepository(db, now),
    gatewayResponses: createSqliteResponseRepository(db, now),
    agents: createSqliteAgentRepository(db, now),
    mcpServers: createSqliteMcpServerRepository(db, now),
    toolApprovals: createSqliteToolApprovalRepository(db, now),
    datasets: createSqliteDatasetRepository(db, now),
    feedback: createSqliteFeedbackRepository(db, now),
    preferences: createSqlitePreferencesRepository(db, now),
    shares: createSqliteShareRepository(db, now),
    prompts: createSqlitePromptRepository(db, now),
    usage,
    promptLog,
    modelRegistry: createSqliteModelRegistryRepository(db, now),
    users: {
      ...accounts.users,
      async create({ email, passwordHash, role, orgId }) {
        const id = randomUUID();
        try {
          q.userInsert.run(id, email, passwordHash, role, orgId, iso());
        } catch (error) {
          if ((error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
            throw new AppError('conflict', { detail: `an account for ${email} already exists` });
          throw error;
        }
        return toUser(q.userById.get(id) as Row);
      },
      async createFirstAdmin({ email, passwordHash }) {
        const id = randomUUID();
        const created = db
          .transaction(() => {
            if ((q.userCount.get() as { n: number }).n > 0) return false;
            q.userInsert.run(id, email, passwordHash, 'admin', HOME_ORG_ID, iso());
            return true;
          })
          .immediate();
        return created ? toUser(q.userById.get(id) as Row) : undefined;
      },
      async findByEmail(email) {
        const row = q.userByEmail.get(email) as Row | undefined;
        return row && toUser(row);
      },
      async findById(id) {
        const row = q.userById.get(id) as Row | undefined;
        return row && toUser(row);
      },
      async list(orgId) {
        return (q.userList.all(orgId) as Row[]).map((r) => toAccount(toUser(r)));
      },
      async setOrg(id, orgId) {
        return q.userSetOrg.run(orgId, id).changes > 0;
      },
      async findByIdentity(provider, subject) {
        const row = q.userByIdentity.get(provider, subject) as Row | undefined;
        return row && toUser(row);
      },
      async linkIdentity(provider, subject, userId) {
        q.identityInsert.run(provider, subject, userId, iso());
      },
      async count() {
        return (q.userCount.get() as { n: number }).n;
      },
      async setRole(id, role) {
        return q.userSetRole.run(role, id).changes > 0;
      },
    },
    sessions: {
      ...accounts.sessions,
      async create({ tokenHash, userId, csrfToken, expiresAt }) {
        q.sessionInsert.run(randomUUID(), tokenHash, userId, csrfToken, iso(), expiresAt.toISOString());
      },
      async find(tokenHash, at) {
        const row = q.sessionFind.get(tokenHash, at.toISOString()) as Row | undefined;
        if (!row) return undefined;
        return {
          id: row.session_id as string,
          user: publicUser(toUser(row)),
          csrfToken: row.csrf_token as string,
          expiresAt: row.expires_at as string,
        };
      },
      async delete(tokenHash) {
        q.sessionDelete.run(tokenHash);
      },
      async deleteExpired(at) {
        return q.sessionDeleteExpired.run(at.toISOString()).changes;
      },
    },
    apiKeys: {
      async create({ userId, name, prefix, keyHash, scopes, rpm, tpm, expiresAt, prompt, model }) {
        const id = randomUUID();
        const createdAt = iso();
        q.keyInsert.run(id, userId, name, prefix, keyHash, scopes.join(','), rpm, tpm, expiresAt, prompt, model, createdAt);
        return { id, userId, name, prefix, scopes, rpm, tpm, expiresAt, prompt, model, createdAt, lastUsedAt: null, revokedAt: null };
      },
      async findActiveByHash(keyHash) {
        const row = q.keyByHash.get(keyHash) as Row | undefined;
        if (!row) return undefined;
        return {
          key: toApiKey(row),
          user: {
            id: row.user_id as string,
            email: row.u_email as string,
            role: row.u_role as Role,
            orgId: row.u_org_id as string,
            createdAt: row.u_created_at as string,
          },
        };
      },
      async listForUser(userId) {
        return (q.keyListForUser.all(userId) as Row[]).map((r) => publicApiKey(toApiKey(r)));
      },
      async listAll(orgId) {
        return (q.keyListAll.all(orgId) as Row[]).map(toApiKey);
      },
      async revoke(id, owner) {
        const result = 'userId' in owner ? q.keyRevokeOwned.run(iso(), id, owner.userId) : q.keyRevokeInOrg.run(iso(), id, owner.orgId);
        return result.changes > 0;
      },
      async touch(id, at) {
        q.keyTouch.run(at.toISOString(), id);
      },
    },
    conversations: {
      async create({ userId, title, model, collectionIds = [], prompt = null, systemPrompt = null, temperature = null, maxTokens = null }) {
        const id = randomUUID();
        const at = iso();
        db.transaction(() => {
          q.convInsert.run(id, userId, title, model, prompt, systemPrompt || null, temperature, maxTokens, at, at);
          setConversationCollections(id, collectionIds);
        })();
        return toConversation(q.convGet.get(id, userId) as Row);
      },
      async getWithMessages(id, userId) {
        const row = q.convGet.get(id, userId) as Row | undefined;
        if (!row) return undefined;
        const messages = (q.msgList.all(id) as Row[]).map(toMessage);
        return {
          conversation: toConversation(row),
          messages,
          activeLeafId: (row.active_leaf_id as string | null) ?? messages.at(-1)?.id ?? null,
        };
      },
      async get(id, userId) {
        const row = q.convGet.get(id, userId) as Row | undefined;
        return row && toConversation(row);
      },
      async list(userId, { q: text, limit, cursor, archived }: ConversationListQuery) {
        const where = ['c.user_id = ?'];
        const params: unknown[] = [userId];
        if (archived === true) where.push('c.archived_at IS NOT NULL');
        else if (archived === false || !text) where.push('c.archived_at IS NULL');
        if (text) {
          const pattern = containsPattern(text);
          where.push(
            `(c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\\'))`,
          );
          params.push(pattern, pattern);
        }
        if (cursor) {
          const after = decodeCursor(cursor);
          where.push(
            '((c.pinned_at IS NULL) > ? OR ((c.pinned_at IS NULL) = ? AND (c.updated_at < ? OR (c.updated_at = ? AND c.id < ?))))',
          );
          params.push(after.unpinned, after.unpinned, after.updatedAt, after.updatedAt, after.id);
        }
        const rows = db
          .prepare(
            `SELECT c.*, ${COLLECTION_IDS_SQL} FROM conversations c WHERE ${where.join(' AND ')}
             ORDER BY (c.pinned_at IS NULL), c.updated_at DESC, c.id DESC LIMIT ?`,
          )
          .all(...params, limit + 1) as Row[];
        const items = rows.slice(0, limit).map(toConversation);
        if (text) {
          // A few words around the match: in the title, else in the first message that has it.
          const firstMatch = db.prepare(
            "SELECT content FROM messages WHERE conversation_id = ? AND content LIKE ? ESCAPE '\\' ORDER BY seq LIMIT 1",
          );
          for (const item of items) {
            const row = firstMatch.get(item.id, containsPattern(text)) as { content: string } | undefined;
            const snippet = (row && snippetAround(row.content, text)) ?? snippetAround(item.title, text);
            if (snippet) item.snippet = snippet;
          }
        }
        const last = items.at(-1);
        return { items, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
      },
      async update(id, userId, patch) {
        const sets: string[] = [];
        const params: unknown[] = [];
        if (patch.title !== undefined) {
          sets.push('title = ?');
          params.push(patch.title);
        }
        if (patch.model !== undefined) {
          sets.push('model = ?');
          params.push(patch.model);
        }
        if (patch.prompt !== undefined) {
          sets.push('prompt = ?');
          params.push(patch.prompt);
        }
        const columns = { systemPrompt: 'system_prompt', temperature: 'temperature', maxTokens: 'max_tokens', folder: 'folder' } as const;
        for (const [field, column] of Object.entries(columns) as [keyof typeof columns, string][]) {
          if (patch[field] === undefined) continue;
          sets.push(`${column} = ?`);
          params.push(patch[field] === '' ? null : patch[field]);
        }
        if (patch.pinned !== undefined) {
          sets.push('pinned_at = ?');
          params.push(patch.pinned ? iso() : null);
        }
        if (patch.archived !== undefined) {
          sets.push('archived_at = ?');
          params.push(patch.archived ? iso() : null);
        }
        // Filing, pinning or archiving does not move a conversation up the list; a change of what it is does.
        const onlyOrganised = Object.keys(patch).every((k) => ['pinned', 'archived', 'folder'].includes(k));
        if (!onlyOrganised) {
          sets.push('updated_at = ?');
          params.push(iso());
        }
        if (sets.length === 0 && patch.collectionIds === undefined) {
          const row = q.convGet.get(id, userId) as Row | undefined;
          return row && toConversation(row);
        }
        if (sets.length === 0) sets.push('id = id');
        const changed = db.transaction(() => {
          const n = db
            .prepare(`UPDATE conversations SET ${sets.join(', ')} WHERE id = ? AND user_id = ?`)
            .run(...params, id, userId).changes;
          if (n > 0 && patch.collectionIds !== undefined) setConversationCollections(id, patch.collectionIds);
          return n;
        })();
        if (changed === 0) return undefined;
        return toConversation(q.convGet.get(id, userId) as Row);
      },
      async delete(id, userId) {
        return q.convDelete.run(id, userId).changes > 0;
      },
    },
    messages: {
      async append({ id = randomUUID(), conversationId, role, content, status, model, parentId }: NewMessage) {
        const at = iso();
        const row = db.transaction(() => {
          q.convTouch.run(at, conversationId);
          const parent =
            parentId !== undefined ? parentId : ((q.msgLeaf.get(conversationId) as { id: string | null } | undefined)?.id ?? null);
          const inserted = q.msgInsert.get(id, conversationId, role, content, status, model, at, parent) as Row;
          q.msgSetLeaf.run(id, conversationId);
          return inserted;
        })();
        return toMessage(row);
      },
      async appendTurn({ conversationId, messages, title, model }: NewTurn) {
        const at = iso();
        const last = messages.at(-1);
        if (!last) return [];
        const rows = db.transaction(() => {
          if (q.turnTouch.run(at, last.id, title ?? null, model ?? null, conversationId).changes === 0)
            throw new Error(`No conversation ${conversationId}`);
          return messages.map(
            (m) =>
              q.turnInsert.get(
                m.id,
                conversationId,
                m.role,
                m.content,
                m.status,
                m.model,
                at,
                m.parentId,
                m.attachments?.length ? JSON.stringify(m.attachments) : null,
                m.citations?.length ? JSON.stringify(m.citations) : null,
              ) as Row,
          );
        })();
        return rows.map(toMessage);
      },
      async update(id, patch: MessagePatch) {
        const sets: string[] = [];
        const params: unknown[] = [];
        const set = (column: string, value: unknown) => {
          sets.push(`${column} = ?`);
          params.push(value);
        };
        if (patch.content !== undefined) set('content', patch.content);
        if (patch.status !== undefined) set('status', patch.status);
        if (patch.usage) {
          set('input_tokens', patch.usage.inputTokens);
          set('output_tokens', patch.usage.outputTokens);
        }
        if (patch.timing) {
          set('ttft_ms', patch.timing.ttftMs);
          set('total_ms', patch.timing.totalMs);
        }
        if (patch.error !== undefined) set('error', patch.error);
        if (patch.citations !== undefined) set('citations', JSON.stringify(patch.citations));
        if (patch.agentRun !== undefined) set('agent_run', patch.agentRun === null ? null : JSON.stringify(patch.agentRun));
        if (patch.attachments !== undefined) set('attachments', JSON.stringify(patch.attachments));
        if (sets.length === 0) return;
        // Every answer ends with an update, of one of a few shapes: each shape is prepared once.
        const columns = sets.join(', ');
        let statement = messageUpdates.get(columns);
        if (!statement) {
          statement = db.prepare(`UPDATE messages SET ${columns} WHERE id = ?`);
          messageUpdates.set(columns, statement);
        }
        statement.run(...params, id);
      },
      async listByConversation(conversationId) {
        return (q.msgList.all(conversationId) as Row[]).map(toMessage);
      },
      async delete(id) {
        q.msgDelete.run(id);
      },
      async markInterrupted() {
        return q.msgInterrupted.run().changes;
      },
      async heartbeat(id, content) {
        q.msgHeartbeat.run(content, iso(), id);
      },
      async heartbeatMany(entries) {
        if (entries.length === 0) return;
        const at = iso();
        db.transaction(() => {
          for (const { id, content } of entries) {
            if (content === undefined) q.msgTouch.run(at, id);
            else q.msgHeartbeat.run(content, at, id);
          }
        })();
      },
      async markStale(heartbeatBefore) {
        const rows = q.msgMarkStale.all(INTERRUPTED_ANSWER_ERROR, heartbeatBefore) as Row[];
        return rows.map((row) => ({ id: row.id as string, conversationId: row.conversation_id as string, content: row.content as string }));
      },
      async activeLeaf(conversationId) {
        return (q.msgLeaf.get(conversationId) as { id: string | null } | undefined)?.id ?? null;
      },
      async setActiveLeaf(conversationId, messageId) {
        q.msgSetLeaf.run(messageId, conversationId);
      },
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (!db.open) return;
      // Queued usage and prompt log rows are written first.
      await promptLog.close();
      usage.close();
      db.close();
    },
  };
  return store;
}
