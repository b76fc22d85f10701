import type { FastifyRequest } from 'fastify';
import type { AuditEventInput } from '../observability/audit-chain';
import type { Store } from '../store';

/** Appends an audit event for this request: the signed-in caller as actor, and the client address. */
export function recordAudit(store: Store, request: FastifyRequest, event: Omit<AuditEventInput, 'ip'>): Promise<unknown> {
  const user = request.principal?.user;
  return store.audit.append({
    actorId: user?.id ?? null,
    actorEmail: user?.email ?? null,
    orgId: user?.orgId ?? null,
    ...event,
    ip: request.ip,
  });
}
