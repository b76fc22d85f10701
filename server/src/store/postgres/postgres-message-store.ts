import { randomUUID } from 'node:crypto';
import type { Message } from '@axon/contracts';
import type pg from 'pg';
import { INTERRUPTED_ANSWER_ERROR, type MessagePatch, type MessageRepository, type NewMessage, type NewTurn } from '../store';
import { inTransaction } from './pg-pool';
import { createParams, isoOf, type Sql, storableText } from './pg-values';

type Row = Record<string, unknown>;

export const toMessage = (row: Row): Message => ({
  id: row.id as string,
  conversationId: row.conversation_id as string,
  role: row.role as Message['role'],
  content: row.content as string,
  status: row.status as Message['status'],
  model: (row.model as string | null) ?? null,
  usage: { inputTokens: (row.input_tokens as number | null) ?? null, outputTokens: (row.output_tokens as number | null) ?? null },
  timing: { ttftMs: (row.ttft_ms as number | null) ?? null, totalMs: (row.total_ms as number | null) ?? null },
  error: (row.error as string | null) ?? null,
  citations: (row.citations as Message['citations'] | null) ?? [],
  agentRun: (row.agent_run as Message['agentRun'] | null) ?? null,
  attachments: (row.attachments as Message['attachments'] | null) ?? [],
  parentId: (row.parent_id as string | null) ?? null,
  versions: [],
  feedback: null,
  createdAt: isoOf(row.created_at),
});

/**
 * What {@link toMessage} reads, named one by one for prepared statements (whose result must not change
 * type when a newer replica migrates a column in while this one runs).
 */
const MESSAGE_COLUMNS = `id, conversation_id, parent_id, role, content, status, model, input_tokens, output_tokens, ttft_ms,
  total_ms, error, citations, agent_run, attachments, created_at`;

/** The last message of the branch the conversation shows: the one set, else its newest message. */
const LEAF_SQL = `SELECT COALESCE(c.active_leaf_id, (SELECT m.id FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1)) AS id
  FROM conversations c WHERE c.id = $1`;

async function activeLeaf(db: Sql, conversationId: string): Promise<string | null> {
  const { rows } = await db.query(LEAF_SQL, [conversationId]);
  return (rows[0]?.id as string | null | undefined) ?? null;
}

/**
 * A turn's messages in one statement (one round trip, one implicit transaction): the conversation's
 * row is updated first (locking it, as `append` does), then the messages are inserted in the order
 * given, which their `seq` keeps; none are when there is no such conversation.
 */
const APPEND_TURN_SQL = `WITH conversation AS (
    UPDATE conversations SET updated_at = $1, active_leaf_id = $2, title = COALESCE($3, title), model = COALESCE($4, model)
    WHERE id = $5 RETURNING id
  )
  INSERT INTO messages (id, conversation_id, role, content, status, model, created_at, parent_id, attachments, citations)
  SELECT m.id, conversation.id, m.role, m.content, m.status, m.model, $1, m.parent_id, m.attachments::json, m.citations::json
  FROM conversation,
    unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
      WITH ORDINALITY AS m(id, role, content, status, model, parent_id, attachments, citations, n)
  ORDER BY m.n
  RETURNING ${MESSAGE_COLUMNS}`;

/** Messages in PostgreSQL, in order of writing, as a tree of versions with one branch shown. */
export function createPostgresMessageRepository(pool: pg.Pool, { now }: { now: () => Date }): MessageRepository {
  return {
    async append({ id = randomUUID(), conversationId, role, content, status, model, parentId }: NewMessage) {
      const at = now().toISOString();
      return inTransaction(pool, async (client) => {
        // Locks the conversation's row: two appends to one conversation each follow the other.
        await client.query('UPDATE conversations SET updated_at = $1 WHERE id = $2', [at, conversationId]);
        const parent = parentId !== undefined ? parentId : await activeLeaf(client, conversationId);
        const { rows } = await client.query(
          `INSERT INTO messages (id, conversation_id, role, content, status, model, created_at, parent_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
          [id, conversationId, role, storableText(content), status, model, at, parent],
        );
        await client.query('UPDATE conversations SET active_leaf_id = $1 WHERE id = $2', [id, conversationId]);
        return toMessage(rows[0] as Row);
      });
    },

    async appendTurn({ conversationId, messages, title, model }: NewTurn) {
      const last = messages.at(-1);
      if (!last) return [];
      const json = (value: unknown[] | undefined) => (value?.length ? JSON.stringify(value) : null);
      const { rows } = await pool.query({
        name: 'axon-append-turn',
        text: APPEND_TURN_SQL,
        values: [
          now().toISOString(),
          last.id,
          title === undefined ? null : storableText(title),
          model ?? null,
          conversationId,
          messages.map((m) => m.id),
          messages.map((m) => m.role),
          messages.map((m) => storableText(m.content)),
          messages.map((m) => m.status),
          messages.map((m) => m.model),
          messages.map((m) => m.parentId),
          messages.map((m) => json(m.attachments)),
          messages.map((m) => json(m.citations)),
        ],
      });
      if (rows.length === 0) throw new Error(`No conversation ${conversationId}`);
      return rows.map(toMessage).sort((a, b) => messages.findIndex((m) => m.id === a.id) - messages.findIndex((m) => m.id === b.id));
    },

    async update(id, patch: MessagePatch) {
      const params = createParams();
      const sets: string[] = [];
      const columns: string[] = [];
      const set = (column: string, value: unknown) => {
        columns.push(column);
        sets.push(`${column} = ${params.add(value)}`);
      };
      if (patch.content !== undefined) set('content', storableText(patch.content));
      if (patch.status !== undefined) set('status', patch.status);
      if (patch.usage) {
        set('input_tokens', patch.usage.inputTokens);
        set('output_tokens', patch.usage.outputTokens);
      }
      if (patch.timing) {
        set('ttft_ms', patch.timing.ttftMs);
        set('total_ms', patch.timing.totalMs);
      }
      if (patch.error !== undefined) set('error', storableText(patch.error));
      if (patch.citations !== undefined) set('citations', JSON.stringify(patch.citations));
      if (patch.agentRun !== undefined) set('agent_run', patch.agentRun === null ? null : JSON.stringify(patch.agentRun));
      if (patch.attachments !== undefined) set('attachments', JSON.stringify(patch.attachments));
      if (sets.length === 0) return;
      const text = `UPDATE messages SET ${sets.join(', ')} WHERE id = ${params.add(id)}`;
      // Named by the columns it sets (its text follows from them): prepared once per connection.
      await pool.query({ name: `axon-update-message:${columns.join(',')}`, text, values: params.values });
    },

    async listByConversation(conversationId) {
      const { rows } = await pool.query({
        name: 'axon-list-messages',
        text: `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 ORDER BY seq`,
        values: [conversationId],
      });
      return rows.map(toMessage);
    },

    async delete(id) {
      await pool.query('DELETE FROM messages WHERE id = $1', [id]);
    },

    async markInterrupted() {
      const result = await pool.query(
        "UPDATE messages SET status = 'error', error = 'The server stopped while this answer was being written' WHERE status = 'streaming'",
      );
      return result.rowCount ?? 0;
    },

    async heartbeat(id, content) {
      await pool.query("UPDATE messages SET content = $1, heartbeat_at = $2 WHERE id = $3 AND status = 'streaming'", [
        storableText(content),
        now().toISOString(),
        id,
      ]);
    },

    async heartbeatMany(entries) {
      if (entries.length === 0) return;
      // One statement whatever the number of answers: their ids and texts as two arrays (a NULL text keeps the saved one).
      await pool.query({
        name: 'axon-heartbeat-many',
        text: `UPDATE messages AS m SET content = COALESCE(beat.content, m.content), heartbeat_at = $1
         FROM unnest($2::text[], $3::text[]) AS beat(id, content)
         WHERE m.id = beat.id AND m.status = 'streaming'`,
        values: [
          now().toISOString(),
          entries.map((entry) => entry.id),
          entries.map((entry) => (entry.content === undefined ? null : storableText(entry.content))),
        ],
      });
    },

    async markStale(heartbeatBefore) {
      // One UPDATE: replicas sweeping at once each get the rows they changed, never the same one.
      const { rows } = await pool.query(
        `UPDATE messages SET status = 'error', error = $1
         WHERE status = 'streaming' AND COALESCE(heartbeat_at, created_at) < $2
         RETURNING id, conversation_id, content`,
        [INTERRUPTED_ANSWER_ERROR, heartbeatBefore],
      );
      return rows.map((row) => ({ id: row.id as string, conversationId: row.conversation_id as string, content: row.content as string }));
    },

    activeLeaf: (conversationId) => activeLeaf(pool, conversationId),

    async setActiveLeaf(conversationId, messageId) {
      await pool.query('UPDATE conversations SET active_leaf_id = $1 WHERE id = $2', [messageId, conversationId]);
    },
  };
}
