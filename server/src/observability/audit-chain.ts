import { createHash } from 'node:crypto';

/**
 * The audit trail's integrity: every event carries the SHA-256 of the one before and of itself, so
 * an edited, deleted or reordered row breaks the chain at that row.
 */

/** Security-relevant events. */
export type AuditAction =
  | 'auth.setup'
  | 'auth.login'
  | 'auth.login_failed'
  | 'auth.login_throttled'
  | 'auth.failures_suppressed'
  | 'auth.logout'
  | 'user.created'
  | 'user.role_changed'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.deleted'
  | 'user.password_reset_created'
  | 'user.password_reset'
  | 'auth.session_revoked'
  | 'key.created'
  | 'key.revoked'
  | 'collection.created'
  | 'collection.updated'
  | 'collection.deleted'
  | 'collection.members_changed'
  | 'document.uploaded'
  | 'document.updated'
  | 'document.deleted'
  | 'audit.exported'
  | 'prompt_log.viewed'
  | 'prompt.created'
  | 'prompt.version_created'
  | 'prompt.activated'
  | 'prompt.bound'
  | 'org.created'
  | 'org.updated'
  | 'user.org_changed'
  | 'limits.changed'
  | 'agent.created'
  | 'agent.updated'
  | 'agent.version_created'
  | 'agent.activated'
  | 'agent.deleted'
  | 'mcp.server_registered'
  | 'mcp.server_deleted'
  | 'mcp.tool_approved'
  | 'mcp.tool_disabled'
  | 'tool.called'
  | 'tool.approval_decided'
  | 'dataset.loaded'
  | 'tools.fetch_allow_list_changed'
  | 'conversation.shared'
  | 'conversation.share_revoked'
  | 'conversation.exported'
  | 'deployment.create'
  | 'deployment.version'
  | 'deployment.policy'
  | 'deployment.rollback'
  | 'deployment.promote'
  | 'deployment.pause'
  | 'deployment.resume'
  | 'deployment.delete'
  | 'deployment.start'
  | 'deployment.advance'
  | 'deployment.stop';

export interface AuditEventInput {
  action: AuditAction;
  actorId?: string | null;
  actorEmail?: string | null;
  /** What the event is about, as `kind:id` (e.g. `user:…`, `document:…`). */
  target?: string | null;
  ip?: string | null;
  /** The organisation the event happened in (null: the installation as a whole). */
  orgId?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditEvent {
  seq: number;
  id: string;
  at: string;
  action: string;
  actorId: string | null;
  actorEmail: string | null;
  target: string | null;
  ip: string | null;
  /** JSON text, hashed as stored. */
  details: string;
  orgId: string | null;
  prevHash: string;
  hash: string;
}

/** The previous hash of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

export function hashAuditEvent(prevHash: string, event: Omit<AuditEvent, 'seq' | 'prevHash' | 'hash'>): string {
  const fields = [event.id, event.at, event.action, event.actorId, event.actorEmail, event.target, event.ip, event.details];
  // Events from before organisations have none, and are hashed as they were written.
  if (event.orgId !== null) fields.push(event.orgId);
  return createHash('sha256').update(prevHash).update('\n').update(JSON.stringify(fields)).digest('hex');
}

export type ChainVerdict = { ok: true; events: number } | { ok: false; events: number; seq: number; id: string | null; reason: string };

/**
 * Walks the events in sequence order. `lastIssued` is the highest sequence number ever issued (kept
 * by the store apart from the rows), which exposes rows deleted from the end; read it before the
 * events, since appends made during the walk only add rows after it.
 */
export async function verifyAuditChain(
  events: AsyncIterable<AuditEvent> | Iterable<AuditEvent>,
  lastIssued: number,
): Promise<ChainVerdict> {
  let previous: AuditEvent | undefined;
  let count = 0;
  for await (const event of events) {
    count++;
    const expectedPrev = previous?.hash ?? GENESIS_HASH;
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (event.seq !== expectedSeq) {
      return {
        ok: false,
        events: count,
        seq: event.seq,
        id: event.id,
        reason: `rows ${expectedSeq}–${event.seq - 1} before it are missing`,
      };
    }
    if (event.prevHash !== expectedPrev) {
      return {
        ok: false,
        events: count,
        seq: event.seq,
        id: event.id,
        reason: 'it does not follow the row before it (deleted or reordered rows)',
      };
    }
    if (hashAuditEvent(event.prevHash, event) !== event.hash) {
      return { ok: false, events: count, seq: event.seq, id: event.id, reason: 'its contents do not match its hash (edited)' };
    }
    previous = event;
  }
  if ((previous?.seq ?? 0) < lastIssued) {
    return {
      ok: false,
      events: count,
      seq: (previous?.seq ?? 0) + 1,
      id: null,
      reason: `rows ${(previous?.seq ?? 0) + 1}–${lastIssued} at the end are missing`,
    };
  }
  return { ok: true, events: count };
}
