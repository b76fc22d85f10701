import type Database from 'better-sqlite3';
import type { GatewayResponseRecord, GatewayResponseRepository } from '../store';

type Row = Record<string, unknown>;

/** Longest thread `thread` walks back (a loop in the links cannot make it run forever). */
const MAX_THREAD_LENGTH = 10_000;

const toRecord = (row: Row): GatewayResponseRecord => ({
  id: row.id as string,
  owner: { userId: row.user_id as string, orgId: row.org_id as string },
  kind: row.kind as GatewayResponseRecord['kind'],
  model: row.model as string,
  connection: row.connection as string,
  previousId: (row.previous_id as string | null) ?? null,
  inputItems: JSON.parse(row.input_items as string) as unknown[],
  outputItems: JSON.parse(row.output_items as string) as unknown[],
  response: row.response ? (JSON.parse(row.response as string) as unknown) : null,
  createdAt: row.created_at as string,
  expiresAt: row.expires_at as string,
});

/** Responses of `/v1/responses` in SQLite: one row each, linked to the one they continue. */
export function createSqliteResponseRepository(db: Database.Database, now: () => Date): GatewayResponseRepository {
  const insert = db.prepare(
    `INSERT INTO gateway_responses
       (id, org_id, user_id, kind, model, connection, previous_id, thread_id, input_items, output_items, response, created_at, expires_at)
     VALUES (@id, @orgId, @userId, @kind, @model, @connection, @previousId, @threadId, @inputItems, @outputItems, @response, @createdAt, @expiresAt)
     ON CONFLICT(id) DO NOTHING`,
  );
  const threadOf = db.prepare('SELECT thread_id FROM gateway_responses WHERE id = ? AND user_id = ? AND org_id = ?');
  const extendThread = db.prepare('UPDATE gateway_responses SET expires_at = ? WHERE thread_id = ? AND expires_at < ?');
  const byId = db.prepare('SELECT * FROM gateway_responses WHERE id = ? AND user_id = ? AND org_id = ? AND expires_at > ?');
  // Earlier turns are read only through links from a response of the same owner.
  const thread = db.prepare(
    `WITH RECURSIVE chain(id, previous_id, input_items, output_items, depth) AS (
       SELECT id, previous_id, input_items, output_items, 0 FROM gateway_responses
        WHERE id = @id AND user_id = @userId AND org_id = @orgId AND kind = 'translated' AND expires_at > @now
       UNION ALL
       SELECT r.id, r.previous_id, r.input_items, r.output_items, chain.depth + 1
         FROM gateway_responses r JOIN chain ON r.id = chain.previous_id
        WHERE r.user_id = @userId AND r.org_id = @orgId AND r.kind = 'translated' AND chain.depth < ${MAX_THREAD_LENGTH}
     )
     SELECT input_items, output_items FROM chain ORDER BY depth DESC`,
  );
  const remove = db.prepare('DELETE FROM gateway_responses WHERE id = ? AND user_id = ? AND org_id = ?');
  const removeExpired = db.prepare('DELETE FROM gateway_responses WHERE expires_at <= ?');

  const save = db.transaction((record: Omit<GatewayResponseRecord, 'createdAt'>) => {
    const previous = record.previousId
      ? (threadOf.get(record.previousId, record.owner.userId, record.owner.orgId) as Row | undefined)
      : undefined;
    const threadId = (previous?.thread_id as string | undefined) ?? record.id;
    insert.run({
      id: record.id,
      orgId: record.owner.orgId,
      userId: record.owner.userId,
      kind: record.kind,
      model: record.model,
      connection: record.connection,
      previousId: record.previousId,
      threadId,
      inputItems: JSON.stringify(record.inputItems),
      outputItems: JSON.stringify(record.outputItems),
      response: record.response === null || record.response === undefined ? null : JSON.stringify(record.response),
      createdAt: now().toISOString(),
      expiresAt: record.expiresAt,
    });
    if (previous) extendThread.run(record.expiresAt, threadId, record.expiresAt);
  });

  return {
    async save(record) {
      save(record);
    },
    async get(id, owner, at) {
      const row = byId.get(id, owner.userId, owner.orgId, at.toISOString()) as Row | undefined;
      return row && toRecord(row);
    },
    async thread(id, owner, at) {
      const rows = thread.all({ id, userId: owner.userId, orgId: owner.orgId, now: at.toISOString() }) as Row[];
      if (rows.length === 0) return undefined;
      return rows.flatMap((row) => [
        ...(JSON.parse(row.input_items as string) as unknown[]),
        ...(JSON.parse(row.output_items as string) as unknown[]),
      ]);
    },
    async delete(id, owner) {
      return remove.run(id, owner.userId, owner.orgId).changes > 0;
    },
    async deleteExpired(at) {
      return removeExpired.run(at.toISOString()).changes;
    },
  };
}
