import { stringify } from 'csv-stringify/sync';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseInput } from '../http/parse-input';
import type { UsageLedger } from './usage-ledger';

const Period = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  groupBy: z.enum(['model', 'user', 'day']).default('model'),
});

const period = (q: z.infer<typeof Period>) => ({
  from: q.from ? new Date(q.from).toISOString() : new Date(Date.now() - 7 * 86_400_000).toISOString(),
  to: q.to ? new Date(q.to).toISOString() : new Date(Date.now() + 60_000).toISOString(),
});

/** The usage and cost ledger for `usage:read`: totals by model, user or day, and every row as CSV. */
export function registerUsageRoutes(app: FastifyInstance, deps: { usage: UsageLedger }): void {
  app.get('/api/admin/usage', { config: { access: 'usage:read' } }, async (request) => {
    const query = parseInput(Period, request.query, 'query');
    const range = period(query);
    return { ...range, groupBy: query.groupBy, rows: deps.usage.summary({ ...range, groupBy: query.groupBy }) };
  });

  app.get('/api/admin/usage/export', { config: { access: 'usage:read' } }, async (request, reply) => {
    const range = period(parseInput(Period, request.query, 'query'));
    const columns = [
      'id',
      'at',
      'user_id',
      'user_email',
      'api_key_id',
      'route',
      'model',
      'status',
      'input_tokens',
      'output_tokens',
      'cost_usd',
      'latency_ms',
      'ttft_ms',
    ];
    const csv = stringify(
      [...deps.usage.events(range)].map((r) => columns.map((c) => r[c])),
      { header: true, columns },
    );
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="axon-usage-${range.from.slice(0, 10)}-${range.to.slice(0, 10)}.csv"`)
      .send(csv);
  });
}
