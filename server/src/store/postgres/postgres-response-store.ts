import type pg from 'pg';
import type { GatewayResponseRecord, GatewayResponseRepository } from '../store';
import { inTransaction } from './pg-pool';
import { isoOf } from './pg-values';

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
  inputItems: row.input_items as unknown[],
  outputItems: row.output_items as unknown[],
  response: row.response ?? null,
  createdAt: isoOf(row.created_at),
  expiresAt: isoOf(row.expires_at),
});

/** Responses of `/v1/responses` in PostgreSQL: one row each, linked to the one they continue. */
export function createPostgresResponseRepository(pool: pg.Pool, { now }: { now: () => Date }): GatewayResponseRepository {
  return {
    async save(record) {
      await inTransaction(pool, async (client) => {
        const previous = record.previousId
          ? (
              await client.query('SELECT thread_id FROM gateway_responses WHERE id = $1 AND user_id = $2 AND org_id = $3', [
                record.previousId,
                record.owner.userId,
                record.owner.orgId,
              ])
            ).rows[0]
          : undefined;
        const threadId = (previous?.thread_id as string | undefined) ?? record.id;
        await client.query(
          `INSERT INTO gateway_responses
             (id, org_id, user_id, kind, model, connection, previous_id, thread_id, input_items, output_items, response, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (id) DO NOTHING`,
          [
            record.id,
            record.owner.orgId,
            record.owner.userId,
            record.kind,
            record.model,
            record.connection,
            record.previousId,
            threadId,
            JSON.stringify(record.inputItems),
            JSON.stringify(record.outputItems),
            record.response === null || record.response === undefined ? null : JSON.stringify(record.response),
            now().toISOString(),
            record.expiresAt,
          ],
        );
        if (previous) {
          await client.query('UPDATE gateway_responses SET expires_at = $1 WHERE thread_id = $2 AND expires_at < $1', [
            record.expiresAt,
            threadId,
          ]);
        }
      });
    },

    async get(id, owner, at) {
      const { rows } = await pool.query(
        'SELECT * FROM gateway_responses WHERE id = $1 AND user_id = $2 AND org_id = $3 AND expires_at > $4',
        [id, owner.userId, owner.orgId, at.toISOString()],
      );
      return rows[0] && toRecord(rows[0]);
    },

    async thread(id, owner, at) {
      // Earlier turns are read only through links from a response of the same owner.
      const { rows } = await pool.query(
        `WITH RECURSIVE chain(id, previous_id, input_items, output_items, depth) AS (
           SELECT id, previous_id, input_items, output_items, 0 FROM gateway_responses
            WHERE id = $1 AND user_id = $2 AND org_id = $3 AND kind = 'translated' AND expires_at > $4
           UNION ALL
           SELECT r.id, r.previous_id, r.input_items, r.output_items, chain.depth + 1
             FROM gateway_responses r JOIN chain ON r.id = chain.previous_id
            WHERE r.user_id = $2 AND r.org_id = $3 AND r.kind = 'translated' AND chain.depth < ${MAX_THREAD_LENGTH}
         )
         SELECT input_items, output_items FROM chain ORDER BY depth DESC`,
        [id, owner.userId, owner.orgId, at.toISOString()],
      );
      if (rows.length === 0) return undefined;
      return rows.flatMap((row) => [...(row.input_items as unknown[]), ...(row.output_items as unknown[])]);
    },

    async delete(id, owner) {
      const result = await pool.query('DELETE FROM gateway_responses WHERE id = $1 AND user_id = $2 AND org_id = $3', [
        id,
        owner.userId,
        owner.orgId,
      ]);
      return (result.rowCount ?? 0) > 0;
    },

    async deleteExpired(at) {
      return (await pool.query('DELETE FROM gateway_responses WHERE expires_at <= $1', [at.toISOString()])).rowCount ?? 0;
    },
  };
}
