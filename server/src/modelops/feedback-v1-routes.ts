import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import type { ModelOps } from './model-ops';

const FeedbackRequest = z.strictObject({
  /** The `id` of a chat completion (or a web chat answer's message id) an alias served the caller. */
  response_id: z.string().min(1).max(200),
  /** Thumbs up or down; null withdraws the caller's feedback. */
  value: z.enum(['up', 'down']).nullable(),
  comment: z.string().max(2000).optional(),
});

/**
 * `POST /v1/feedback`: programs' thumbs up or down on an answer, by its response id, for the
 * experiments of the model alias that served it (a canary's negative-feedback rate, an A/B test's
 * winner). The web app's answers take feedback through `PUT /api/messages/:id/feedback`.
 */
export function registerFeedbackV1Routes(app: FastifyInstance, deps: { modelOps: ModelOps }): void {
  app.post('/v1/feedback', async (request) => {
    const body = parseInput(FeedbackRequest, request.body, 'body');
    const { user } = requirePrincipal(request);
    const comment = body.value && body.comment ? body.comment : null;
    const kept = await deps.modelOps.feedback(body.response_id, user.id, body.value, comment);
    if (!kept)
      throw new AppError('not_found', {
        detail: `No answer '${body.response_id}' of a model alias was served to you; feedback is taken for answers of model aliases (GET /v1/models lists them).`,
      });
    return { object: 'feedback', response_id: body.response_id, value: body.value, comment };
  });
}
