import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { Citation, ModelInfo } from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ChatPipeline } from '../chat/chat-pipeline';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import { estimatePromptTokens } from '../limits/estimate-tokens';
import { applyVersionParams, fillCallOptions } from '../modelops/alias-models';
import { modelForKey } from '../modelops/key-pinned-model';
import { inSpan } from '../observability/tracing';
import type { PromptStore } from '../prompts/prompt-store';
import { renderTemplate } from '../prompts/render-template';
import type { Embedder } from '../rag/embed/embedder';
import { groundedSystemPrompt, retrievePassages } from '../rag/retrieve-passages';
import type { Redactor } from '../redaction/redact';
import type { GatewayResponseRecord, ResponseOwner, Store } from '../store';
import { type GatewayCallDeps, requestTemplate, runGatewayCall, templateMetadata } from './gateway-call';
import { relayResponses } from './responses-relay';
import { type ResponsesRequest, ResponsesRequestSchema } from './responses-schema';
import {
  echoedFields,
  inputItems,
  itemsHaveImages,
  newItemId,
  responsesContentText,
  runTranslatedResponse,
  toResponsesCallOptions,
  toResponsesPrompt,
} from './responses-translation';

export interface ResponsesRoutesDeps extends GatewayCallDeps {
  pipeline: ChatPipeline;
  store: Store;
  prompts: PromptStore;
  /** Tokens of retrieved passages a prompt may hold. */
  contextTokens: number;
  embedder?: Embedder | undefined;
  /** When set, prompts are redacted before they leave for the model. */
  guardrail?: Redactor | undefined;
  /** Upper bound of one translated model call, in ms. */
  upstreamTimeoutMs: number;
  /** How long a response can be continued or read after its thread's last turn (default 30 days). */
  retentionMs?: number;
  now?: () => number;
}

type Json = Record<string, unknown>;

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/** Refuses what the model cannot serve with a 400 naming the capability, instead of dropping it silently. */
function checkCapabilities(body: ResponsesRequest, items: Json[], info: ModelInfo): void {
  const refuse = (param: string, what: string) => {
    throw new AppError('validation_failed', {
      detail: `The model ${info.id} cannot ${what} (${param}); GET /v1/models says what each model can do.`,
      errors: [{ path: `body.${param}`, message: `not available for ${info.id}` }],
    });
  };
  if (body.tools && body.tools.length > 0 && !info.capabilities.tools) refuse('tools', 'call tools');
  if (itemsHaveImages(items) && !info.capabilities.vision) refuse('input', 'read images');
  const format = body.text?.format?.type;
  if ((format === 'json_object' || format === 'json_schema') && !info.capabilities.structuredOutputs)
    refuse('text.format', 'produce structured outputs');
}

/** Applies `edit` to every text of an input item the model reads: message text and function outputs. */
function editItemText(item: Json, edit: (text: string) => string): Json {
  if (typeof item.content === 'string') return { ...item, content: edit(item.content) };
  if (Array.isArray(item.content))
    return {
      ...item,
      content: item.content.map((part) => {
        const p = (part ?? {}) as Json;
        return (p.type === 'input_text' || p.type === 'output_text') && typeof p.text === 'string' ? { ...p, text: edit(p.text) } : part;
      }),
    };
  if (item.type === 'function_call_output' && typeof item.output === 'string') return { ...item, output: edit(item.output) };
  return item;
}

/** The last user message item that holds text (what a template wraps), or -1. */
const lastUserWithText = (items: Json[]) =>
  items.findLastIndex(
    (item) =>
      (item.type ?? 'message') === 'message' &&
      item.role === 'user' &&
      (typeof item.content === 'string' ||
        (Array.isArray(item.content) && item.content.some((p) => (p as Json | null)?.type === 'input_text'))),
  );

/** A message item's text replaced by `text`: a string stays a string; in parts, the first text part takes it and the others go. */
function replaceItemText(item: Json, text: string): Json {
  if (!Array.isArray(item.content)) return { ...item, content: text };
  const parts = item.content as Json[];
  const first = parts.findIndex((p) => p?.type === 'input_text');
  return { ...item, content: parts.flatMap((p, i) => (i === first ? [{ ...p, text }] : p?.type === 'input_text' ? [] : [p])) };
}

const notFound = (id: string) =>
  new AppError('not_found', {
    detail: `No response ${id} of yours is kept here (responses made with store: false are not kept, others for 30 days).`,
    errors: [{ path: 'body.previous_response_id', message: 'not found' }],
  });

/**
 * OpenAI's Responses API. To an upstream that serves it, the request is forwarded as sent and the
 * answer relayed as sent; the upstream keeps the responses and Axon records whose each id is. For
 * the others, Axon translates to the model's own API and keeps each response's items itself. Either
 * way `previous_response_id` names only the caller's own responses: any other id is a 404 before
 * anything goes upstream.
 */
export function registerResponsesRoutes(app: FastifyInstance, deps: ResponsesRoutesDeps): void {
  const responses = deps.store.gatewayResponses;
  const retentionMs = deps.retentionMs ?? 30 * DAY_MS;
  const now = () => new Date(deps.now?.() ?? Date.now());
  const expiresAt = () => new Date(now().getTime() + retentionMs).toISOString();
  let prunedAt = 0;
  const pruneNowAndThen = (log: { error(o: object, m: string): void }) => {
    const at = now();
    if (at.getTime() - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = at.getTime();
    responses.deleteExpired(at).catch((error) => log.error({ err: error }, 'pruning expired responses failed'));
  };

  app.post('/v1/responses', async (request, reply) => {
    const body = parseInput(ResponsesRequestSchema, request.body, 'body');
    const principal = requirePrincipal(request);
    const owner: ResponseOwner = { userId: principal.user.id, orgId: principal.user.orgId };
    if ((body as Json).conversation !== undefined && (body as Json).conversation !== null)
      throw new AppError('validation_failed', {
        detail: 'conversation is not available through Axon; continue a response with previous_response_id.',
        errors: [{ path: 'body.conversation', message: 'not supported' }],
      });
    let items = inputItems(body.input);
    const reference = items.findIndex((item) => item.type === 'item_reference');
    if (reference >= 0)
      throw new AppError('validation_failed', {
        detail: 'item_reference items are not available through Axon; send the items themselves, or name previous_response_id.',
        errors: [{ path: `body.input.${reference}`, message: 'not supported' }],
      });
    const { info, connection, upstreamId, served } = await deps.pipeline.resolveModel(
      modelForKey(body.model, principal.apiKey?.model),
      request,
    );
    const relay = connection.wire?.wire === 'openai' && connection.wire.responses ? connection.wire : undefined;

    // The thread this request continues: the caller's own response, or nothing is sent at all.
    let previous: GatewayResponseRecord | undefined;
    let history: Json[] = [];
    if (body.previous_response_id) {
      previous = await responses.get(body.previous_response_id, owner, now());
      if (!previous) throw notFound(body.previous_response_id);
      if (previous.kind === 'relayed') {
        if (!relay || previous.connection !== connection.name)
          throw new AppError('validation_failed', {
            detail: `The response ${previous.id} is kept by the provider of ${previous.connection}; continue it with a model of ${previous.connection}.`,
            errors: [{ path: 'body.previous_response_id', message: `continue it with a ${previous.connection}/ model` }],
          });
      } else history = ((await responses.thread(previous.id, owner, now())) ?? []) as Json[];
    }
    checkCapabilities(body, [...history, ...items], info);
    pruneNowAndThen(request.log);

    // What goes to the model: the caller's body, less Axon's own fields, with an alias version's
    // parameters where the caller set none (`max_tokens` as `max_output_tokens`).
    const { collections: _collections, ...callerBody } = body as ResponsesRequest & Json;
    if (served) applyVersionParams(callerBody, served.version.params, 'responses');
    let instructions = body.instructions ?? undefined;
    /** The items as the caller sent them: passages are retrieved for their question, not the template's wording. */
    const asked = items;
    // A prompt template (the caller's: `metadata.prompt`, `X-Axon-Prompt` or the API key's; else the
    // alias version's): its system prompt goes before the instructions, its message template wraps
    // the last user message's text, and the other metadata entries are its variables (consumed here).
    const template = await requestTemplate(request, deps.prompts, body.metadata?.prompt, served);
    if (template) {
      const { variables, rest } = templateMetadata(template.version, body.metadata);
      const last = lastUserWithText(items);
      const target = items[last];
      const rendered = await renderTemplate(template.version, variables, target ? responsesContentText(target.content) : '');
      if (target) items = items.map((item, i) => (i === last ? replaceItemText(item, rendered.message) : item));
      if (rendered.system.trim()) instructions = instructions ? `${rendered.system}\n\n${instructions}` : rendered.system;
      if (rest) callerBody.metadata = rest;
      else delete callerBody.metadata;
    }

    // Axon's edits: passages retrieved from the caller's collections go before the instructions,
    // and with the guardrail on, personal data is redacted out of what leaves.
    const header = request.headers['x-axon-collections'];
    const requested =
      body.collections ??
      (typeof header === 'string'
        ? header
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean)
        : []);
    let citations: Citation[] = [];
    if (requested.length > 0) {
      const userId = principal.user.id;
      const readable = await deps.store.collections.listForUser(userId);
      const ids = requested.map((ref) => {
        const found =
          readable.find((c) => c.id === ref) ??
          readable.find((c) => c.name === ref && c.ownerId === userId) ??
          readable.find((c) => c.name === ref);
        if (!found) throw new AppError('not_found', { detail: `No such collection: ${ref}` });
        return found.id;
      });
      const question = [...asked].reverse().find((item) => (item.type ?? 'message') === 'message' && item.role === 'user');
      citations = await inSpan(request.server.tracer, 'retrieve', { 'axon.collections': ids.length }, request.span, async (span) => {
        const found = await retrievePassages(deps.store, {
          embedder: deps.embedder,
          userId,
          collectionIds: ids,
          query: question ? responsesContentText(question.content) : '',
          contextTokens: deps.contextTokens,
        });
        span.setAttribute('axon.passages', found.length);
        return found;
      });
    }
    const guardrail = deps.guardrail;
    if (guardrail) {
      items = items.map((item) => editItemText(item, (text) => guardrail.redact(text).text));
      if (instructions) instructions = guardrail.redact(instructions).text;
    }
    const grounded = citations.length > 0 ? groundedSystemPrompt(citations) : undefined;
    const stream = body.stream === true;
    const keep = body.store !== false;

    const promptText = () =>
      [instructions ? `instructions: ${instructions}` : '', ...items.map((item) => `${String(item.role ?? item.type)}: ${itemText(item)}`)]
        .filter(Boolean)
        .join('\n');
    // The request as the AI SDK's seam takes it: what a translated request runs, and what a shadow is sent.
    const promptOf = () =>
      toResponsesPrompt(
        [grounded, instructions].filter((text): text is string => typeof text === 'string'),
        [...history, ...items],
        history.length,
      );
    const callOptionsOf = (prompt = promptOf()) => {
      const options = toResponsesCallOptions(callerBody, prompt);
      // The version's parameters the Responses API has no field for (stop, penalties, seed) reach the model here.
      return served ? fillCallOptions(options, served.version.params) : options;
    };
    const common = {
      info,
      route: '/v1/responses',
      stream,
      maxOutputTokens: num(callerBody.max_output_tokens) ?? 0,
      temperature: num(callerBody.temperature),
      promptText,
      served,
    };

    if (relay) {
      // The caller's body as sent, with only Axon's edits: a thread Axon kept goes along as items.
      const forwarded: Json = { ...callerBody };
      if (guardrail || template || previous?.kind === 'translated') forwarded.input = [...history, ...items];
      if (previous?.kind === 'translated') delete forwarded.previous_response_id;
      if ((guardrail || template) && instructions !== undefined) forwarded.instructions = instructions;
      if (grounded) forwarded.instructions = instructions ? `${grounded}\n\n${instructions}` : grounded;
      await runGatewayCall(
        request,
        reply,
        deps,
        {
          ...common,
          // A response kept upstream continues a thread Axon cannot see whole: such a request is not mirrored.
          shadow: previous?.kind === 'relayed' ? undefined : () => ({ callOptions: callOptionsOf() }),
          estimateInputTokens: () =>
            estimatePromptTokens([
              { role: 'user', content: [{ type: 'text', text: `${grounded ?? ''}${promptText()}${history.map(itemText).join('\n')}` }] },
            ] as LanguageModelV3Prompt),
        },
        async (call) => {
          await relayResponses(
            reply,
            {
              target: relay,
              body: forwarded,
              upstreamModel: upstreamId,
              stream,
              signal: call.signal,
              onResponseId: keep
                ? (id) =>
                    responses.save({
                      id,
                      owner,
                      kind: 'relayed',
                      model: info.id,
                      connection: connection.name,
                      previousId: previous?.id ?? null,
                      inputItems: [],
                      outputItems: [],
                      response: null,
                      expiresAt: expiresAt(),
                    })
                : undefined,
            },
            call.done,
          );
        },
      );
      return reply;
    }

    const id = newItemId('resp');
    // Checked before anything is counted or sent.
    const prompt = promptOf();
    const callOptions = callOptionsOf(prompt);
    const shadow = () => ({ callOptions });
    await runGatewayCall(
      request,
      reply,
      deps,
      { ...common, estimateInputTokens: () => estimatePromptTokens(prompt), shadow },
      async (call) => {
        // An alias version on OpenAI's wire goes through its endpoints' breakers and retries, then its fallbacks.
        const direct = connection.fullLanguageModel(upstreamId);
        const model = served && deps.modelOps ? await deps.modelOps.routing.languageModelFor(served.version, promptText, direct) : direct;
        await runTranslatedResponse(
          reply,
          {
            model,
            modelId: info.id,
            id,
            callOptions,
            echo: { ...echoedFields(callerBody), ...(requested.length > 0 ? { citations } : {}) },
            stream,
            signal: call.signal,
            timeoutMs: deps.upstreamTimeoutMs,
            onFinished: keep
              ? async (response, output) => {
                  try {
                    await responses.save({
                      id,
                      owner,
                      kind: 'translated',
                      model: info.id,
                      connection: connection.name,
                      previousId: previous?.id ?? null,
                      inputItems: items,
                      outputItems: output,
                      response,
                      expiresAt: expiresAt(),
                    });
                  } catch (error) {
                    request.log.error({ err: error }, 'keeping a response failed');
                  }
                }
              : undefined,
          },
          call.done,
        );
      },
    );
    return reply;
  });

  const Params = z.strictObject({ id: z.string().min(1).max(200) });

  app.get('/v1/responses/:id', async (request) => {
    const { id } = parseInput(Params, request.params, 'params');
    const principal = requirePrincipal(request);
    const found = await responses.get(id, { userId: principal.user.id, orgId: principal.user.orgId }, now());
    if (found?.kind !== 'translated' || !found.response)
      throw new AppError('not_found', {
        detail: found
          ? `The response ${id} is kept by the provider of ${found.connection}, not by Axon.`
          : `No response ${id} of yours is kept here.`,
      });
    return found.response;
  });
}

/** An item's text for the prompt log and estimates. */
function itemText(item: Json): string {
  if (item.type === 'function_call') return `${String(item.name)}(${String(item.arguments ?? '')})`;
  if (item.type === 'function_call_output') return typeof item.output === 'string' ? item.output : responsesContentText(item.output);
  return responsesContentText(item.content);
}
