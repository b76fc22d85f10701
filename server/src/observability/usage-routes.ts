import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can } from '../auth/permissions';
import { AppError } from '../errors';
import { toCsv } from '../http/csv-export';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import type { Store, StoredUsageRecord } from '../store';
import type { UsageLedger } from './usage-ledger';

const Period = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  groupBy: z.enum(['model', 'user', 'day', 'organisation']).default('model'),
  /** An organisation's slug, or `all`; other than one's own only with `orgs:manage`. */
  org: z.string().max(40).optional(),
});

/** The export's columns, named as the ledger's table names them. */
const EXPORT_COLUMNS: Record<string, keyof StoredUsageRecord> = {
  id: 'id',
  at: 'at',
  org_id: 'orgId',
  user_id: 'userId',
  user_email: 'userEmail',
  api_key_id: 'apiKeyId',
  route: 'route',
  model: 'model',
  status: 'status',
  input_tokens: 'inputTokens',
  output_tokens: 'outputTokens',
  cost_usd: 'costUsd',
  latency_ms: 'latencyMs',
  ttft_ms: 'ttftMs',
};

const period = (q: z.infer<typeof Period>) => ({
  from: q.from ? new Date(q.from).toISOString() : new Date(Date.now() - 7 * 86_400_000).toISOString(),
  to: q.to ? new Date(q.to).toISOString() : new Date(Date.now() + 60_000).toISOString(),
});

/** The usage and cost ledger for `usage:read`: totals by model, user, day or organisation, and every row as CSV. */
export function registerUsageRoutes(app: FastifyInstance, deps: { usage: UsageLedger; store: Store }): void {
  /** The organisation asked about: one's own unless named (and then only with `orgs:manage`); null for all. */
  const scope = async (request: FastifyRequest, org: string | undefined): Promise<string | null> => {
    const user = requirePrincipal(request).user;
    if (org === undefined) return user.orgId;
    if (!can(user, 'orgs:manage'))
      throw new AppError('forbidden', { detail: 'Usage of other organisations needs the orgs:manage permission.' });
    if (org === 'all') return null;
    const found = await deps.store.organizations.findBySlug(org);
    if (!found) throw new AppError('not_found', { detail: `No organisation "${org}"` });
    return found.id;
  };

  app.get('/api/admin/usage', { config: { access: 'usage:read' } }, async (request) => {
    const query = parseInput(Period, request.query, 'query');
    const range = { ...period(query), orgId: await scope(request, query.org) };
    return { ...range, groupBy: query.groupBy, rows: await deps.usage.summary({ ...range, groupBy: query.groupBy }) };
  });

  app.get('/api/admin/usage/export', { config: { access: 'usage:read' } }, async (request, reply) => {
    const query = parseInput(Period, request.query, 'query');
    const range = { ...period(query), orgId: await scope(request, query.org) };
    const fields = Object.entries(EXPORT_COLUMNS);
    const csv = toCsv(
      (await deps.usage.events(range)).map((r) => fields.map(([, field]) => r[field])),
      fields.map(([column]) => column),
    );
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="axon-usage-${range.from.slice(0, 10)}-${range.to.slice(0, 10)}.csv"`)
      .send(csv);
  });
}
