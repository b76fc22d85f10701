import { randomUUID } from 'node:crypto';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3ToolChoice,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import type { FastifyReply } from 'fastify';
import { AppError, classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import { openAIErrorBody } from '../http/problem';
import { openSse } from '../http/sse';
import type { RelayOutcome } from './openai-chat-relay';

/**
 * OpenAI's chat completions wire format translated to and from the AI SDK's language-model seam,
 * for upstreams that speak another format (Anthropic's Messages API through its AI SDK provider)
 * and for Axon's local model: messages with images, tool calls and tool results, tools and
 * `tool_choice`, `response_format`, the sampling settings; answers with text, tool calls
 * (streamed as deltas), finish reasons and usage details.
 */

type Json = Record<string, unknown>;

const invalid = (param: string, message: string) =>
  new AppError('validation_failed', { detail: message, errors: [{ path: `body.${param}`, message }] });

/** The text of OpenAI message content: a string, or text parts of an array. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content)
    if (part && typeof part === 'object' && (part as Json).type === 'text') text += String((part as Json).text ?? '');
  return text;
}

function imagePart(part: Json, at: string) {
  const ref = part.image_url as Json | string | undefined;
  const url = typeof ref === 'string' ? ref : typeof ref?.url === 'string' ? ref.url : undefined;
  if (!url) throw invalid(at, 'an image_url part needs image_url.url');
  const data = /^data:([^;,]+)(;base64)?,(.*)$/s.exec(url);
  if (data)
    return {
      type: 'file' as const,
      mediaType: data[1] ?? 'image/png',
      data: data[2] ? (data[3] ?? '') : Buffer.from(decodeURIComponent(data[3] ?? '')).toString('base64'),
    };
  try {
    return { type: 'file' as const, mediaType: 'image/*', data: new URL(url) };
  } catch {
    throw invalid(at, 'image_url.url must be a URL or a data: URL');
  }
}

function userContent(content: unknown, at: string) {
  if (typeof content === 'string') return [{ type: 'text' as const, text: content }];
  if (!Array.isArray(content)) throw invalid(at, 'content must be a string or an array of parts');
  return content.map((part, i) => {
    const p = (part ?? {}) as Json;
    if (p.type === 'text') return { type: 'text' as const, text: String(p.text ?? '') };
    if (p.type === 'image_url') return imagePart(p, `${at}.${i}`);
    throw invalid(`${at}.${i}`, `content parts of type ${String(p.type)} cannot be sent to this model`);
  });
}

const parseArguments = (raw: unknown): unknown => {
  if (typeof raw !== 'string') return raw ?? {};
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
};

/** OpenAI messages as the seam's prompt: tool calls and results keep their ids and names. */
export function toLanguageModelPrompt(messages: unknown[]): LanguageModelV3Prompt {
  const toolNames = new Map<string, string>();
  const prompt: LanguageModelV3Message[] = [];
  messages.forEach((raw, index) => {
    const m = (raw ?? {}) as Json;
    const at = `messages.${index}`;
    switch (m.role) {
      case 'system':
      case 'developer':
        prompt.push({ role: 'system', content: contentText(m.content) });
        break;
      case 'user':
        prompt.push({ role: 'user', content: userContent(m.content, `${at}.content`) });
        break;
      case 'assistant': {
        const content: Extract<LanguageModelV3Message, { role: 'assistant' }>['content'] = [];
        const text = contentText(m.content);
        if (text) content.push({ type: 'text', text });
        for (const call of Array.isArray(m.tool_calls) ? (m.tool_calls as Json[]) : []) {
          const fn = (call.function ?? {}) as Json;
          const id = String(call.id ?? '');
          const name = String(fn.name ?? '');
          toolNames.set(id, name);
          content.push({ type: 'tool-call', toolCallId: id, toolName: name, input: parseArguments(fn.arguments) });
        }
        prompt.push({ role: 'assistant', content });
        break;
      }
      case 'tool': {
        const id = String(m.tool_call_id ?? '');
        const value = typeof m.content === 'string' ? m.content : contentText(m.content);
        const part = {
          type: 'tool-result' as const,
          toolCallId: id,
          toolName: toolNames.get(id) ?? '',
          output: { type: 'text' as const, value },
        };
        const last = prompt.at(-1);
        if (last?.role === 'tool') last.content.push(part);
        else prompt.push({ role: 'tool', content: [part] });
        break;
      }
      default:
        throw invalid(`${at}.role`, `unknown role ${String(m.role)}`);
    }
  });
  return prompt;
}

function toTools(tools: unknown): LanguageModelV3FunctionTool[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool, i) => {
    const t = (tool ?? {}) as Json;
    const fn = (t.function ?? {}) as Json;
    if (t.type !== 'function' || typeof fn.name !== 'string')
      throw invalid(`tools.${i}`, 'only function tools with a name can be sent to this model');
    return {
      type: 'function',
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      inputSchema: (fn.parameters as LanguageModelV3FunctionTool['inputSchema']) ?? { type: 'object', properties: {} },
    };
  });
}

function toToolChoice(choice: unknown): LanguageModelV3ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return { type: choice };
  const name = ((choice as Json).function as Json | undefined)?.name;
  if (typeof name === 'string') return { type: 'tool', toolName: name };
  throw invalid('tool_choice', 'tool_choice must be auto, none, required or { type: "function", function: { name } }');
}

function toResponseFormat(format: unknown): LanguageModelV3CallOptions['responseFormat'] {
  if (!format || typeof format !== 'object') return undefined;
  const f = format as Json;
  if (f.type === 'text') return { type: 'text' };
  if (f.type === 'json_object') return { type: 'json' };
  if (f.type === 'json_schema') {
    const js = (f.json_schema ?? {}) as Json;
    return {
      type: 'json',
      ...(js.schema ? { schema: js.schema as Extract<LanguageModelV3CallOptions['responseFormat'], { type: 'json' }>['schema'] } : {}),
      ...(typeof js.name === 'string' ? { name: js.name } : {}),
      ...(typeof js.description === 'string' ? { description: js.description } : {}),
    };
  }
  throw invalid('response_format.type', 'response_format.type must be text, json_object or json_schema');
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/** A chat completions request as the seam's call options (without the abort signal). */
export function toCallOptions(body: Json, prompt: LanguageModelV3Prompt): Omit<LanguageModelV3CallOptions, 'abortSignal'> {
  const stop =
    body.stop === undefined || body.stop === null ? undefined : Array.isArray(body.stop) ? body.stop.map(String) : [String(body.stop)];
  const options: Omit<LanguageModelV3CallOptions, 'abortSignal'> = { prompt };
  const maxTokens = num(body.max_completion_tokens) ?? num(body.max_tokens);
  if (maxTokens !== undefined) options.maxOutputTokens = maxTokens;
  if (num(body.temperature) !== undefined) options.temperature = num(body.temperature);
  if (num(body.top_p) !== undefined) options.topP = num(body.top_p);
  if (stop) options.stopSequences = stop;
  if (num(body.seed) !== undefined) options.seed = num(body.seed);
  if (num(body.presence_penalty) !== undefined) options.presencePenalty = num(body.presence_penalty);
  if (num(body.frequency_penalty) !== undefined) options.frequencyPenalty = num(body.frequency_penalty);
  const tools = toTools(body.tools);
  if (tools) options.tools = tools;
  const toolChoice = toToolChoice(body.tool_choice);
  if (toolChoice) options.toolChoice = toolChoice;
  const responseFormat = toResponseFormat(body.response_format);
  if (responseFormat) options.responseFormat = responseFormat;
  return options;
}

const FINISH: Record<LanguageModelV3FinishReason['unified'], string> = {
  stop: 'stop',
  length: 'length',
  'content-filter': 'content_filter',
  'tool-calls': 'tool_calls',
  error: 'stop',
  other: 'stop',
};

/** OpenAI's usage object, with the details the seam carries. */
export function openAIUsage(usage: LanguageModelV3Usage | undefined) {
  const prompt = usage?.inputTokens.total ?? 0;
  const completion = usage?.outputTokens.total ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: usage?.inputTokens.cacheRead ?? 0 },
    completion_tokens_details: { reasoning_tokens: usage?.outputTokens.reasoning ?? 0 },
  };
}

export interface TranslatedChatInput {
  model: LanguageModelV3;
  /** The model id the caller named (answers carry it). */
  modelId: string;
  callOptions: Omit<LanguageModelV3CallOptions, 'abortSignal'>;
  stream: boolean;
  includeUsage: boolean;
  signal: AbortSignal;
  timeoutMs: number;
  citations?: unknown[] | undefined;
}

const CAPTURE_CHARS = 65_536;

/**
 * Runs a chat completions request on a language model of the seam and answers in OpenAI's wire
 * format: a `chat.completion`, or `chat.completion.chunk` events ending in `data: [DONE]`.
 */
export async function runTranslatedChat(
  reply: FastifyReply,
  input: TranslatedChatInput,
  onDone: (outcome: RelayOutcome) => void,
): Promise<void> {
  const started = performance.now();
  const id = `chatcmpl-${randomUUID().replaceAll('-', '')}`;
  const created = Math.floor(Date.now() / 1000);
  const controller = new AbortController();
  const forward = () => controller.abort(input.signal.reason);
  input.signal.addEventListener('abort', forward, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException('The model provider did not finish in time', 'TimeoutError'));
  }, input.timeoutMs);
  const outcome: RelayOutcome = {
    status: 'error',
    text: '',
    chars: 0,
    finishReason: null,
    usage: { inputTokens: null, outputTokens: null },
    timing: { ttftMs: null, totalMs: null },
  };
  const take = (text: string) => {
    if (outcome.timing.ttftMs === null) outcome.timing.ttftMs = Math.round((performance.now() - started) * 100) / 100;
    outcome.chars += text.length;
    if (outcome.text.length < CAPTURE_CHARS) outcome.text += text.slice(0, CAPTURE_CHARS - outcome.text.length);
  };
  const done = (status: RelayOutcome['status'], failure?: ProviderFailure) => {
    outcome.status = status;
    outcome.failure = failure;
    outcome.timing.totalMs = Math.round((performance.now() - started) * 100) / 100;
    onDone(outcome);
  };
  const failureOf = (error: unknown): ProviderFailure =>
    timedOut
      ? { kind: 'timeout', retryable: true, upstreamStatus: undefined, message: 'The model provider did not finish in time' }
      : classifyProviderError(error);
  const setUsage = (usage: LanguageModelV3Usage) => {
    outcome.usage = { inputTokens: usage.inputTokens.total ?? null, outputTokens: usage.outputTokens.total ?? null };
  };
  const options = { ...input.callOptions, abortSignal: controller.signal };

  try {
    if (!input.stream) {
      let result: Awaited<ReturnType<LanguageModelV3['doGenerate']>>;
      try {
        result = await input.model.doGenerate(options);
      } catch (error) {
        if (input.signal.aborted) {
          done('stopped');
          return void reply.status(499).send();
        }
        const failure = failureOf(error);
        done('error', failure);
        throw toAppError(failure, error);
      }
      let text = '';
      const toolCalls: Json[] = [];
      for (const part of result.content as LanguageModelV3Content[]) {
        if (part.type === 'text') text += part.text;
        if (part.type === 'tool-call') {
          toolCalls.push({ id: part.toolCallId, type: 'function', function: { name: part.toolName, arguments: part.input } });
          take(part.input);
        }
      }
      if (text) take(text);
      outcome.finishReason = FINISH[result.finishReason.unified];
      setUsage(result.usage);
      done('complete');
      const message: Json = { role: 'assistant', content: toolCalls.length > 0 && !text ? null : text, refusal: null };
      if (toolCalls.length > 0) message.tool_calls = toolCalls;
      if (input.citations && input.citations.length > 0) message.citations = input.citations;
      // An agent's run (its steps, outcome, structured summary) as Axon's extension field.
      const axon = result.providerMetadata?.axon;
      return void reply.send({
        id,
        object: 'chat.completion',
        created,
        model: input.modelId,
        choices: [{ index: 0, message, logprobs: null, finish_reason: outcome.finishReason }],
        usage: openAIUsage(result.usage),
        ...(axon ? { axon } : {}),
      });
    }

    let reader: ReadableStreamDefaultReader<import('@ai-sdk/provider').LanguageModelV3StreamPart>;
    try {
      reader = (await input.model.doStream(options)).stream.getReader();
    } catch (error) {
      if (input.signal.aborted) {
        done('stopped');
        return void reply.status(499).send();
      }
      const failure = failureOf(error);
      done('error', failure);
      throw toAppError(failure, error);
    }
    const sse = openSse(reply, { keepAliveMs: 15_000 });
    const head = `{"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(input.modelId)},"system_fingerprint":null,"choices":[{"index":0,"delta":`;
    const chunk = (delta: unknown, finish: string | null = null) =>
      sse.sendLine(
        `${head}${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}`,
      );
    chunk({ role: 'assistant', content: '' });
    const toolIndex = new Map<string, number>();
    let usage: LanguageModelV3Usage | undefined;
    let axon: unknown;
    let finish: string | null = null;
    let failure: ProviderFailure | undefined;
    const onAbort = () => void reader.cancel().catch(() => {});
    controller.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { done: finished, value: part } = await reader.read();
        if (finished) break;
        if (part.type === 'text-delta' && part.delta) {
          take(part.delta);
          chunk({ content: part.delta });
        } else if (part.type === 'tool-input-start') {
          const index = toolIndex.size;
          toolIndex.set(part.id, index);
          take(part.toolName);
          chunk({ tool_calls: [{ index, id: part.id, type: 'function', function: { name: part.toolName, arguments: '' } }] });
        } else if (part.type === 'tool-input-delta') {
          take(part.delta);
          chunk({ tool_calls: [{ index: toolIndex.get(part.id) ?? 0, function: { arguments: part.delta } }] });
        } else if (part.type === 'tool-call' && !toolIndex.has(part.toolCallId)) {
          // A provider that sends whole calls: one delta with all of it.
          const index = toolIndex.size;
          toolIndex.set(part.toolCallId, index);
          take(part.input);
          chunk({
            tool_calls: [{ index, id: part.toolCallId, type: 'function', function: { name: part.toolName, arguments: part.input } }],
          });
        } else if (part.type === 'finish') {
          usage = part.usage;
          axon = part.providerMetadata?.axon;
          finish = FINISH[part.finishReason.unified];
        } else if (part.type === 'error') {
          failure = failureOf(part.error);
          break;
        }
      }
    } catch (error) {
      failure = failureOf(error);
    } finally {
      controller.signal.removeEventListener('abort', onAbort);
    }
    if (input.signal.aborted) {
      sse.close();
      return done('stopped');
    }
    if (!failure && finish === null) failure = failureOf(new Error('The model stream ended without finishing'));
    if (failure) {
      sse.send(JSON.stringify(openAIErrorBody(toAppError(failure))));
      sse.close();
      return done('error', failure);
    }
    outcome.finishReason = finish;
    if (usage) setUsage(usage);
    const extensions = `${input.citations && input.citations.length > 0 ? `,"citations":${JSON.stringify(input.citations)}` : ''}${axon ? `,"axon":${JSON.stringify(axon)}` : ''}`;
    sse.sendLine(`${head}{},"logprobs":null,"finish_reason":${JSON.stringify(finish)}}]${extensions}}`);
    if (input.includeUsage)
      sse.send(
        JSON.stringify({
          id,
          object: 'chat.completion.chunk',
          created,
          model: input.modelId,
          system_fingerprint: null,
          choices: [],
          usage: openAIUsage(usage),
        }),
      );
    sse.send('[DONE]');
    sse.close();
    done('complete');
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', forward);
  }
}
