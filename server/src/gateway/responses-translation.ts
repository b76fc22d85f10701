import { randomBytes } from 'node:crypto';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolChoice,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import type { FastifyReply } from 'fastify';
import { AppError, classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import { openSse } from '../http/sse';
import type { RelayOutcome } from './openai-chat-relay';

/**
 * OpenAI's Responses API translated to and from the AI SDK's language-model seam, for upstreams
 * that speak only chat completions (or Anthropic's Messages API) and for Axon's local model:
 * `input` items (messages with text and image parts, function calls and their outputs),
 * `instructions`, function tools, `tool_choice`, `text.format` and the sampling settings; answers
 * as a `response` object or as its typed stream events, in the order OpenAI sends them.
 */

type Json = Record<string, unknown>;

const invalid = (param: string, message: string) =>
  new AppError('validation_failed', { detail: message, errors: [{ path: `body.${param}`, message }] });

/** A new id in OpenAI's style: the prefix, then 48 hex digits. */
export const newItemId = (prefix: string) => `${prefix}_${randomBytes(24).toString('hex')}`;

/** `input` as a list of items (a string is one user message). */
export function inputItems(input: unknown): Json[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return [{ type: 'message', role: 'user', content: input }];
  return (input as unknown[]).map((item) => (item ?? {}) as Json);
}

/** The text of Responses content: a string, or its `input_text`/`output_text` parts. */
export function responsesContentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content) {
    const p = (part ?? {}) as Json;
    if ((p.type === 'input_text' || p.type === 'output_text' || p.type === 'text') && typeof p.text === 'string') text += p.text;
  }
  return text;
}

/** Whether any item carries an image part. */
export const itemsHaveImages = (items: Json[]) =>
  items.some((item) => Array.isArray(item.content) && item.content.some((p) => (p as Json | null)?.type === 'input_image'));

function imagePart(part: Json, at: string) {
  if (typeof part.image_url !== 'string')
    throw invalid(at, 'an input_image part needs image_url (an uploaded file_id needs an upstream that serves the Responses API)');
  const data = /^data:([^;,]+)(;base64)?,(.*)$/s.exec(part.image_url);
  if (data)
    return {
      type: 'file' as const,
      mediaType: data[1] ?? 'image/png',
      data: data[2] ? (data[3] ?? '') : Buffer.from(decodeURIComponent(data[3] ?? '')).toString('base64'),
    };
  try {
    return { type: 'file' as const, mediaType: 'image/*', data: new URL(part.image_url) };
  } catch {
    throw invalid(at, 'image_url must be a URL or a data: URL');
  }
}

function userContent(content: unknown, at: string) {
  if (typeof content === 'string') return [{ type: 'text' as const, text: content }];
  if (!Array.isArray(content)) throw invalid(at, 'content must be a string or an array of parts');
  return content.map((part, i) => {
    const p = (part ?? {}) as Json;
    if (p.type === 'input_text' || p.type === 'text' || p.type === 'output_text')
      return { type: 'text' as const, text: String(p.text ?? '') };
    if (p.type === 'input_image') return imagePart(p, `${at}.${i}`);
    throw invalid(`${at}.${i}`, `content parts of type ${String(p.type)} need an upstream that serves the Responses API`);
  });
}

function parseArguments(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw ?? {};
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

type AssistantContent = Extract<LanguageModelV3Message, { role: 'assistant' }>['content'];

/**
 * Instructions and input items as the seam's prompt. Function calls and their outputs keep their
 * `call_id`s; consecutive assistant parts (text, calls) form one assistant message and consecutive
 * outputs one tool message, as chat completions wants them. `reasoning` items are left out.
 */
export function toResponsesPrompt(instructions: string[], items: Json[], firstNewItem = 0): LanguageModelV3Prompt {
  const prompt: LanguageModelV3Message[] = instructions.filter((text) => text.trim()).map((content) => ({ role: 'system', content }));
  const toolNames = new Map<string, string>();
  const assistant = (): AssistantContent => {
    const last = prompt.at(-1);
    if (last?.role === 'assistant') return last.content;
    const content: AssistantContent = [];
    prompt.push({ role: 'assistant', content });
    return content;
  };
  items.forEach((item, index) => {
    // Items of earlier turns are Axon's own; paths name the caller's `input` items.
    const at = `input.${index - firstNewItem}`;
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message':
        switch (item.role) {
          case 'system':
          case 'developer':
            prompt.push({ role: 'system', content: responsesContentText(item.content) });
            break;
          case 'user':
            prompt.push({ role: 'user', content: userContent(item.content, `${at}.content`) });
            break;
          case 'assistant': {
            const text = responsesContentText(item.content);
            if (text) assistant().push({ type: 'text', text });
            break;
          }
          default:
            throw invalid(`${at}.role`, `unknown role ${String(item.role)}`);
        }
        break;
      case 'function_call': {
        const callId = String(item.call_id ?? '');
        const name = String(item.name ?? '');
        toolNames.set(callId, name);
        assistant().push({ type: 'tool-call', toolCallId: callId, toolName: name, input: parseArguments(item.arguments) });
        break;
      }
      case 'function_call_output': {
        const callId = String(item.call_id ?? '');
        if (!toolNames.has(callId))
          throw invalid(`${at}.call_id`, `no function_call with call_id ${callId} comes before this output (name previous_response_id?)`);
        const value = typeof item.output === 'string' ? item.output : responsesContentText(item.output);
        const part = {
          type: 'tool-result' as const,
          toolCallId: callId,
          toolName: toolNames.get(callId) ?? '',
          output: { type: 'text' as const, value },
        };
        const last = prompt.at(-1);
        if (last?.role === 'tool') last.content.push(part);
        else prompt.push({ role: 'tool', content: [part] });
        break;
      }
      case 'reasoning':
        break;
      default:
        throw invalid(`${at}.type`, `input items of type ${String(type)} need an upstream that serves the Responses API`);
    }
  });
  return prompt;
}

function toTools(tools: unknown): LanguageModelV3FunctionTool[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((tool, i) => {
    const t = (tool ?? {}) as Json;
    if (t.type !== 'function')
      throw invalid(
        `tools.${i}.type`,
        `tools of type ${String(t.type)} need an upstream that serves the Responses API; function tools work with every model`,
      );
    if (typeof t.name !== 'string' || !t.name) throw invalid(`tools.${i}.name`, 'a function tool needs a name');
    return {
      type: 'function',
      name: t.name,
      ...(typeof t.description === 'string' ? { description: t.description } : {}),
      inputSchema: (t.parameters as LanguageModelV3FunctionTool['inputSchema']) ?? { type: 'object', properties: {} },
      ...(typeof t.strict === 'boolean' ? { strict: t.strict } : {}),
    };
  });
}

function toToolChoice(choice: unknown): LanguageModelV3ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return { type: choice };
  const c = choice as Json;
  if (c.type === 'function' && typeof c.name === 'string') return { type: 'tool', toolName: c.name };
  throw invalid('tool_choice', 'tool_choice must be auto, none, required or { type: "function", name }');
}

function toResponseFormat(text: unknown): LanguageModelV3CallOptions['responseFormat'] {
  const format = (text as Json | null | undefined)?.format as Json | null | undefined;
  if (!format) return undefined;
  if (format.type === 'text') return { type: 'text' };
  if (format.type === 'json_object') return { type: 'json' };
  if (format.type === 'json_schema')
    return {
      type: 'json',
      ...(format.schema
        ? { schema: format.schema as Extract<LanguageModelV3CallOptions['responseFormat'], { type: 'json' }>['schema'] }
        : {}),
      ...(typeof format.name === 'string' ? { name: format.name } : {}),
      ...(typeof format.description === 'string' ? { description: format.description } : {}),
    };
  throw invalid('text.format.type', 'text.format.type must be text, json_object or json_schema');
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/** A Responses request as the seam's call options (without the abort signal). */
export function toResponsesCallOptions(body: Json, prompt: LanguageModelV3Prompt): Omit<LanguageModelV3CallOptions, 'abortSignal'> {
  const options: Omit<LanguageModelV3CallOptions, 'abortSignal'> = { prompt };
  if (num(body.max_output_tokens) !== undefined) options.maxOutputTokens = num(body.max_output_tokens);
  if (num(body.temperature) !== undefined) options.temperature = num(body.temperature);
  if (num(body.top_p) !== undefined) options.topP = num(body.top_p);
  const tools = toTools(body.tools);
  if (tools) options.tools = tools;
  const toolChoice = toToolChoice(body.tool_choice);
  if (toolChoice) options.toolChoice = toolChoice;
  const responseFormat = toResponseFormat(body.text);
  if (responseFormat) options.responseFormat = responseFormat;
  return options;
}

/** The Responses API's usage object, with the details the seam carries. */
export function responsesUsage(usage: LanguageModelV3Usage | undefined) {
  const input = usage?.inputTokens.total ?? 0;
  const output = usage?.outputTokens.total ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage?.inputTokens.cacheRead ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage?.outputTokens.reasoning ?? 0 },
    total_tokens: input + output,
  };
}

/** A finish reason as the response's status and `incomplete_details`. */
function statusOf(finish: LanguageModelV3FinishReason['unified']) {
  if (finish === 'length') return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  if (finish === 'content-filter') return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** The request's fields a `response` object echoes. */
export function echoedFields(body: Json) {
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: body.store !== false,
    temperature: body.temperature ?? 1,
    text: body.text ?? { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: body.top_p ?? 1,
    truncation: 'disabled',
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

export interface TranslatedResponseInput {
  model: LanguageModelV3;
  /** The model id the caller named (the response carries it). */
  modelId: string;
  /** The response's id (`resp_…`). */
  id: string;
  callOptions: Omit<LanguageModelV3CallOptions, 'abortSignal'>;
  /** Request fields the response echoes (`echoedFields`). */
  echo: Json;
  stream: boolean;
  signal: AbortSignal;
  timeoutMs: number;
  /**
   * Called with the finished response (completed or incomplete) and its output items before the
   * caller sees it, so that a `previous_response_id` naming it at once finds it.
   */
  onFinished?: (response: Json, output: Json[]) => Promise<void>;
}

const CAPTURE_CHARS = 65_536;

/**
 * Runs a Responses request on a language model of the seam and answers in the Responses wire
 * format: a `response` object, or the typed events (`response.created`, `response.in_progress`,
 * each output item's `added`/deltas/`done`, then `response.completed`, `response.incomplete` or
 * `response.failed`), each with its `sequence_number`.
 */
export async function runTranslatedResponse(
  reply: FastifyReply,
  input: TranslatedResponseInput,
  onDone: (outcome: RelayOutcome) => void,
): Promise<void> {
  const started = performance.now();
  const createdAt = Math.floor(Date.now() / 1000);
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
    responseId: input.id,
    text: '',
    chars: 0,
    finishReason: null,
    usage: { inputTokens: null, outputTokens: null },
    timing: { ttftMs: null, totalMs: null },
  };
  const take = (text: string) => {
    if (!text) return;
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
  const responseObject = (fields: Json) => ({
    id: input.id,
    object: 'response',
    created_at: createdAt,
    status: 'in_progress',
    error: null,
    incomplete_details: null,
    model: input.modelId,
    output: [] as Json[],
    usage: null as unknown,
    ...input.echo,
    ...fields,
  });
  const options = { ...input.callOptions, abortSignal: controller.signal };
  const stopped = () => {
    done('stopped');
    reply.status(499).send();
  };

  try {
    if (!input.stream) {
      let result: Awaited<ReturnType<LanguageModelV3['doGenerate']>>;
      try {
        result = await input.model.doGenerate(options);
      } catch (error) {
        if (input.signal.aborted) return stopped();
        const failure = failureOf(error);
        done('error', failure);
        throw toAppError(failure, error);
      }
      const output: Json[] = [];
      for (const part of result.content as LanguageModelV3Content[]) {
        if (part.type === 'text' && part.text) {
          take(part.text);
          const last = output.at(-1);
          const content = last?.type === 'message' ? (last.content as Json[])[0] : undefined;
          if (content) content.text = `${String(content.text)}${part.text}`;
          else
            output.push({
              id: newItemId('msg'),
              type: 'message',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_text', text: part.text, annotations: [], logprobs: [] }],
            });
        }
        if (part.type === 'tool-call') {
          take(part.toolName);
          take(part.input);
          output.push({
            id: newItemId('fc'),
            type: 'function_call',
            status: 'completed',
            call_id: part.toolCallId,
            name: part.toolName,
            arguments: part.input,
          });
        }
      }
      outcome.finishReason = result.finishReason.unified;
      setUsage(result.usage);
      // An agent's run (steps, outcome, summary) as Axon's extension field.
      const axon = result.providerMetadata?.axon;
      const response = responseObject({
        ...statusOf(result.finishReason.unified),
        output,
        usage: responsesUsage(result.usage),
        ...(axon ? { axon } : {}),
      });
      await input.onFinished?.(response, output);
      done('complete');
      return void reply.send(response);
    }

    let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>;
    try {
      reader = (await input.model.doStream(options)).stream.getReader();
    } catch (error) {
      if (input.signal.aborted) return stopped();
      const failure = failureOf(error);
      done('error', failure);
      throw toAppError(failure, error);
    }
    const sse = openSse(reply, { keepAliveMs: 15_000 });
    let sequence = 0;
    const event = (type: string, data: Json) => sse.send(JSON.stringify({ type, sequence_number: sequence++, ...data }), type);
    const output: Json[] = [];
    event('response.created', { response: responseObject({}) });
    event('response.in_progress', { response: responseObject({}) });

    // The message being written (text goes to one message item until a function call starts).
    let message: { index: number; item: Json; text: string } | undefined;
    const calls = new Map<string, { index: number; item: Json; args: string }>();
    const closeMessage = () => {
      if (!message) return;
      const { index, item, text } = message;
      const part = { type: 'output_text', text, annotations: [], logprobs: [] };
      event('response.output_text.done', { item_id: item.id, output_index: index, content_index: 0, text, logprobs: [] });
      event('response.content_part.done', { item_id: item.id, output_index: index, content_index: 0, part });
      output[index] = { ...item, status: 'completed', content: [part] };
      event('response.output_item.done', { output_index: index, item: output[index] });
      message = undefined;
    };
    const openCall = (callId: string, name: string) => {
      closeMessage();
      const item = { id: newItemId('fc'), type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name };
      const call = { index: output.length, item, args: '' };
      output.push(item);
      calls.set(callId, call);
      take(name);
      event('response.output_item.added', { output_index: call.index, item });
      return call;
    };
    const closeCall = (callId: string, args?: string) => {
      const call = calls.get(callId);
      if (!call || call.item.status === 'completed') return;
      const final = args ?? call.args;
      if (args !== undefined && args !== call.args && args.startsWith(call.args) && args.length > call.args.length) {
        // A provider that sent the whole call at the end: the rest of the arguments as one delta.
        take(args.slice(call.args.length));
        event('response.function_call_arguments.delta', {
          item_id: call.item.id,
          output_index: call.index,
          delta: args.slice(call.args.length),
        });
      }
      event('response.function_call_arguments.done', {
        item_id: call.item.id,
        output_index: call.index,
        name: call.item.name,
        arguments: final,
      });
      call.item = { ...call.item, status: 'completed', arguments: final };
      output[call.index] = call.item;
      event('response.output_item.done', { output_index: call.index, item: call.item });
    };

    let usage: LanguageModelV3Usage | undefined;
    let axon: unknown;
    let finish: LanguageModelV3FinishReason['unified'] | undefined;
    let failure: ProviderFailure | undefined;
    const onAbort = () => void reader.cancel().catch(() => {});
    controller.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { done: finished, value: part } = await reader.read();
        if (finished) break;
        if (part.type === 'text-delta' && part.delta) {
          take(part.delta);
          if (!message) {
            const item = { id: newItemId('msg'), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
            message = { index: output.length, item, text: '' };
            output.push(item);
            event('response.output_item.added', { output_index: message.index, item });
            event('response.content_part.added', {
              item_id: item.id,
              output_index: message.index,
              content_index: 0,
              part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
            });
          }
          message.text += part.delta;
          event('response.output_text.delta', {
            item_id: message.item.id,
            output_index: message.index,
            content_index: 0,
            delta: part.delta,
            logprobs: [],
          });
        } else if (part.type === 'tool-input-start') {
          openCall(part.id, part.toolName);
        } else if (part.type === 'tool-input-delta') {
          const call = calls.get(part.id);
          if (call && part.delta) {
            take(part.delta);
            call.args += part.delta;
            event('response.function_call_arguments.delta', { item_id: call.item.id, output_index: call.index, delta: part.delta });
          }
        } else if (part.type === 'tool-call') {
          if (!calls.has(part.toolCallId)) openCall(part.toolCallId, part.toolName);
          closeCall(part.toolCallId, part.input);
        } else if (part.type === 'finish') {
          usage = part.usage;
          axon = part.providerMetadata?.axon;
          finish = part.finishReason.unified;
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
    if (!failure && finish === undefined) failure = failureOf(new Error('The model stream ended without finishing'));
    if (failure) {
      const code = failure.kind === 'rate' || failure.kind === 'quota' ? 'rate_limit_exceeded' : 'server_error';
      event('response.failed', {
        response: responseObject({ status: 'failed', error: { code, message: failure.message }, output: output.filter(Boolean) }),
      });
      sse.close();
      return done('error', failure);
    }
    closeMessage();
    for (const callId of calls.keys()) closeCall(callId);
    const unified = finish ?? 'stop';
    outcome.finishReason = unified;
    if (usage) setUsage(usage);
    const state = statusOf(unified);
    const response = responseObject({ ...state, output, usage: responsesUsage(usage), ...(axon ? { axon } : {}) });
    await input.onFinished?.(response, output);
    event(state.status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
    sse.close();
    done('complete');
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', forward);
  }
}
