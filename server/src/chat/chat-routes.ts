import { randomUUID } from 'node:crypto';
import type { LanguageModelV3FilePart, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { type AssistantMetadata, ChatTurnRequestSchema, type Message } from '@axon/contracts';
import type { UIMessageChunk } from 'ai';
import type { FastifyInstance } from 'fastify';
import { createAgentUiStream, STREAM_STEPS } from '../agents/agent-ui-stream';
import type { BlobStore } from '../blobs/blob-store';
import { AppError } from '../errors';
import type { ActiveStreams } from '../http/active-streams';
import { logRequest, observeModelCall } from '../http/log-request';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import { openSse } from '../http/sse';
import { countedUsage } from '../limits/counted-usage';
import { estimatePromptTokens, estimateTextTokens } from '../limits/estimate-tokens';
import { type RateLimits, settleLater } from '../limits/rate-limits';
import type { ModelOps } from '../modelops/model-ops';
import { createEndpointModels, createRoutedLanguageModel } from '../modelops/routed-language-model';
import { traceModelCall } from '../observability/tracing';
import type { PromptStore } from '../prompts/prompt-store';
import { renderTemplate } from '../prompts/render-template';
import { chatCompletionsBody } from '../providers/openai-chat-model';
import { addHighlights } from '../rag/cite/locate-cited-sentences';
import type { Embedder } from '../rag/embed/embedder';
import { attachmentPassages, groundedSystemPrompt, retrievePassages } from '../rag/retrieve-passages';
import type { Reranker } from '../rag/search/rerank';
import { HOME_ORG_ID, INTERRUPTED_ANSWER_ERROR, type Store } from '../store';
import { createAnswerHeartbeats, createCoalescingWriter, formatEventId, type StreamLog } from '../streams';
import { registerAnswerStreamRoutes } from './answer-stream-routes';
import type { ChatPipeline } from './chat-pipeline';
import { ConversationParams, NEW_CONVERSATION_TITLE } from './conversation-routes';
import { threadOf, threadUpTo } from './conversation-thread';
import { describeAttachments, readAttachedImages } from './image-parts';
import { type ConversationTitles, cleanModelTitle, keyPhraseTitle, titleFromText, titlePrompt } from './make-conversation-title';

export interface ChatRoutesDeps {
  store: Store;
  pipeline: ChatPipeline;
  streams: ActiveStreams;
  /** Tokens of retrieved passages a prompt may hold. */
  contextTokens: number;
  embedder?: Embedder | undefined;
  /** The rerank model, for collections that turn reranking on. */
  reranker?: Reranker | undefined;
  /** Uploaded originals: attached images are read from here for models that read images. */
  blobs: Pick<BlobStore, 'get'>;
  limits: RateLimits;
  prompts: PromptStore;
  /** Every event of an answer as it streams, for clients that resume it and for Stop from any replica. */
  streamLog: StreamLog;
  /**
   * How often a streaming answer's text is saved with a heartbeat (so that a crash keeps most of
   * it, and other replicas know its writer is alive).
   */
  flushIntervalMs?: number;
  /** How long a resumable answer goes on being written while nobody reads it (default 30 s). */
  resumeGraceMs?: number;
  /** How a new conversation is titled after its first answer (default `auto`). */
  titles?: ConversationTitles | undefined;
  /** Model aliases' outcomes, for their experiments. */
  modelOps?: ModelOps | undefined;
}

/** The events that open an answer, sent before the model is called. */
const OPENING_EVENT = /^\{"type":"(?:start|start-step|data-citations|text-start)"/;

/** Answers are generated once under their id: one epoch. (A writer that starts one over would take the next.) */
const ANSWER_EPOCH = 1;

/**
 * The conversation so far as a model prompt; failed answers with no text are left out. `images`
 * (by message id) follow the text of the user messages they were attached to.
 */
export function conversationPrompt(
  messages: Message[],
  images: ReadonlyMap<string, LanguageModelV3FilePart[]> = new Map(),
): LanguageModelV3Prompt {
  return messages
    .filter((m) => m.content.length > 0)
    .map((m) =>
      m.role === 'user'
        ? { role: 'user' as const, content: [{ type: 'text' as const, text: m.content }, ...(images.get(m.id) ?? [])] }
        : { role: 'assistant' as const, content: [{ type: 'text' as const, text: m.content }] },
    );
}

/** A prompt as text (`role: text` lines), for an endpoint pool balancing by prefix. */
function promptText(prompt: LanguageModelV3Prompt): string {
  return prompt
    .map((m) => {
      if (typeof m.content === 'string') return `${m.role}: ${m.content}`;
      let text = '';
      for (const part of m.content) if (part.type === 'text') text += part.text;
      return `${m.role}: ${text}`;
    })
    .join('\n');
}

/** A message of the turn before it is saved (with the answer's placeholder), following the last of `history`. */
function unsavedMessage(
  message: Pick<Message, 'conversationId' | 'role' | 'content' | 'status' | 'model'>,
  history: Message[],
): Message & { parentId: string | null } {
  return {
    ...message,
    id: randomUUID(),
    usage: { inputTokens: null, outputTokens: null },
    timing: { ttftMs: null, totalMs: null },
    error: null,
    citations: [],
    agentRun: null,
    attachments: [],
    parentId: history.at(-1)?.id ?? null,
    versions: [],
    feedback: null,
    createdAt: new Date().toISOString(),
  };
}

/**
 * `POST /api/conversations/:id/chat`: one chat turn of the web app, streamed as the AI SDK's UI
 * message stream (what `useChat` reads). The history comes from the store; the answer is saved as
 * it streams and finally with its status, usage and timing, also when stopped or failed.
 */
export function registerChatRoutes(app: FastifyInstance, deps: ChatRoutesDeps): void {
  const { store, pipeline, streams, streamLog } = deps;
  const flushIntervalMs = deps.flushIntervalMs ?? 1000;
  const resumeGraceMs = deps.resumeGraceMs ?? 30_000;
  // One heartbeat for every answer this replica writes: their texts in one statement each `flushIntervalMs`.
  const heartbeats = createAnswerHeartbeats({
    messages: store.messages,
    intervalMs: flushIntervalMs,
    onError: (error) => app.log.error({ err: error }, 'saving partial answers failed'),
  });
  app.addHook('onClose', () => heartbeats.stop());

  const endpointModels = createEndpointModels();
  app.post('/api/conversations/:id/chat', async (request, reply) => {
    const { id } = parseInput(ConversationParams, request.params, 'params');
    const body = parseInput(ChatTurnRequestSchema, request.body, 'body');
    const user = requirePrincipal(request).user;
    // What the turn reads, read at once: the conversation (its owner's only) with its messages, and the
    // person's preferences (their own, so reading them before the conversation is known is harmless).
    const preferences = store.preferences.get(user.id);
    preferences.catch(() => undefined);
    const thread = await store.conversations.getWithMessages(id, user.id);
    if (!thread) throw new AppError('not_found', { detail: 'No such conversation' });
    const { conversation } = thread;

    const resolved = await pipeline.resolveModel(body.model ?? conversation.model ?? undefined, request);
    const { info } = resolved;
    /** Whether the model is given images as they are (otherwise the text OCR read in them). */
    const vision = info.capabilities.vision;
    const everyMessage = thread.messages;
    if (body.parentId && !everyMessage.some((m) => m.id === body.parentId))
      throw new AppError('not_found', { detail: 'No such message in this conversation' });
    // The branch the new turn continues: the one shown, or (for an edited question) the one up to the edited question's parent.
    let history =
      body.trigger === 'submit-message' && body.parentId !== undefined
        ? threadUpTo(everyMessage, body.parentId)
        : threadOf(everyMessage, thread.activeLeafId);
    // Limits are checked before anything is saved: a refused turn leaves the conversation as it was.
    const admission = await deps.limits.admit(requirePrincipal(request), {
      estimateTokens: () => estimatePromptTokens(conversationPrompt(history)) + (body.message ? estimateTextTokens(body.message.text) : 0),
      stream: true,
    });
    reply.headers(admission.headers);
    // The stream slot is given back when the answer ends (a resumable one outlives its response),
    // or when the response ends before an answer started.
    const releaseSlot = () =>
      void admission.release().catch((error) => request.log.error({ err: error }, 'releasing a stream slot failed'));
    let answering = false;
    /** The client left before its answer started (Stop while it was being prepared). */
    let leftEarly = false;
    reply.raw.once('close', () => {
      if (answering) return;
      leftEarly = true;
      releaseSlot();
    });

    /** Whether this turn starts the conversation (which then gets its title from it). */
    let firstExchange = false;
    /** The question asked, saved with the answer's placeholder (in one write) once the prompt is ready. */
    let asked: Message | undefined;
    /** The conversation's title from its first question. */
    let title: string | undefined;
    if (body.trigger === 'submit-message') {
      if (!body.message)
        throw new AppError('validation_failed', {
          detail: 'body.message: required to submit a message',
          errors: [{ path: 'body.message', message: 'required' }],
        });
      // The files shown on the sent message: those the sender may read, by the name they were uploaded with.
      const shown = body.attachments?.length ? await describeAttachments({ store, userId: user.id }, body.attachments, vision) : [];
      asked = unsavedMessage({ conversationId: id, role: 'user', content: body.message.text, status: 'complete', model: null }, history);
      asked.attachments = shown;
      history = [...history, asked];
      if (conversation.title === NEW_CONVERSATION_TITLE && history.filter((m) => m.role === 'user').length === 1) {
        title = titleFromText(body.message.text);
        firstExchange = true;
      }
    } else {
      // The answer asked again stays, as an earlier version of the new one.
      if (history.at(-1)?.role === 'assistant') history = history.slice(0, -1);
      if (history.at(-1)?.role !== 'user') throw new AppError('conflict', { detail: 'There is no question to answer again.' });
    }

    // The prompt, retrieval included. Should it fail, the question is saved all the same (with the
    // title it gives), so that nothing asked is lost and it can be answered again.
    const { question, citations, prompt, model, settings } = await (async () => {
      const question = history.at(-1)?.content ?? '';
      // Files attached to this message come first (whole, as far as the budget goes), then passages
      // retrieved from the conversation's collections with what budget is left. An image the model
      // is shown as it is does not come again as its text.
      const seenAsImages = new Set((history.at(-1)?.attachments ?? []).filter((a) => a.readAs === 'image').map((a) => a.documentId));
      const attachedText = body.attachments?.filter((documentId) => !seenAsImages.has(documentId)) ?? [];
      const attached =
        body.trigger === 'submit-message' && attachedText.length > 0
          ? await attachmentPassages(store, { userId: user.id, documentIds: attachedText, contextTokens: deps.contextTokens, startAt: 0 })
          : [];
      const usedTokens = attached.reduce((n, c) => n + Math.ceil(c.text.length / 4), 0);
      const retrieved =
        conversation.collectionIds.length > 0
          ? await retrievePassages(store, {
              embedder: deps.embedder,
              reranker: deps.reranker,
              onRerankError: (error) => request.log.warn({ err: error }, 'reranking failed; the first-stage order is kept'),
              userId: user.id,
              collectionIds: conversation.collectionIds,
              query: question,
              contextTokens: Math.max(0, deps.contextTokens - usedTokens),
            })
          : [];
      const citations = [...attached, ...retrieved.map((c) => ({ ...c, n: c.n + attached.length }))];
      // A model that reads images sees those attached to the conversation's messages, this one's and earlier ones.
      const images = vision ? await readAttachedImages(history, { store, userId: user.id, blobs: deps.blobs }) : new Map();
      const prompt = conversationPrompt(history, images);
      if (citations.length > 0) prompt.unshift({ role: 'system', content: groundedSystemPrompt(citations) });
      // The conversation's template, else the alias version's (the installation's, like the alias).
      const templateRef = conversation.prompt ?? resolved.served?.version.prompt;
      if (templateRef) {
        // The template (its active version unless pinned, variables at their defaults): its system
        // prompt first, its message template around the question.
        const { version } = await deps.prompts.resolve(conversation.prompt ? user.orgId : HOME_ORG_ID, templateRef);
        const rendered = await renderTemplate(version, {}, question);
        const last = prompt.at(-1);
        if (last?.role === 'user')
          last.content = [{ type: 'text', text: rendered.message }, ...last.content.filter((p) => p.type === 'file')];
        if (rendered.system.trim()) prompt.unshift({ role: 'system', content: rendered.system });
      }
      // The person's own instructions come first: their defaults from Settings, then this conversation's.
      const instructions = [(await preferences).instructions, conversation.systemPrompt ?? ''].map((text) => text.trim()).filter(Boolean);
      prompt.unshift(...instructions.map((content) => ({ role: 'system' as const, content })));
      // The web chat's fast client sends text only: a prompt with images goes through the provider's full client.
      const direct = images.size > 0 ? resolved.connection.fullLanguageModel(resolved.upstreamId) : resolved.model;
      // An alias version's call goes through its endpoints' breakers and retries, then its fallbacks, as on /v1.
      const routing =
        resolved.served && deps.modelOps
          ? await deps.modelOps.routing.routingFor(resolved.served.version, () => promptText(prompt))
          : undefined;
      const model = routing ? createRoutedLanguageModel(routing, direct, (to) => endpointModels(to, { full: images.size > 0 })) : direct;
      // The conversation's own settings, else an alias version's.
      const versionParams = resolved.served?.version.params ?? {};
      const temperature = conversation.temperature ?? versionParams.temperature;
      const maxOutputTokens = conversation.maxTokens ?? versionParams.max_tokens;
      const settings = {
        ...(temperature !== undefined && temperature !== null ? { temperature } : {}),
        ...(maxOutputTokens !== undefined && maxOutputTokens !== null ? { maxOutputTokens } : {}),
        ...(versionParams.top_p !== undefined ? { topP: versionParams.top_p } : {}),
        ...(versionParams.presence_penalty !== undefined ? { presencePenalty: versionParams.presence_penalty } : {}),
        ...(versionParams.frequency_penalty !== undefined ? { frequencyPenalty: versionParams.frequency_penalty } : {}),
        ...(versionParams.seed !== undefined ? { seed: versionParams.seed } : {}),
        ...(versionParams.stop !== undefined ? { stopSequences: [versionParams.stop].flat() } : {}),
      };

      return { question, citations, prompt, model, settings };
    })().catch(async (error: unknown) => {
      if (asked)
        await store.messages
          .appendTurn({ conversationId: id, messages: [asked], title, model: info.id !== conversation.model ? info.id : undefined })
          .catch((saveError: unknown) => request.log.error({ err: saveError }, 'saving the question of a failed turn failed'));
      throw error;
    });

    // The question, the answer's placeholder and the conversation's title and model: one write.
    const placeholder = unsavedMessage(
      { conversationId: id, role: 'assistant', content: '', status: 'streaming', model: info.id },
      history,
    );
    const saved = await store.messages.appendTurn({
      conversationId: id,
      messages: [...(asked ? [asked] : []), { ...placeholder, citations: citations.length > 0 ? citations : undefined }],
      title,
      model: info.id !== conversation.model ? info.id : undefined,
    });
    const answer = saved.at(-1) as Message;
    answering = true;
    const controller = new AbortController();
    const untrack = streams.track(controller);
    // Stop, sent to whichever replica, reaches this one through the stream log.
    const stopListening = streamLog.onCancel(answer.id, () => controller.abort(new DOMException('Stopped', 'AbortError')));
    /** Since when nobody has read a resumable answer whose own client went away. */
    let unreadSince: number | undefined;
    /** Set once the answer is written: nothing more to watch. */
    let answerDone = false;
    let readerCheck: NodeJS.Timeout | undefined;
    /** From when its client went away, looks each `flushIntervalMs` whether someone reads the answer; stops it after the grace period unread. */
    const watchReaders = () => {
      if (readerCheck || answerDone) return;
      let checking = false;
      readerCheck = setInterval(() => {
        if (checking || unreadSince === undefined || controller.signal.aborted) return;
        checking = true;
        streamLog
          .info(answer.id)
          .then(
            (info) => {
              if (info?.watched) unreadSince = Date.now();
              else if (unreadSince !== undefined && Date.now() - unreadSince >= resumeGraceMs)
                controller.abort(new DOMException('Nobody reads the answer', 'AbortError'));
            },
            (error: unknown) => request.log.error({ err: error }, 'looking for readers of the answer failed'),
          )
          .finally(() => {
            checking = false;
          });
      }, flushIntervalMs);
    };
    const sse = openSse(reply, {
      headers: { 'x-vercel-ai-ui-message-stream': 'v1' },
      keepAliveMs: 15_000,
      onClientClose: () => {
        if (!body.resumable) controller.abort(new DOMException('The client closed the stream', 'AbortError'));
        else {
          unreadSince = Date.now();
          watchReaders();
        }
      },
    });
    if (leftEarly) controller.abort(new DOMException('The client closed the stream', 'AbortError'));
    // Every event goes through the stream log first, then to this client with its id (`Last-Event-ID`
    // on a reconnection names it). Appends run in order; so do the sends, each once its event is logged,
    // except the events that open the answer and a first text delta right after them (no tool step
    // before it): they are sent while being appended, under the number the
    // log gives them (the writer's own count, which the log refuses to give another event), so that
    // the first token does not wait for the log. A client resuming from one of those before the log has
    // it is made to wait for what follows it (see `StreamLog.read`): nothing twice, nothing skipped.
    // Text deltas that come while the log is busy are merged into one event.
    let logFailed = false;
    /** Events given to the log so far: the next one's number is one more. */
    let appended = 0;
    /** Whether events are still sent while being appended (those opening the answer, and a text delta right after them). */
    let sendingEarly = true;
    /**
     * Set when the log refused an event: another replica took this answer as interrupted (this one
     * gave no heartbeat for too long) and ended its log. Nothing more is sent, so that the client
     * has seen exactly the text the log, and so the saved answer, holds.
     */
    let takenOver = false;
    const logWriter = createCoalescingWriter<UIMessageChunk<AssistantMetadata>, number | null | 'unlogged'>({
      append: (data) => {
        const seq = ++appended;
        const logged = streamLog.append(answer.id, ANSWER_EPOCH, data).catch((error: unknown) => {
          // The answer still reaches this client; only resuming it elsewhere is lost.
          if (!logFailed) request.log.error({ err: error }, 'writing the answer to the stream log failed');
          logFailed = true;
          return 'unlogged' as const;
        });
        const opening = OPENING_EVENT.test(data);
        const early = sendingEarly && (opening || data.startsWith('{"type":"text-delta"'));
        if (!opening) sendingEarly = false;
        if (!early) return logged;
        void logged.then((result) => {
          // Refused: another replica took the answer as interrupted; nothing more is sent.
          if (result === null && !takenOver) {
            takenOver = true;
            request.log.warn({ messageId: answer.id }, 'the answer was taken as interrupted by another replica; it stops here');
            controller.abort(new DOMException('Taken as interrupted', 'AbortError'));
          }
        });
        return Promise.resolve(seq);
      },
      deliver: (data, seq) => {
        if (takenOver) return;
        if (seq === null) {
          takenOver = true;
          request.log.warn({ messageId: answer.id }, 'the answer was taken as interrupted by another replica; it stops here');
          controller.abort(new DOMException('Taken as interrupted', 'AbortError'));
          return;
        }
        sse.sendLine(data, seq === 'unlogged' ? undefined : formatEventId(answer.id, { epoch: ANSWER_EPOCH, seq }));
      },
    });
    const send = (chunk: UIMessageChunk<AssistantMetadata>) => logWriter.push(chunk);
    send({ type: 'start', messageId: answer.id, messageMetadata: { messageId: answer.id, model: info.id, status: 'streaming' } });
    send({ type: 'start-step' });
    if (citations.length > 0)
      send({ type: 'data-citations', id: 'citations', data: citations } as unknown as UIMessageChunk<AssistantMetadata>);
    send({ type: 'text-start', id: 'text-0' });

    // An agent streams its steps (tool cards, approvals) beside its text.
    const agentUi =
      info.connection === 'agent'
        ? createAgentUiStream((chunk) => send(chunk as unknown as UIMessageChunk<AssistantMetadata>), citations)
        : undefined;
    /** A few words naming the conversation: by its model when that one writes, else its key phrases. */
    const titleFirstExchange = async (asked: string, answered: string): Promise<string> => {
      const generative = info.kind === 'remote' && info.connection !== 'agent';
      if ((deps.titles ?? 'auto') === 'auto' && generative) {
        const reply = await pipeline.run({
          model,
          prompt: titlePrompt(asked, answered),
          settings: { maxOutputTokens: 24, temperature: 0.3 },
          signal: AbortSignal.timeout(15_000),
          mode: 'generate',
        });
        observeModelCall(request, { model: info.id, outcome: reply.status, usage: reply.usage, timing: reply.timing });
        const title = reply.status === 'complete' ? cleanModelTitle(reply.text) : '';
        if (title) return title;
        if (reply.error)
          request.log.warn({ failure: reply.failure?.kind }, 'naming the conversation by its model failed; key phrases are used');
      }
      return keyPhraseTitle(asked, answered);
    };
    let text = '';
    // Every heartbeat of the replica saves the text so far.
    const stopBeating = heartbeats.add(answer.id, () => text);
    try {
      const result = await traceModelCall(request.server.tracer, request.span, { model: info.id, provider: info.connection }, () =>
        pipeline.run({
          model,
          prompt,
          settings,
          signal: controller.signal,
          ...(agentUi ? { providerOptions: STREAM_STEPS, onPart: agentUi.onPart } : {}),
          onTextDelta: (delta) => {
            text += delta;
            send({ type: 'text-delta', id: 'text-0', delta });
          },
        }),
      );
      // A beat still under way changes nothing once the answer is saved below (it only writes streaming answers).
      stopBeating();
      await logWriter.flush();
      // Taken as interrupted by another replica: it stays so, with all the text this one wrote.
      const status = takenOver ? 'error' : result.status;
      const error = takenOver ? INTERRUPTED_ANSWER_ERROR : result.error ? (result.error.detail ?? result.error.message) : null;
      // Limits, budgets and the ledger count a stopped or failed stream too (estimated when the provider said nothing).
      const counted = countedUsage(result.usage, {
        estimatedInputTokens: result.usage.inputTokens === null ? estimatePromptTokens(prompt) : undefined,
        outputChars: result.text.length,
        status: result.status,
      });
      settleLater(request, admission, (counted.inputTokens ?? 0) + (counted.outputTokens ?? 0));
      await store.messages.update(answer.id, {
        content: result.text,
        status,
        usage: result.usage,
        timing: result.timing,
        error,
        ...(agentUi ? agentUi.saved() : {}),
      });
      if (citations.length > 0 && result.text) {
        // The sentences the answer drew on, for the source panel; sent again under the same id, replacing the first.
        const located = await addHighlights(store, result.text, citations);
        await store.messages.update(answer.id, { citations: located });
        send({ type: 'data-citations', id: 'citations', data: located } as unknown as UIMessageChunk<AssistantMetadata>);
      }
      logRequest(request, 200, {
        conversationId: id,
        messageId: answer.id,
        model: info.id,
        outcome: result.status,
        usage: counted,
        timing: result.timing,
        failure: result.failure?.kind,
      });
      if (resolved.served && deps.modelOps) {
        const servedModel = resolved.served.version.model;
        deps.modelOps.report(
          resolved.served,
          {
            ok: status !== 'error',
            ttftMs: result.timing.ttftMs ?? null,
            totalMs: result.timing.totalMs ?? null,
            costUsd: request.server.usage.cost(servedModel, counted.inputTokens ?? 0, counted.outputTokens ?? 0),
            outputChars: result.text.length,
          },
          { responseId: answer.id, orgId: user.orgId, userId: user.id, source: 'web' },
        );
        // A share of an alias's answers is mirrored to its shadow version once complete; its answer goes nowhere.
        const { served } = resolved;
        const ops = deps.modelOps;
        if (served.assignment.shadowVersion && status === 'complete')
          void ops.aliases.get(served.assignment.alias).then((alias) => {
            if (!alias || !served.assignment.shadowVersion) return;
            const { model: _model, ...body } = chatCompletionsBody('', { prompt, ...settings }, false);
            ops.shadow.mirror(alias, served.assignment.revision, served.assignment.shadowVersion, body, {
              text: result.text,
              totalMs: result.timing.totalMs ?? null,
              costUsd: request.server.usage.cost(servedModel, counted.inputTokens ?? 0, counted.outputTokens ?? 0),
            });
          });
      }
      send({ type: 'text-end', id: 'text-0' });
      const metadata: AssistantMetadata = {
        messageId: answer.id,
        model: info.id,
        status: result.status,
        usage: result.usage,
        timing: result.timing,
        error,
        ...(result.error ? { errorCode: result.error.code } : {}),
      };
      send({ type: 'message-metadata', messageMetadata: metadata });
      if (result.status === 'error' && error) send({ type: 'error', errorText: error });
      if (firstExchange && result.status === 'complete' && result.text.trim() && (deps.titles ?? 'auto') !== 'first-message') {
        const title = await titleFirstExchange(question, result.text);
        if (title) {
          await store.conversations.update(id, user.id, { title });
          send({ type: 'data-title', data: { title }, transient: true } as unknown as UIMessageChunk<AssistantMetadata>);
        }
      }
      send({ type: 'finish-step' });
      send({ type: 'finish', messageMetadata: metadata });
      await logWriter.flush();
      sse.send('[DONE]');
    } finally {
      stopBeating();
      answerDone = true;
      clearInterval(readerCheck);
      stopListening();
      untrack();
      await logWriter.flush().catch(() => undefined);
      sse.close();
      await streamLog.end(answer.id).catch((error: unknown) => request.log.error({ err: error }, 'ending the stream log failed'));
      releaseSlot();
    }
  });

  registerAnswerStreamRoutes(app, { store, streamLog });
}
