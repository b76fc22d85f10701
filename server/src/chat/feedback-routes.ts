import { type FeedbackSummary, type MessageFeedback, SetFeedbackSchema } from '@axon/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can } from '../auth/permissions';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import type { ModelOps } from '../modelops/model-ops';
import type { Store } from '../store';

const MessageParams = z.strictObject({ id: z.string().min(1).max(100) });

const FeedbackPeriod = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  /** An organisation's slug, or `all`; other than one's own only with `orgs:manage`. */
  org: z.string().max(40).optional(),
});

/**
 * Thumbs up or down on answers (the person's own, in their conversations), the dashboard's view of
 * them for `usage:read`, with a JSON Lines export for model experiments.
 */
export function registerFeedbackRoutes(app: FastifyInstance, { store, modelOps }: { store: Store; modelOps?: ModelOps | undefined }): void {
  app.put('/api/messages/:id/feedback', async (request): Promise<MessageFeedback> => {
    const { id } = parseInput(MessageParams, request.params, 'params');
    const body = parseInput(SetFeedbackSchema, request.body, 'body');
    const { user } = requirePrincipal(request);
    const saved = await store.feedback.set({
      messageId: id,
      userId: user.id,
      orgId: user.orgId,
      value: body.value,
      comment: body.comment ? body.comment : null,
    });
    if (!saved) throw new AppError('not_found', { detail: 'No such answer in your conversations' });
    // An answer of a model alias counts for its version in the alias's experiment.
    modelOps
      ?.feedback(id, user.id, body.value, saved.comment)
      .catch((error) => request.log.error({ err: error }, 'counting feedback for an alias failed'));
    return saved;
  });

  app.delete('/api/messages/:id/feedback', async (request, reply) => {
    const { id } = parseInput(MessageParams, request.params, 'params');
    const { user } = requirePrincipal(request);
    if (!(await store.feedback.clear(id, user.id))) throw new AppError('not_found', { detail: 'No feedback of yours on this answer' });
    modelOps
      ?.feedback(id, user.id, null, null)
      .catch((error) => request.log.error({ err: error }, 'counting feedback for an alias failed'));
    return reply.status(204).send();
  });

  /** The organisation asked about: one's own unless named (and then only with `orgs:manage`); null for all. */
  const scope = async (request: FastifyRequest, query: z.infer<typeof FeedbackPeriod>) => {
    const user = requirePrincipal(request).user;
    let orgId: string | null = user.orgId;
    if (query.org !== undefined) {
      if (!can(user, 'orgs:manage'))
        throw new AppError('forbidden', { detail: 'Feedback of other organisations needs the orgs:manage permission.' });
      if (query.org === 'all') orgId = null;
      else {
        const found = await store.organizations.findBySlug(query.org);
        if (!found) throw new AppError('not_found', { detail: `No organisation "${query.org}"` });
        orgId = found.id;
      }
    }
    return {
      orgId,
      from: query.from ? new Date(query.from).toISOString() : new Date(Date.now() - 30 * 86_400_000).toISOString(),
      to: query.to ? new Date(query.to).toISOString() : new Date(Date.now() + 60_000).toISOString(),
    };
  };

  app.get('/api/admin/feedback', { config: { access: 'usage:read' } }, async (request): Promise<FeedbackSummary> => {
    return store.feedback.summary(await scope(request, parseInput(FeedbackPeriod, request.query, 'query')));
  });

  app.get('/api/admin/feedback/export', { config: { access: 'usage:read' } }, async (request, reply) => {
    const range = await scope(request, parseInput(FeedbackPeriod, request.query, 'query'));
    let body = '';
    for await (const event of store.feedback.events(range)) body += `${JSON.stringify(event)}\n`;
    return reply
      .header('content-type', 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="axon-feedback-${range.from.slice(0, 10)}-${range.to.slice(0, 10)}.jsonl"`)
      .send(body);
  });
}
