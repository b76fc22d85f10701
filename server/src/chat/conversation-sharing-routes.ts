import { randomBytes } from 'node:crypto';
import {
  type ConversationShare,
  type ConversationShareState,
  type ConversationWithMessages,
  ExportConversationQuerySchema,
  type Message,
  type SharedConversation,
  sharedConversationPath,
} from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import type { ConversationShareRecord, Store } from '../store';
import { conversationToMarkdown, exportFileName } from './conversation-export';
import { ConversationParams } from './conversation-routes';
import { threadOf } from './conversation-thread';

/** A link's token: 24 random bytes, base64url. */
const newShareToken = () => randomBytes(24).toString('base64url');
const SharedParams = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not a link of Axon’s') });

const toShare = (record: ConversationShareRecord): ConversationShare => ({
  token: record.token,
  path: sharedConversationPath(record.token),
  createdAt: record.createdAt,
});

/** A JSON export: the conversation as `GET /api/conversations/{id}` returns it, and the versions its branch does not show. */
export type ConversationExport = ConversationWithMessages & { exportedAt: string; otherVersions: Message[] };

/**
 * Read-only links to a conversation for the members of its owner's organisation (the owner makes and
 * revokes them), and exports of a conversation as Markdown or JSON.
 */
export function registerConversationSharingRoutes(
  app: FastifyInstance,
  { store, now = () => new Date() }: { store: Store; now?: () => Date },
): void {
  const notFound = () => new AppError('not_found', { detail: 'No such conversation' });

  /** The conversation of the caller's, with its branch shown and every message. */
  const ownConversation = async (id: string, userId: string) => {
    const conversation = await store.conversations.get(id, userId);
    if (!conversation) throw notFound();
    const all = await store.messages.listByConversation(id);
    return { conversation, all, thread: threadOf(all, await store.messages.activeLeaf(id)) };
  };

  app.get('/api/conversations/:id/share', async (request): Promise<ConversationShareState> => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const { user } = requirePrincipal(request);
    if (!(await store.conversations.get(id, user.id))) throw notFound();
    const live = await store.shares.live(id, user.id);
    return { share: live ? toShare(live) : null };
  });

  /** Makes the conversation's link, or gives back the live one. */
  app.post('/api/conversations/:id/share', async (request, reply) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const { user } = requirePrincipal(request);
    const made = await store.shares.share({ conversationId: id, userId: user.id, token: newShareToken() });
    if (!made) throw notFound();
    if (made.created) await recordAudit(store, request, { action: 'conversation.shared', target: `conversation:${id}` });
    return reply.status(made.created ? 201 : 200).send(toShare(made.share));
  });

  app.delete('/api/conversations/:id/share', async (request, reply) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const { user } = requirePrincipal(request);
    if (!(await store.conversations.get(id, user.id))) throw notFound();
    const revoked = await store.shares.revoke(id, user.id, now());
    if (!revoked) throw new AppError('not_found', { detail: 'This conversation has no link to revoke' });
    await recordAudit(store, request, { action: 'conversation.share_revoked', target: `conversation:${id}` });
    return reply.status(204).send();
  });

  /** What a link shows: the owner's branch, read-only; another organisation's or a revoked link reads as missing. */
  app.get('/api/shared/:id', async (request): Promise<SharedConversation> => {
    const { id: token } = parseInput(SharedParams, request.params, 'params');
    const { user } = requirePrincipal(request);
    const opened = await store.shares.open(token, user.orgId);
    const missing = () => new AppError('not_found', { detail: 'No such shared conversation (the link may have been revoked)' });
    if (!opened) throw missing();
    const { conversationId } = opened.share;
    const conversation = await store.conversations.get(conversationId, opened.ownerId);
    if (!conversation) throw missing();
    const thread = threadOf(await store.messages.listByConversation(conversationId), await store.messages.activeLeaf(conversationId));
    return {
      token,
      title: conversation.title,
      sharedBy: opened.ownerEmail,
      sharedAt: opened.share.createdAt,
      updatedAt: conversation.updatedAt,
      messages: thread.map((m) => ({ ...m, versions: [], feedback: null })),
    };
  });

  app.get('/api/conversations/:id/export', async (request, reply) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const { format } = parseInput(ExportConversationQuerySchema, request.query ?? {}, 'query');
    const { user } = requirePrincipal(request);
    const { conversation, all, thread } = await ownConversation(id, user.id);
    const exportedAt = now();
    await recordAudit(store, request, { action: 'conversation.exported', target: `conversation:${id}`, details: { format } });
    if (format === 'markdown') {
      return reply
        .header('content-type', 'text/markdown; charset=utf-8')
        .header('content-disposition', `attachment; filename="${exportFileName(conversation.title, exportedAt, 'md')}"`)
        .send(conversationToMarkdown(conversation, thread, exportedAt));
    }
    const feedback = await store.feedback.forConversation(id, user.id);
    const shown = new Set(thread.map((m) => m.id));
    const body: ConversationExport = {
      ...conversation,
      messages: thread.map((m) => ({ ...m, feedback: feedback.get(m.id) ?? null })),
      exportedAt: exportedAt.toISOString(),
      otherVersions: all.filter((m) => !shown.has(m.id)).map((m) => ({ ...m, feedback: feedback.get(m.id) ?? null })),
    };
    return reply
      .header('content-type', 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${exportFileName(conversation.title, exportedAt, 'json')}"`)
      .send(JSON.stringify(body, null, 2));
  });
}
