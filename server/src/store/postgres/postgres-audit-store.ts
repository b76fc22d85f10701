import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { type AuditEvent, hashAuditEvent } from '../../observability/audit-chain';
import type { AuditRepository } from '../store';
import { inTransaction } from './pg-pool';
import { createParams } from './pg-values';

type Row = Record<string, unknown>;

/** Events read per query when walking the whole trail. */
const PAGE_SIZE = 1000;

const toEvent = (r: Row): AuditEvent => ({
  seq: Number(r.seq),
  id: r.id as string,
  at: r.at as string,
  action: r.action as string,
  actorId: (r.actor_id as string | null) ?? null,
  actorEmail: (r.actor_email as string | null) ?? null,
  target: (r.target as string | null) ?? null,
  ip: (r.ip as string | null) ?? null,
  details: r.details as string,
  orgId: (r.org_id as string | null) ?? null,
  prevHash: r.prev_hash as string,
  hash: r.hash as string,
});

/**
 * The hash-chained audit trail in PostgreSQL. An append locks the chain's head row, numbers the event
 * after it, chains it to the head's hash and moves the head, all in one transaction: appends from any
 * number of replicas form one chain without gaps.
 */
export function createPostgresAuditRepository(pool: pg.Pool, { now }: { now: () => Date }): AuditRepository {
  return {
    async append(input) {
      return inTransaction(pool, async (client) => {
        const { rows } = await client.query('SELECT seq, hash FROM audit_chain_head FOR UPDATE');
        const head = rows[0] as { seq: number; hash: string };
        // The time is taken under the lock, so that times never go backwards along the chain.
        const event = {
          id: randomUUID(),
          at: now().toISOString(),
          action: input.action,
          actorId: input.actorId ?? null,
          actorEmail: input.actorEmail ?? null,
          target: input.target ?? null,
          ip: input.ip ?? null,
          details: JSON.stringify(input.details ?? {}),
          orgId: input.orgId ?? null,
        };
        const seq = Number(head.seq) + 1;
        const prevHash = head.hash;
        const hash = hashAuditEvent(prevHash, event);
        await client.query(
          `INSERT INTO audit_events (seq, id, at, actor_id, actor_email, action, target, ip, details, org_id, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [
            seq,
            event.id,
            event.at,
            event.actorId,
            event.actorEmail,
            event.action,
            event.target,
            event.ip,
            event.details,
            event.orgId,
            prevHash,
            hash,
          ],
        );
        await client.query('UPDATE audit_chain_head SET seq = $1, hash = $2', [seq, hash]);
        return { ...event, seq, prevHash, hash };
      });
    },

    async list({ before, limit, action, orgId }) {
      const params = createParams();
      const where = [`seq < ${params.add(before ?? Number.MAX_SAFE_INTEGER)}`];
      if (action) where.push(`action = ${params.add(action)}`);
      if (orgId) where.push(`org_id = ${params.add(orgId)}`);
      const { rows } = await pool.query(
        `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ${params.add(limit)}`,
        params.values,
      );
      return rows.map(toEvent);
    },

    async *all() {
      for (let after = 0; ; ) {
        const { rows } = await pool.query('SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2', [after, PAGE_SIZE]);
        for (const row of rows) yield toEvent(row);
        if (rows.length < PAGE_SIZE) return;
        after = Number((rows.at(-1) as Row).seq);
      }
    },

    async lastIssued() {
      const { rows } = await pool.query('SELECT seq FROM audit_chain_head');
      return Number(rows[0]?.seq ?? 0);
    },
  };
}
