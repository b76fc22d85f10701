import { type AssistantMetadata, type Message, StopAnswerRequestSchema } from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import { openSse } from '../http/sse';
import type { Store } from '../store';
import { formatEventId, parseEventId, StreamGapError, type StreamLog, type StreamPosition } from '../streams';
import { ConversationParams } from './conversation-routes';

export interface AnswerStreamRoutesDeps {
  store: Store;
  streamLog: StreamLog;
}

const isFinish = (data: string) => data.includes('"finish"') && (JSON.parse(data) as { type?: unknown }).type === 'finish';

/** The answer a reconnecting client reads: the one its `Last-Event-ID` names, else the conversation's newest that is streaming. */
async function answerToResume(
  streamLog: StreamLog,
  messages: Message[],
  lastEventId: string | undefined,
): Promise<{ messageId: string; after?: StreamPosition } | undefined> {
  const named = parseEventId(lastEventId);
  if (named && messages.some((m) => m.id === named.messageId && m.role === 'assistant') && (await streamLog.info(named.messageId)))
    return { messageId: named.messageId, after: { epoch: named.epoch, seq: named.seq } };
  const streaming = messages.filter((m) => m.role === 'assistant' && m.status === 'streaming').reverse();
  for (const answer of streaming) {
    const info = await streamLog.info(answer.id);
    if (info && !info.ended) return { messageId: answer.id };
  }
  return undefined;
}

/**
 * `GET /api/conversations/:id/stream` (the AI SDK's `reconnectToStream`): the answer being written,
 * replayed from after `Last-Event-ID` (from its start without one) and then live until it ends,
 * from whichever replica writes it; 204 when no answer is being written.
 * `POST /api/conversations/:id/stop`: stops the conversation's answer on whichever replica writes it.
 * Both for the conversation's owner only (another's conversation is 404).
 */
export function registerAnswerStreamRoutes(app: FastifyInstance, { store, streamLog }: AnswerStreamRoutesDeps): void {
  app.get('/api/conversations/:id/stream', async (request, reply) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const user = requirePrincipal(request).user;
    if (!(await store.conversations.get(id, user.id))) throw new AppError('not_found', { detail: 'No such conversation' });
    const header = request.headers['last-event-id'];
    const target = await answerToResume(streamLog, await store.messages.listByConversation(id), Array.isArray(header) ? header[0] : header);
    if (!target) return reply.code(204).send();

    const controller = new AbortController();
    const sse = openSse(reply, {
      headers: { 'x-vercel-ai-ui-message-stream': 'v1' },
      keepAliveMs: 15_000,
      onClientClose: () => controller.abort(),
    });
    let finished = false;
    let epoch: number | undefined;
    try {
      for await (const entry of streamLog.read(target.messageId, target.after, { signal: controller.signal })) {
        // The answer started over: this response ends, and the client reconnects for the new generation.
        if (epoch !== undefined && entry.epoch !== epoch) return;
        epoch = entry.epoch;
        sse.sendLine(entry.data, formatEventId(target.messageId, entry));
        if (isFinish(entry.data)) finished = true;
      }
      if (controller.signal.aborted) return;
      if (!finished) {
        // The log ended without the answer's last events: its writer died. The store says how it ended.
        const answer = (await store.messages.listByConversation(id)).find((m) => m.id === target.messageId);
        const metadata: AssistantMetadata = {
          messageId: target.messageId,
          ...(answer?.model ? { model: answer.model } : {}),
          ...(answer ? { status: answer.status, usage: answer.usage, timing: answer.timing, error: answer.error } : {}),
        };
        sse.sendLine(JSON.stringify({ type: 'message-metadata', messageMetadata: metadata }));
        if (answer?.error) sse.sendLine(JSON.stringify({ type: 'error', errorText: answer.error }));
        sse.sendLine(JSON.stringify({ type: 'finish', messageMetadata: metadata }));
      }
      sse.send('[DONE]');
    } catch (error) {
      if (!(error instanceof StreamGapError)) request.log.error({ err: error }, 'reading the stream log failed');
      sse.sendLine(
        JSON.stringify({
          type: 'error',
          errorText:
            error instanceof StreamGapError
              ? 'This answer is too long to pick up where it was; open the conversation again to see it.'
              : 'The answer could not be picked up again; open the conversation again to see it.',
        }),
      );
    } finally {
      controller.abort();
      sse.close();
    }
  });

  app.post('/api/conversations/:id/stop', async (request) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const body = parseInput(StopAnswerRequestSchema, request.body ?? {}, 'body');
    const user = requirePrincipal(request).user;
    if (!(await store.conversations.get(id, user.id))) throw new AppError('not_found', { detail: 'No such conversation' });
    const messages = await store.messages.listByConversation(id);
    if (body.messageId !== undefined && !messages.some((m) => m.id === body.messageId))
      throw new AppError('not_found', { detail: 'No such message in this conversation' });
    const answers = messages.filter(
      (m) => m.role === 'assistant' && m.status === 'streaming' && (body.messageId === undefined || m.id === body.messageId),
    );
    await Promise.all(answers.map((m) => streamLog.cancel(m.id)));
    return { stopping: answers.map((m) => m.id) };
  });
}
