import type { FeedbackEvent, FeedbackSummary, FeedbackValue, MessageFeedback } from '@axon/contracts';
import type Database from 'better-sqlite3';
import type { FeedbackRepository, PreferencesRepository } from '../store';

type Row = Record<string, unknown>;

const toValue = (n: unknown): FeedbackValue => (n === 1 ? 'up' : 'down');

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
  createdAt: row.created_at as string,
  updatedAt: row.updated_at as string,
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
  SELECT message_id, user_id, org_id, conversation_id, model, value, comment, created_at, updated_at, 'web' AS source
  FROM message_feedback
  UNION ALL
  SELECT s.response_id, s.user_id, s.org_id, NULL, s.alias, CASE s.feedback WHEN 'up' THEN 1 ELSE -1 END, s.feedback_comment,
    s.feedback_at, s.feedback_at, s.source
  FROM model_served_responses s
  WHERE s.feedback IS NOT NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = s.response_id)
) f`;

/** Feedback on answers: one row per answer and person, replaced when they change their mind. */
export function createSqliteFeedbackRepository(db: Database.Database, now: () => Date): FeedbackRepository {
  const q = {
    // Only an answer in a conversation of the person giving feedback takes it; the model is the answer's own.
    upsert: db.prepare(
      `INSERT INTO message_feedback (message_id, user_id, org_id, conversation_id, model, value, comment, created_at, updated_at)
       SELECT m.id, c.user_id, ?, m.conversation_id, m.model, ?, ?, ?, ?
       FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.id = ? AND c.user_id = ? AND m.role = 'assistant'
       ON CONFLICT (message_id, user_id) DO UPDATE SET value = excluded.value, comment = excluded.comment, updated_at = excluded.updated_at
       RETURNING value, comment, updated_at`,
    ),
    clear: db.prepare('DELETE FROM message_feedback WHERE message_id = ? AND user_id = ?'),
    forConversation: db.prepare(
      'SELECT message_id, value, comment, updated_at FROM message_feedback WHERE conversation_id = ? AND user_id = ?',
    ),
  };
  const inPeriod = (orgId: string | null) => `f.updated_at >= ? AND f.updated_at < ?${orgId === null ? '' : ' AND f.org_id = ?'}`;
  const periodParams = (range: { from: string; to: string; orgId: string | null }) =>
    range.orgId === null ? [range.from, range.to] : [range.from, range.to, range.orgId];

  return {
    async set({ messageId, userId, orgId, value, comment }) {
      const at = now().toISOString();
      const row = q.upsert.get(orgId, value === 'up' ? 1 : -1, comment, at, at, messageId, userId) as Row | undefined;
      if (!row) return undefined;
      return { value: toValue(row.value), comment: (row.comment as string | null) ?? null, updatedAt: row.updated_at as string };
    },
    async clear(messageId, userId) {
      return q.clear.run(messageId, userId).changes > 0;
    },
    async forConversation(conversationId, userId) {
      const rows = q.forConversation.all(conversationId, userId) as Row[];
      return new Map<string, MessageFeedback>(
        rows.map((r) => [
          r.message_id as string,
          { value: toValue(r.value), comment: (r.comment as string | null) ?? null, updatedAt: r.updated_at as string },
        ]),
      );
    },
    async summary(range) {
      const where = inPeriod(range.orgId);
      const params = periodParams(range);
      const byModel = (
        db
          .prepare(
            `SELECT COALESCE(f.model, '(unknown)') AS model, f.source, SUM(f.value = 1) AS up, SUM(f.value = -1) AS down
             FROM ${ALL_FEEDBACK} WHERE ${where} GROUP BY 1, 2 ORDER BY COUNT(*) DESC, 1, 2`,
          )
          .all(...params) as Row[]
      ).map((r) => ({
        model: r.model as string,
        source: r.source === 'api' ? ('api' as const) : ('web' as const),
        up: Number(r.up),
        down: Number(r.down),
      }));
      const recent = (
        db
          .prepare(
            `SELECT f.*, u.email FROM ${ALL_FEEDBACK} LEFT JOIN users u ON u.id = f.user_id
             WHERE ${where} ORDER BY f.updated_at DESC, f.message_id DESC LIMIT 50`,
          )
          .all(...params) as Row[]
      ).map(toEvent);
      const totals = byModel.reduce((t, r) => ({ up: t.up + r.up, down: t.down + r.down }), { up: 0, down: 0 });
      return { from: range.from, to: range.to, totals, byModel, recent } satisfies FeedbackSummary;
    },
    async *events(range) {
      // A page at a time: no statement stays open while the reader awaits (the connection is shared).
      const page = db.prepare(
        `SELECT f.*, u.email FROM ${ALL_FEEDBACK} LEFT JOIN users u ON u.id = f.user_id
         WHERE ${inPeriod(range.orgId)} AND (f.updated_at, f.message_id, f.user_id) > (?, ?, ?)
         ORDER BY f.updated_at, f.message_id, f.user_id LIMIT 1000`,
      );
      for (let after = ['', '', '']; ; ) {
        const rows = page.all(...periodParams(range), ...after) as Row[];
        for (const row of rows) yield toEvent(row);
        const last = rows.at(-1);
        if (rows.length < 1000 || !last) return;
        after = [last.updated_at as string, last.message_id as string, last.user_id as string];
      }
    },
  };
}

/** Each person's own settings (their default instructions). */
export function createSqlitePreferencesRepository(db: Database.Database, now: () => Date): PreferencesRepository {
  const get = db.prepare('SELECT instructions FROM user_preferences WHERE user_id = ?');
  const put = db.prepare(
    `INSERT INTO user_preferences (user_id, instructions, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET instructions = excluded.instructions, updated_at = excluded.updated_at`,
  );
  return {
    async get(userId) {
      const row = get.get(userId) as Row | undefined;
      return { instructions: (row?.instructions as string | undefined) ?? '' };
    },
    async set(userId, { instructions }) {
      put.run(userId, instructions, now().toISOString());
      return { instructions };
    },
  };
}
