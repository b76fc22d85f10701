import type { FeedbackEvent, FeedbackSummary, FeedbackValue, MessageFeedback } from '@axon/contracts';
import type pg from 'pg';
import type { FeedbackRepository, PreferencesRepository } from '../store';
import { createParams, isoOf, storableText } from './pg-values';

type Row = Record<string, unknown>;

/** Feedback rows read per query when exporting. */
const PAGE_SIZE = 1000;

const toValue = (n: unknown): FeedbackValue => (Number(n) === 1 ? 'up' : 'down');

const toEvent = (row: Row): FeedbackEvent => ({
  messageId: row.message_id as string,
  conversationId: (row.conversation_id as string | null) ?? null,
  model: (row.model as string | null) ?? null,
  source: row.source === 'api' ? 'api' : 'web',
  userId: row.user_id as string,
  userEmail: (row.email as string | null) ?? null,
  orgId: row.org_id as string,
  value: toValue(row.value),
  comment: (row.comment as string | null) ?? null,
  createdAt: isoOf(row.created_at),
  updatedAt: isoOf(row.updated_at),
});

/**
 * Feedback of both sources as one relation `f`: the web chat's thumbs (`message_feedback`), and the
 * feedback kept on the response a model alias served (`model_served_responses`), under the source
 * recorded when it was served. Programs' comes through `POST /v1/feedback`. A web chat answer of an
 * alias is served under its message id with its feedback in both places: while the message exists
 * the web chat's row counts and the served one is left out; after its conversation is deleted the
 * served row still counts, as the web's.
 */
const ALL_FEEDBACK = `(
  SELECT message_id, user_id, org_id, conversation_id, model, value::int AS value, comment, created_at, updated_at, 'web'::text AS source
  FROM message_feedback
  UNION ALL
  SELECT s.response_id, s.user_id, s.org_id, NULL, s.alias, CASE s.feedback WHEN 'up' THEN 1 ELSE -1 END, s.feedback_comment,
    s.feedback_at, s.feedback_at, s.source
  FROM model_served_responses s
  WHERE s.feedback IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = s.response_id)
) f`;

interface Period {
  from: string;
  to: string;
  orgId: string | null;
}

/** `f.updated_at` in `[from, to)`, in one organisation unless `orgId` is null. */
function inPeriod(range: Period, params: ReturnType<typeof createParams>): string {
  const where = `f.updated_at >= ${params.add(range.from)} AND f.updated_at < ${params.add(range.to)}`;
  return range.orgId === null ? where : `${where} AND f.org_id = ${params.add(range.orgId)}`;
}

/** Feedback on answers in PostgreSQL: one row per answer and person, replaced when they change their mind. */
export function createPostgresFeedbackRepository(pool: pg.Pool, { now }: { now: () => Date }): FeedbackRepository {
  return {
    async set({ messageId, userId, orgId, value, comment }) {
      const at = now().toISOString();
      // Only an answer in a conversation of the person giving feedback takes it; the model is the answer's own.
      const { rows } = await pool.query(
        `INSERT INTO message_feedback (message_id, user_id, org_id, conversation_id, model, value, comment, created_at, updated_at)
         SELECT m.id, c.user_id, $1, m.conversation_id, m.model, $2, $3, $4, $4
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.id = $5 AND c.user_id = $6 AND m.role = 'assistant'
         ON CONFLICT (message_id, user_id) DO UPDATE SET value = excluded.value, comment = excluded.comment, updated_at = excluded.updated_at
         RETURNING value, comment, updated_at`,
        [orgId, value === 'up' ? 1 : -1, storableText(comment), at, messageId, userId],
      );
      const row = rows[0];
      if (!row) return undefined;
      return { value: toValue(row.value), comment: (row.comment as string | null) ?? null, updatedAt: isoOf(row.updated_at) };
    },

    async clear(messageId, userId) {
      const result = await pool.query('DELETE FROM message_feedback WHERE message_id = $1 AND user_id = $2', [messageId, userId]);
      return (result.rowCount ?? 0) > 0;
    },

    async forConversation(conversationId, userId) {
      const { rows } = await pool.query(
        'SELECT message_id, value, comment, updated_at FROM message_feedback WHERE conversation_id = $1 AND user_id = $2',
        [conversationId, userId],
      );
      return new Map<string, MessageFeedback>(
        rows.map((r) => [
          r.message_id as string,
          { value: toValue(r.value), comment: (r.comment as string | null) ?? null, updatedAt: isoOf(r.updated_at) },
        ]),
      );
    },

    async summary(range) {
      const counts = createParams();
      const { rows: models } = await pool.query(
        `SELECT COALESCE(f.model, '(unknown)') AS model, f.source, count(*) FILTER (WHERE f.value = 1) AS up, count(*) FILTER (WHERE f.value = -1) AS down
         FROM ${ALL_FEEDBACK} WHERE ${inPeriod(range, counts)} GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2`,
        counts.values,
      );
      const byModel = models.map((r) => ({
        model: r.model as string,
        source: r.source === 'api' ? ('api' as const) : ('web' as const),
        up: Number(r.up),
        down: Number(r.down),
      }));
      const latest = createParams();
      const { rows: recent } = await pool.query(
        `SELECT f.*, u.email FROM ${ALL_FEEDBACK} LEFT JOIN users u ON u.id = f.user_id
         WHERE ${inPeriod(range, latest)} ORDER BY f.updated_at DESC, f.message_id DESC LIMIT 50`,
        latest.values,
      );
      const totals = byModel.reduce((t, r) => ({ up: t.up + r.up, down: t.down + r.down }), { up: 0, down: 0 });
      return { from: range.from, to: range.to, totals, byModel, recent: recent.map(toEvent) } satisfies FeedbackSummary;
    },

    async *events(range) {
      let after: { updatedAt: string; messageId: string; userId: string } | undefined;
      for (;;) {
        const params = createParams();
        const where = [inPeriod(range, params)];
        if (after) {
          where.push(
            `(f.updated_at, f.message_id, f.user_id) > (${params.add(after.updatedAt)}::timestamptz, ${params.add(after.messageId)}, ${params.add(after.userId)})`,
          );
        }
        const { rows } = await pool.query(
          `SELECT f.*, u.email FROM ${ALL_FEEDBACK} LEFT JOIN users u ON u.id = f.user_id
           WHERE ${where.join(' AND ')} ORDER BY f.updated_at, f.message_id, f.user_id LIMIT ${params.add(PAGE_SIZE)}`,
          params.values,
        );
        for (const row of rows) yield toEvent(row);
        const last = rows.at(-1);
        if (rows.length < PAGE_SIZE || !last) return;
        after = { updatedAt: isoOf(last.updated_at), messageId: last.message_id as string, userId: last.user_id as string };
      }
    },
  };
}

/** Each person's own settings (their default instructions), in PostgreSQL. */
export function createPostgresPreferencesRepository(pool: pg.Pool, { now }: { now: () => Date }): PreferencesRepository {
  return {
    async get(userId) {
      const { rows } = await pool.query({
        name: 'axon-get-preferences',
        text: 'SELECT instructions FROM user_preferences WHERE user_id = $1',
        values: [userId],
      });
      return { instructions: (rows[0]?.instructions as string | undefined) ?? '' };
    },
    async set(userId, { instructions }) {
      await pool.query(
        `INSERT INTO user_preferences (user_id, instructions, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET instructions = excluded.instructions, updated_at = excluded.updated_at`,
        [userId, storableText(instructions), now().toISOString()],
      );
      return { instructions };
    },
  };
}
