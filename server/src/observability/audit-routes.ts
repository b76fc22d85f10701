import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { toCsv } from '../http/csv-export';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import { HOME_ORG_ID, type Store } from '../store';
import type { OrgSettings } from '../tenancy/org-settings';
import { type AuditEvent, verifyAuditChain } from './audit-chain';
import type { PromptLog } from './prompt-log';

const ListQuery = z.strictObject({
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  action: z
    .string()
    .regex(/^[a-z_]+\.[a-z_]+$/)
    .optional(),
});

const publicEvent = (e: AuditEvent) => ({ ...e, details: JSON.parse(e.details) as Record<string, unknown> });

/**
 * The audit trail for holders of `audit:read`: browse, verify, export (the export is itself audited).
 * Auditors of an organisation see its events; auditors of the first organisation see the whole
 * installation's (events of every organisation, and those of none, such as command-line changes).
 */
export function registerAuditRoutes(app: FastifyInstance, deps: { store: Store; promptLog: PromptLog; orgs: OrgSettings }): void {
  const { store } = deps;
  const scopeOf = (request: FastifyRequest) => {
    const orgId = requirePrincipal(request).user.orgId;
    return orgId === HOME_ORG_ID ? undefined : orgId;
  };

  // The prompt log, as the logging mode kept it; every read is itself audited.
  app.get('/api/admin/prompt-log', { config: { access: 'audit:read' } }, async (request) => {
    const query = parseInput(
      z.strictObject({ before: z.string().max(40).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
      request.query,
      'query',
    );
    await recordAudit(store, request, { action: 'prompt_log.viewed', details: query });
    const orgId = requirePrincipal(request).user.orgId;
    const items = await deps.promptLog.list({ ...query, orgId });
    const mode = (await deps.orgs.get(orgId))?.promptLogMode ?? deps.promptLog.mode;
    return { mode, retentionDays: deps.promptLog.retentionDays, items, nextBefore: items.length === query.limit ? items.at(-1)?.at : null };
  });

  app.get('/api/admin/audit', { config: { access: 'audit:read' } }, async (request) => {
    const query = parseInput(ListQuery, request.query, 'query');
    const items = await store.audit.list({ ...query, orgId: scopeOf(request) });
    return { items: items.map(publicEvent), nextBefore: items.length === query.limit ? items.at(-1)?.seq : null };
  });

  app.get('/api/admin/audit/verify', { config: { access: 'audit:read' } }, async () => {
    const lastIssued = await store.audit.lastIssued();
    return verifyAuditChain(store.audit.all(), lastIssued);
  });

  app.get('/api/admin/audit/export', { config: { access: 'audit:read' } }, async (request, reply) => {
    await recordAudit(store, request, { action: 'audit.exported', details: { format: 'csv' } });
    const orgId = scopeOf(request);
    const rows: unknown[][] = [];
    for await (const e of store.audit.all()) {
      if (orgId !== undefined && e.orgId !== orgId) continue;
      rows.push([e.seq, e.id, e.at, e.action, e.actorId, e.actorEmail, e.target, e.ip, e.details, e.orgId, e.prevHash, e.hash]);
    }
    const csv = toCsv(rows, [
      'seq',
      'id',
      'at',
      'action',
      'actor_id',
      'actor_email',
      'target',
      'ip',
      'details',
      'org_id',
      'prev_hash',
      'hash',
    ]);
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="axon-audit-${new Date().toISOString().slice(0, 10)}.csv"`)
      .send(csv);
  });
}
