import {
  type ConversationWithMessages,
  CreateConversationSchema,
  ListConversationsQuerySchema,
  type Message,
  type ModelList,
  UpdateConversationSchema,
} from '@axon/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import type { PromptStore } from '../prompts/prompt-store';
import type { ModelCatalog } from '../providers';
import type { Store } from '../store';
import type { CallerModels } from './chat-pipeline';
import { newestLeafUnder, threadOf } from './conversation-thread';

export const ConversationParams = z.strictObject({ id: z.string().min(1).max(100) });
const ShowBranchSchema = z.strictObject({ messageId: z.string().min(1).max(100) });
export const NEW_CONVERSATION_TITLE = 'New chat';

export interface ConversationRoutesDeps {
  store: Store;
  models: ModelCatalog;
  prompts: PromptStore;
  /** The caller's own models (their organisation's agents), listed and checked beside the catalog's. */
  callerModels?: CallerModels | undefined;
  /** Has every replica list the connections' models again (the catalog's own `forget` without one). */
  refreshModels?: (() => void) | undefined;
}

export function registerConversationRoutes(
  app: FastifyInstance,
  { store, models, prompts, callerModels, refreshModels = () => models.forget() }: ConversationRoutesDeps,
): void {
  const checkModel = (id: string, request: FastifyRequest) =>
    callerModels?.owns(id) ? callerModels.resolve(id, request) : models.resolve(id);
  /** A conversation may be bound to a template of the user's organisation. */
  const requireTemplate = async (orgId: string, name: string | null | undefined) => {
    if (name && !(await prompts.get(orgId, name)))
      throw new AppError('validation_failed', {
        detail: `No prompt template "${name}"`,
        errors: [{ path: 'body.prompt', message: 'no such template in your organisation' }],
      });
  };
  const notFound = () => new AppError('not_found', { detail: 'No such conversation' });
  /** Every id must name a collection the user may read; any other answers 404. */
  const requireReadable = async (userId: string, ids: string[]) => {
    const readable = new Set(await store.collections.readableIds(userId, ids));
    const missing = ids.find((id) => !readable.has(id));
    if (missing) throw new AppError('not_found', { detail: `No such collection: ${missing}` });
  };

  const modelList = async (request: FastifyRequest): Promise<ModelList> => ({
    models: [...(await models.list()), ...((await callerModels?.list(request)) ?? [])],
    defaultModel: await models.defaultModelId(),
  });
  app.get('/api/models', modelList);
  // A model just deployed upstream (pulled into Ollama, served by vLLM) is offered at once, on every
  // replica, instead of when the listing's time to live runs out.
  app.post(
    '/api/models/refresh',
    { config: { access: 'models:manage' as const } },
    async (request): Promise<ModelList & { problems: Record<string, string> }> => {
      refreshModels();
      const list = await modelList(request);
      return { ...list, problems: models.problems() };
    },
  );

  /** The thread shown, each answer with the reader's feedback on it. */
  const withFeedback = async (messages: Message[], conversationId: string, userId: string): Promise<Message[]> => {
    const feedback = await store.feedback.forConversation(conversationId, userId);
    return feedback.size === 0 ? messages : messages.map((m) => ({ ...m, feedback: feedback.get(m.id) ?? null }));
  };

  app.get('/api/conversations', async (request) => {
    const { archived, ...query } = parseInput(ListConversationsQuerySchema, request.query, 'query');
    return store.conversations.list(requirePrincipal(request).user.id, {
      ...query,
      ...(archived !== undefined ? { archived: archived === 'true' } : {}),
    });
  });

  app.post('/api/conversations', async (request, reply) => {
    const body = parseInput(CreateConversationSchema, request.body ?? {}, 'body');
    const { id: userId, orgId } = requirePrincipal(request).user;
    if (body.model) await checkModel(body.model, request);
    if (body.collectionIds) await requireReadable(userId, body.collectionIds);
    await requireTemplate(orgId, body.prompt);
    const conversation = await store.conversations.create({
      userId,
      title: body.title ?? NEW_CONVERSATION_TITLE,
      model: body.model ?? null,
      collectionIds: body.collectionIds,
      prompt: body.prompt ?? null,
      systemPrompt: body.systemPrompt ?? null,
      temperature: body.temperature ?? null,
      maxTokens: body.maxTokens ?? null,
    });
    return reply.status(201).send(conversation);
  });

  app.get('/api/conversations/:id', async (request): Promise<ConversationWithMessages> => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const conversation = await store.conversations.get(id, requirePrincipal(request).user.id);
    if (!conversation) throw notFound();
    const thread = threadOf(await store.messages.listByConversation(id), await store.messages.activeLeaf(id));
    return { ...conversation, messages: await withFeedback(thread, id, requirePrincipal(request).user.id) };
  });

  /** Shows another version of a message: the branch through it, down to its newest answer. */
  app.post('/api/conversations/:id/branch', async (request): Promise<ConversationWithMessages> => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const { messageId } = parseInput(ShowBranchSchema, request.body, 'body');
    const conversation = await store.conversations.get(id, requirePrincipal(request).user.id);
    if (!conversation) throw notFound();
    const all = await store.messages.listByConversation(id);
    if (!all.some((m) => m.id === messageId)) throw new AppError('not_found', { detail: 'No such message in this conversation' });
    const leaf = newestLeafUnder(all, messageId);
    await store.messages.setActiveLeaf(id, leaf);
    return { ...conversation, messages: await withFeedback(threadOf(all, leaf), id, requirePrincipal(request).user.id) };
  });

  app.patch('/api/conversations/:id', async (request) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const patch = parseInput(UpdateConversationSchema, request.body, 'body');
    if (patch.model) await checkModel(patch.model, request);
    if (patch.collectionIds) await requireReadable(requirePrincipal(request).user.id, patch.collectionIds);
    await requireTemplate(requirePrincipal(request).user.orgId, patch.prompt);
    const updated = await store.conversations.update(id, requirePrincipal(request).user.id, patch);
    if (!updated) throw notFound();
    return updated;
  });

  app.delete('/api/conversations/:id', async (request, reply) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    if (!(await store.conversations.delete(id, requirePrincipal(request).user.id))) throw notFound();
    return reply.status(204).send();
  });
}
