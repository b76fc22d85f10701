import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { type AuditEvent, GENESIS_HASH, hashAuditEvent } from '../../observability/audit-chain';
import type { AuditRepository } from '../store';

type Row = Record<string, unknown>;

const toEvent = (r: Row): AuditEvent => ({
  seq: r.seq as number,
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

export function createSqliteAuditRepository(db: Database.Database, now: () => Date): AuditRepository {
  const last = db.prepare('SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1').pluck();
  const insert = db.prepare(
    `INSERT INTO audit_events (id, at, actor_id, actor_email, action, target, ip, details, org_id, prev_hash, hash)
     VALUES (:id, :at, :actorId, :actorEmail, :action, :target, :ip, :details, :orgId, :prevHash, :hash) RETURNING seq`,
  );
  // IMMEDIATE: the write lock is taken before the last hash is read, so two processes cannot chain
  // two events to the same predecessor.
  const append = db.transaction((event: Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>) => {
    const prevHash = (last.get() as string | undefined) ?? GENESIS_HASH;
    const hash = hashAuditEvent(prevHash, event);
    const { seq } = insert.get({ ...event, prevHash, hash }) as { seq: number };
    return { ...event, seq, prevHash, hash };
  });
  return {
    async append(input) {
      return append.immediate({
        id: randomUUID(),
        at: now().toISOString(),
        action: input.action,
        actorId: input.actorId ?? null,
        actorEmail: input.actorEmail ?? null,
        target: input.target ?? null,
        ip: input.ip ?? null,
        details: JSON.stringify(input.details ?? {}),
        orgId: input.orgId ?? null,
      });
    },
    async list({ before, limit, action, orgId }) {
      const where = ['seq < :before', ...(action ? ['action = :action'] : []), ...(orgId ? ['org_id = :orgId'] : [])];
      return (
        db
          .prepare(`SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT :limit`)
          .all({ before: before ?? Number.MAX_SAFE_INTEGER, limit, ...(action ? { action } : {}), ...(orgId ? { orgId } : {}) }) as Row[]
      ).map(toEvent);
    },
    async *all() {
      // A page at a time: no statement stays open while the reader awaits (the connection is shared).
      const page = db.prepare('SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 1000');
      for (let after = 0; ; ) {
        const rows = page.all(after) as Row[];
        for (const row of rows) yield toEvent(row);
        const last = rows.at(-1);
        if (rows.length < 1000 || !last) return;
        after = last.seq as number;
      }
    },
    async lastIssued() {
      return (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'audit_events'").pluck().get() as number | undefined) ?? 0;
    },
  };
}
