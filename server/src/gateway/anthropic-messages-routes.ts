import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import type { ModelInfo } from '@axon/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ChatPipeline } from '../chat/chat-pipeline';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { estimatePromptTokens } from '../limits/estimate-tokens';
import { applyVersionParams, fillCallOptions } from '../modelops/alias-models';
import { modelForKey } from '../modelops/key-pinned-model';
import type { PromptStore } from '../prompts/prompt-store';
import { renderTemplate } from '../prompts/render-template';
import type { AliasServing } from '../providers';
import type { Redactor } from '../redaction/redact';
import { relayAnthropicMessages } from './anthropic-messages-relay';
import { type ContentBlock, type MessagesRequest, MessagesRequestSchema } from './anthropic-messages-schema';
import {
  blocksText,
  hasImageBlocks,
  outputSchemaOf,
  runTranslatedMessages,
  toMessagesCallOptions,
  toMessagesPrompt,
} from './anthropic-messages-translation';
import { type GatewayCallDeps, requestTemplate, runGatewayCall, templateMetadata } from './gateway-call';

export interface AnthropicMessagesRoutesDeps extends GatewayCallDeps {
  pipeline: ChatPipeline;
  prompts: PromptStore;
  /** When set, prompts are redacted before they leave for the model. */
  guardrail?: Redactor | undefined;
  /** Upper bound of one translated model call, in ms. */
  upstreamTimeoutMs: number;
}

type Json = Record<string, unknown>;
type Message = MessagesRequest['messages'][number];

/** Refuses what the model cannot serve with a 400 naming the capability, instead of dropping it silently. */
function checkCapabilities(body: MessagesRequest, info: ModelInfo): void {
  const refuse = (param: string, what: string) => {
    throw new AppError('validation_failed', {
      detail: `The model ${info.id} cannot ${what} (${param}); GET /v1/models says what each model can do.`,
      errors: [{ path: `body.${param}`, message: `not available for ${info.id}` }],
    });
  };
  if (body.tools && body.tools.length > 0 && !info.capabilities.tools) refuse('tools', 'call tools');
  if (hasImageBlocks(body.messages) && !info.capabilities.vision) refuse('messages', 'read images');
  if (outputSchemaOf(body) && !info.capabilities.structuredOutputs) refuse('output_format', 'produce structured outputs');
}

/** Applies `edit` to the text of content: a string, text blocks, and the text of tool results. */
function editContent<C extends string | ContentBlock[]>(content: C, edit: (text: string) => string): C {
  if (typeof content === 'string') return edit(content) as C;
  if (!Array.isArray(content)) return content;
  return content.map((block) => {
    if (block?.type === 'text') return { ...block, text: edit(String(block.text ?? '')) };
    if (block?.type === 'tool_result' && block.content !== undefined)
      return { ...block, content: editContent(block.content as string | ContentBlock[], edit) };
    return block;
  }) as C;
}

/** The text of a message for estimates and the prompt log: its text, tool calls' input and tool results. */
function messageText(content: Message['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const block of content) {
    if (!block || typeof block !== 'object') continue;
    if (block.type === 'text') text += String(block.text ?? '');
    else if (block.type === 'tool_use') text += JSON.stringify(block.input ?? {});
    else if (block.type === 'tool_result') text += messageText((block.content ?? '') as Message['content']);
  }
  return text;
}

/** The last user message that holds text (a message of only tool results is not what a template wraps). */
const lastUserWithText = (messages: Message[]) =>
  messages.findLastIndex((m) => m.role === 'user' && (typeof m.content === 'string' || m.content.some((block) => block.type === 'text')));

/** The message's text replaced by `text`: a string stays a string; in blocks, the first text block takes it and the others go. */
function replaceText(content: Message['content'], text: string): Message['content'] {
  if (typeof content === 'string') return text;
  const first = content.findIndex((block) => block.type === 'text');
  return content.flatMap((block, i) => (i === first ? [{ ...block, text }] : block.type === 'text' ? [] : [block]));
}

/**
 * A prompt template (the caller's: `metadata.prompt`, `X-Axon-Prompt` or the API key's; else the
 * alias version's): its system prompt goes before the caller's, its message template wraps the
 * last user message's text, and the other `metadata` entries (but `user_id`, Anthropic's own) are
 * its variables, consumed here; undeclared ones go on.
 */
async function applyTemplate(
  request: FastifyRequest,
  prompts: PromptStore,
  forwarded: Json & { messages: Message[]; system?: MessagesRequest['system'] },
  served: AliasServing | undefined,
): Promise<void> {
  const metadata = (forwarded.metadata ?? {}) as Json;
  const template = await requestTemplate(request, prompts, metadata.prompt, served);
  if (!template) return;
  const { variables, rest } = templateMetadata(template.version, metadata, ['user_id']);
  const last = lastUserWithText(forwarded.messages);
  const target = forwarded.messages[last];
  const rendered = await renderTemplate(template.version, variables, target ? blocksText(target.content) : '');
  if (target)
    forwarded.messages = forwarded.messages.map((m, i) => (i === last ? { ...m, content: replaceText(m.content, rendered.message) } : m));
  if (rendered.system.trim()) {
    const system = forwarded.system;
    forwarded.system =
      system === undefined || system === ''
        ? rendered.system
        : [{ type: 'text', text: rendered.system }, ...(typeof system === 'string' ? [{ type: 'text', text: system }] : system)];
  }
  if (rest) forwarded.metadata = rest;
  else delete forwarded.metadata;
}

/** The caller's Anthropic headers that shape the request, for an Anthropic upstream. */
function anthropicHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of ['anthropic-version', 'anthropic-beta']) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
    else if (Array.isArray(value)) headers[name] = value.join(',');
  }
  return headers;
}

/**
 * Anthropic's Messages API (`POST /v1/messages`), for Anthropic SDK clients and coding tools with
 * any configured model: passed through to Anthropic upstreams, translated through the AI SDK
 * seam for every other model.
 */
export function registerAnthropicMessagesRoutes(app: FastifyInstance, deps: AnthropicMessagesRoutesDeps): void {
  app.post('/v1/messages', async (request, reply) => {
    const body = parseInput(MessagesRequestSchema, request.body, 'body');
    const { info, connection, upstreamId, served } = await deps.pipeline.resolveModel(
      modelForKey(body.model, request.principal?.apiKey?.model),
      request,
    );
    const passThrough = connection.wire?.wire === 'anthropic' ? connection.wire : undefined;
    checkCapabilities(body, info);
    const stream = body.stream === true;

    // What goes to the model: the caller's body as sent, with Axon's edits: an alias version's
    // parameters where the caller set none (`max_tokens` is the caller's, always), and a template.
    const forwarded: Json & { messages: Message[]; system?: MessagesRequest['system'] } = { ...body };
    if (served) applyVersionParams(forwarded, served.version.params, 'messages');
    await applyTemplate(request, deps.prompts, forwarded, served);
    const guardrail = deps.guardrail;
    if (guardrail) {
      const redact = (text: string) => guardrail.redact(text).text;
      forwarded.messages = forwarded.messages.map((m) => ({ ...m, content: editContent(m.content, redact) }));
      if (forwarded.system !== undefined) forwarded.system = editContent(forwarded.system, redact);
    }
    const callOptionsOf = () => {
      const options = toMessagesCallOptions(forwarded, toMessagesPrompt(forwarded.system, forwarded.messages));
      // The version's parameters the Messages API has no field for (penalties, seed) reach the model here.
      return served ? fillCallOptions(options, served.version.params) : options;
    };
    // Translated requests are checked before anything is counted or sent.
    const translated = passThrough ? undefined : callOptionsOf();

    const systemText = (system: MessagesRequest['system']) => (system === undefined ? '' : messageText(system));
    const sentText = () =>
      [systemText(forwarded.system), ...forwarded.messages.map((m) => `${m.role}: ${messageText(m.content)}`)].join('\n');
    await runGatewayCall(
      request,
      reply,
      deps,
      {
        info,
        route: '/v1/messages',
        stream,
        estimateInputTokens: () =>
          estimatePromptTokens([
            { role: 'system', content: systemText(forwarded.system) },
            ...forwarded.messages.map((m) => ({
              role: 'user' as const,
              content: [{ type: 'text' as const, text: messageText(m.content) }],
            })),
          ] as LanguageModelV3Prompt),
        maxOutputTokens: body.max_tokens,
        temperature: typeof forwarded.temperature === 'number' ? forwarded.temperature : undefined,
        promptText: () =>
          [
            ...(body.system !== undefined ? [`system: ${systemText(body.system)}`] : []),
            ...body.messages.map((m) => `${m.role}: ${messageText(m.content)}`),
          ].join('\n'),
        served,
        // A share of an alias's requests is mirrored to its shadow version once the answer is complete.
        shadow: () => ({ callOptions: translated ?? callOptionsOf() }),
      },
      async (call) => {
        if (passThrough) {
          await relayAnthropicMessages(
            reply,
            {
              target: passThrough,
              body: forwarded,
              upstreamModel: upstreamId,
              stream,
              signal: call.signal,
              headers: anthropicHeaders(request),
            },
            call.done,
          );
          return;
        }
        // An alias version on OpenAI's wire goes through its endpoints' breakers and retries, then its fallbacks.
        const direct = connection.fullLanguageModel(upstreamId);
        const model = served && deps.modelOps ? await deps.modelOps.routing.languageModelFor(served.version, sentText, direct) : direct;
        await runTranslatedMessages(
          reply,
          {
            model,
            modelId: info.id,
            callOptions: translated as NonNullable<typeof translated>,
            stream,
            signal: call.signal,
            timeoutMs: deps.upstreamTimeoutMs,
          },
          call.done,
        );
      },
    );
    return reply;
  });
}
