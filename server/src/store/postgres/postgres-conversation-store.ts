import { randomUUID } from 'node:crypto';
import type { Conversation } from '@axon/contracts';
import type pg from 'pg';
import { decodeConversationCursor, encodeConversationCursor } from '../conversation-cursor';
import { containsPattern, snippetAround } from '../snippet-around';
import type { ConversationListQuery, ConversationRepository } from '../store';
import { inTransaction } from './pg-pool';
import { createParams, isoOf, isoOrNull, type Sql, storableText } from './pg-values';
import { toMessage } from './postgres-message-store';

type Row = Record<string, unknown>;

const toConversation = (row: Row): Conversation => ({
  id: row.id as string,
  title: row.title as string,
  model: (row.model as string | null) ?? null,
  prompt: (row.prompt as string | null) ?? null,
  collectionIds: (row.collection_ids as string[] | null) ?? [],
  systemPrompt: (row.system_prompt as string | null) ?? null,
  temperature: (row.temperature as number | null) ?? null,
  maxTokens: (row.max_tokens as number | null) ?? null,
  pinnedAt: isoOrNull(row.pinned_at),
  archivedAt: isoOrNull(row.archived_at),
  folder: (row.folder as string | null) ?? null,
  createdAt: isoOf(row.created_at),
  updatedAt: isoOf(row.updated_at),
});

/**
 * A conversation's columns with its collections as `collection_ids` (a text array). Named one by one,
 * not `c.*`: a prepared statement's result must not change type, and a newer replica may migrate a
 * column in while this one runs.
 */
const CONVERSATION_COLUMNS = `c.id, c.user_id, c.title, c.model, c.prompt, c.system_prompt, c.temperature, c.max_tokens,
  c.pinned_at, c.archived_at, c.folder, c.active_leaf_id, c.created_at, c.updated_at, ARRAY(SELECT cc.collection_id FROM conversation_collections cc WHERE cc.conversation_id = c.id ORDER BY cc.collection_id) AS collection_ids`;

const GET_SQL = `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = $1 AND c.user_id = $2`;

/** The conversation with its messages as one JSON array (`messages`, in order of writing): one statement. */
const GET_WITH_MESSAGES_SQL = `SELECT ${CONVERSATION_COLUMNS},
    (SELECT json_agg(m ORDER BY m.seq) FROM messages m WHERE m.conversation_id = c.id) AS messages
  FROM conversations c WHERE c.id = $1 AND c.user_id = $2`;

async function setConversationCollections(db: Sql, conversationId: string, collectionIds: string[]) {
  await db.query('DELETE FROM conversation_collections WHERE conversation_id = $1', [conversationId]);
  if (collectionIds.length === 0) return;
  await db.query(
    'INSERT INTO conversation_collections (conversation_id, collection_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
    [conversationId, collectionIds],
  );
}

/** Conversations in PostgreSQL: each person's own, newest first with pinned ones on top, searchable. */
export function createPostgresConversationRepository(pool: pg.Pool, { now }: { now: () => Date }): ConversationRepository {
  const iso = () => now().toISOString();
  const get = async (db: pg.Pool | pg.PoolClient, id: string, userId: string) => {
    const { rows } = await db.query({ name: 'axon-get-conversation', text: GET_SQL, values: [id, userId] });
    return rows[0] && toConversation(rows[0]);
  };

  return {
    async create({ userId, title, model, collectionIds = [], prompt = null, systemPrompt = null, temperature = null, maxTokens = null }) {
      const id = randomUUID();
      const at = iso();
      return inTransaction(pool, async (client) => {
        await client.query(
          `INSERT INTO conversations (id, user_id, title, model, prompt, system_prompt, temperature, max_tokens, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
          [id, userId, storableText(title), model, prompt, storableText(systemPrompt || null), temperature, maxTokens, at],
        );
        await setConversationCollections(client, id, collectionIds);
        return (await get(client, id, userId)) as Conversation;
      });
    },

    get: (id, userId) => get(pool, id, userId),

    async getWithMessages(id, userId) {
      const { rows } = await pool.query({ name: 'axon-get-conversation-messages', text: GET_WITH_MESSAGES_SQL, values: [id, userId] });
      const row = rows[0];
      if (!row) return undefined;
      const messages = ((row.messages as Row[] | null) ?? []).map(toMessage);
      return {
        conversation: toConversation(row),
        messages,
        activeLeafId: (row.active_leaf_id as string | null) ?? messages.at(-1)?.id ?? null,
      };
    },

    async list(userId, { q: text, limit, cursor, archived }: ConversationListQuery) {
      const params = createParams();
      const where = [`c.user_id = ${params.add(userId)}`];
      if (archived === true) where.push('c.archived_at IS NOT NULL');
      else if (archived === false || !text) where.push('c.archived_at IS NULL');
      if (text) {
        const pattern = params.add(containsPattern(storableText(text)));
        where.push(
          `(c.title ILIKE ${pattern} OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content ILIKE ${pattern}))`,
        );
      }
      if (cursor) {
        const after = decodeConversationCursor(cursor);
        const unpinned = params.add(after.unpinned);
        const updatedAt = params.add(after.updatedAt);
        where.push(
          `((c.pinned_at IS NULL)::int > ${unpinned} OR ((c.pinned_at IS NULL)::int = ${unpinned} AND (c.updated_at < ${updatedAt} OR (c.updated_at = ${updatedAt} AND c.id < ${params.add(after.id)}))))`,
        );
      }
      const { rows } = await pool.query(
        `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE ${where.join(' AND ')}
         ORDER BY (c.pinned_at IS NULL), c.updated_at DESC, c.id DESC LIMIT ${params.add(limit + 1)}`,
        params.values,
      );
      const items = rows.slice(0, limit).map(toConversation);
      if (text && items.length > 0) {
        // A few words around the match: in the first message that has it, else in the title.
        const { rows: matches } = await pool.query(
          `SELECT DISTINCT ON (conversation_id) conversation_id, content FROM messages
           WHERE conversation_id = ANY($1::text[]) AND content ILIKE $2 ORDER BY conversation_id, seq`,
          [items.map((item) => item.id), containsPattern(storableText(text))],
        );
        const firstMatch = new Map(matches.map((m) => [m.conversation_id as string, m.content as string]));
        for (const item of items) {
          const content = firstMatch.get(item.id);
          const snippet = (content !== undefined ? snippetAround(content, text) : undefined) ?? snippetAround(item.title, text);
          if (snippet) item.snippet = snippet;
        }
      }
      const last = items.at(-1);
      return { items, nextCursor: rows.length > limit && last ? encodeConversationCursor(last) : null };
    },

    async update(id, userId, patch) {
      const params = createParams();
      const sets: string[] = [];
      if (patch.title !== undefined) sets.push(`title = ${params.add(storableText(patch.title))}`);
      if (patch.model !== undefined) sets.push(`model = ${params.add(patch.model)}`);
      if (patch.prompt !== undefined) sets.push(`prompt = ${params.add(patch.prompt)}`);
      const columns = { systemPrompt: 'system_prompt', temperature: 'temperature', maxTokens: 'max_tokens', folder: 'folder' } as const;
      for (const [field, column] of Object.entries(columns) as [keyof typeof columns, string][]) {
        const value = patch[field];
        if (value === undefined) continue;
        sets.push(`${column} = ${params.add(value === '' ? null : typeof value === 'string' ? storableText(value) : value)}`);
      }
      if (patch.pinned !== undefined) sets.push(`pinned_at = ${params.add(patch.pinned ? iso() : null)}`);
      if (patch.archived !== undefined) sets.push(`archived_at = ${params.add(patch.archived ? iso() : null)}`);
      // Filing, pinning or archiving does not move a conversation up the list; a change of what it is does.
      const onlyOrganised = Object.keys(patch).every((k) => ['pinned', 'archived', 'folder'].includes(k));
      if (!onlyOrganised) sets.push(`updated_at = ${params.add(iso())}`);
      if (sets.length === 0 && patch.collectionIds === undefined) return get(pool, id, userId);
      if (sets.length === 0) sets.push('id = id');
      return inTransaction(pool, async (client) => {
        const result = await client.query(
          `UPDATE conversations SET ${sets.join(', ')} WHERE id = ${params.add(id)} AND user_id = ${params.add(userId)}`,
          params.values,
        );
        if ((result.rowCount ?? 0) === 0) return undefined;
        if (patch.collectionIds !== undefined) await setConversationCollections(client, id, patch.collectionIds);
        return get(client, id, userId);
      });
    },

    async delete(id, userId) {
      return ((await pool.query('DELETE FROM conversations WHERE id = $1 AND user_id = $2', [id, userId])).rowCount ?? 0) > 0;
    },
  };
}
