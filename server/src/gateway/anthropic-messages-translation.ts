import { randomUUID } from 'node:crypto';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FilePart,
  LanguageModelV3FinishReason,
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3TextPart,
  LanguageModelV3ToolChoice,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3ToolResultPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import type { FastifyReply } from 'fastify';
import { AppError, classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import { anthropicErrorBody } from '../http/problem';
import { openSse } from '../http/sse';
import type { RelayOutcome } from './openai-chat-relay';

/**
 * Anthropic's Messages API translated to and from the AI SDK's language-model seam, for models
 * that speak another format (OpenAI-wire upstreams, Axon's local model): system prompts, text,
 * images (base64 and url sources), `tool_use` and `tool_result` blocks, tools with `input_schema`,
 * `tool_choice`, the sampling settings and stop sequences; answers as a `message` or its named
 * SSE events (`message_start` … `message_stop`).
 */

type Json = Record<string, unknown>;

const invalid = (param: string, message: string) =>
  new AppError('validation_failed', { detail: message, errors: [{ path: `body.${param}`, message }] });

/** The text of Anthropic content: a string, or its text blocks. */
export function blocksText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const block of content)
    if (block && typeof block === 'object' && (block as Json).type === 'text') text += String((block as Json).text ?? '');
  return text;
}

/** An `image` or `document` block's source as a file part. */
function sourcePart(block: Json, at: string): LanguageModelV3FilePart {
  const source = (block.source ?? {}) as Json;
  const fallbackType = block.type === 'image' ? 'image/*' : 'application/pdf';
  if (source.type === 'base64' && typeof source.data === 'string')
    return { type: 'file', mediaType: typeof source.media_type === 'string' ? source.media_type : fallbackType, data: source.data };
  if (source.type === 'url' && typeof source.url === 'string') {
    try {
      return { type: 'file', mediaType: fallbackType, data: new URL(source.url) };
    } catch {
      throw invalid(`${at}.source.url`, 'source.url must be a URL');
    }
  }
  throw invalid(`${at}.source`, `${String(block.type)} sources must be of type base64 or url for this model`);
}

function toolResultOutput(block: Json, at: string): LanguageModelV3ToolResultOutput {
  const content = block.content;
  const isError = block.is_error === true;
  if (content === undefined || content === null || typeof content === 'string')
    return { type: isError ? 'error-text' : 'text', value: content ?? '' };
  if (!Array.isArray(content)) throw invalid(`${at}.content`, 'tool_result content must be a string or an array of blocks');
  const parts: Extract<LanguageModelV3ToolResultOutput, { type: 'content' }>['value'] = [];
  content.forEach((raw, i) => {
    const part = (raw ?? {}) as Json;
    if (part.type === 'text') parts.push({ type: 'text', text: String(part.text ?? '') });
    else if (part.type === 'image') {
      const file = sourcePart(part, `${at}.content.${i}`);
      parts.push(
        file.data instanceof URL
          ? { type: 'image-url', url: file.data.href }
          : { type: 'image-data', data: String(file.data), mediaType: file.mediaType },
      );
    } else throw invalid(`${at}.content.${i}`, `tool_result blocks of type ${String(part.type)} cannot be sent to this model`);
  });
  if (parts.every((p) => p.type === 'text'))
    return { type: isError ? 'error-text' : 'text', value: parts.map((p) => (p.type === 'text' ? p.text : '')).join('') };
  return { type: 'content', value: parts };
}

type UserPart = LanguageModelV3TextPart | LanguageModelV3FilePart;
type AssistantContent = Extract<LanguageModelV3Message, { role: 'assistant' }>['content'];

/**
 * A Messages request's `system` and `messages` as the seam's prompt. A user message's
 * `tool_result` blocks become a tool message (the seam's place for them), in order with its
 * other blocks; `tool_use` blocks keep their ids, and each result gets the name of its call.
 */
export function toMessagesPrompt(system: unknown, messages: unknown[]): LanguageModelV3Prompt {
  const prompt: LanguageModelV3Message[] = [];
  if (typeof system === 'string') {
    if (system) prompt.push({ role: 'system', content: system });
  } else if (Array.isArray(system)) {
    system.forEach((raw, i) => {
      const block = (raw ?? {}) as Json;
      if (block.type !== 'text') throw invalid(`system.${i}`, 'system blocks must be text blocks');
      if (block.text) prompt.push({ role: 'system', content: String(block.text) });
    });
  }
  const toolNames = new Map<string, string>();
  messages.forEach((raw, index) => {
    const m = (raw ?? {}) as Json;
    const at = `messages.${index}.content`;
    const blocks: Json[] =
      typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m.content) ? (m.content as Json[]) : [];
    if (m.role === 'assistant') {
      const content: AssistantContent = [];
      blocks.forEach((block, i) => {
        if (block.type === 'text') {
          if (block.text) content.push({ type: 'text', text: String(block.text) });
        } else if (block.type === 'tool_use') {
          const id = String(block.id ?? '');
          toolNames.set(id, String(block.name ?? ''));
          content.push({ type: 'tool-call', toolCallId: id, toolName: String(block.name ?? ''), input: block.input ?? {} });
        } else if (block.type === 'thinking') {
          if (block.thinking) content.push({ type: 'reasoning', text: String(block.thinking) });
        } else if (block.type !== 'redacted_thinking') {
          throw invalid(`${at}.${i}`, `assistant blocks of type ${String(block.type)} cannot be sent to this model`);
        }
      });
      prompt.push({ role: 'assistant', content });
      return;
    }
    let user: UserPart[] = [];
    let results: LanguageModelV3ToolResultPart[] = [];
    const flushUser = () => {
      if (user.length > 0) prompt.push({ role: 'user', content: user });
      user = [];
    };
    const flushResults = () => {
      if (results.length > 0) prompt.push({ role: 'tool', content: results });
      results = [];
    };
    blocks.forEach((block, i) => {
      if (block.type === 'tool_result') {
        flushUser();
        const id = String(block.tool_use_id ?? '');
        results.push({
          type: 'tool-result',
          toolCallId: id,
          toolName: toolNames.get(id) ?? '',
          output: toolResultOutput(block, `${at}.${i}`),
        });
        return;
      }
      flushResults();
      if (block.type === 'text') user.push({ type: 'text', text: String(block.text ?? '') });
      else if (block.type === 'image') user.push(sourcePart(block, `${at}.${i}`));
      else if (block.type === 'document') {
        const source = (block.source ?? {}) as Json;
        if (source.type === 'text') user.push({ type: 'text', text: String(source.data ?? '') });
        else user.push(sourcePart(block, `${at}.${i}`));
      } else throw invalid(`${at}.${i}`, `content blocks of type ${String(block.type)} cannot be sent to this model`);
    });
    flushResults();
    flushUser();
  });
  return prompt;
}

/** Whether the request holds an image, in a message or in a tool result. */
export function hasImageBlocks(messages: Array<{ content: unknown }>): boolean {
  const isImage = (block: unknown): boolean => {
    const b = (block ?? {}) as Json;
    return b.type === 'image' || (b.type === 'tool_result' && Array.isArray(b.content) && b.content.some(isImage));
  };
  return messages.some((m) => Array.isArray(m.content) && m.content.some(isImage));
}

/** The JSON schema of `output_format` (or `output_config.format`), when the caller asks for structured output. */
export function outputSchemaOf(body: Json): Json | undefined {
  const format = ((body.output_config as Json | undefined)?.format ?? body.output_format) as Json | undefined;
  if (!format || typeof format !== 'object') return undefined;
  if (format.type !== 'json_schema') throw invalid('output_format.type', 'output_format.type must be json_schema');
  return (format.schema as Json | undefined) ?? {};
}

function toTools(tools: unknown): LanguageModelV3FunctionTool[] | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  return tools.map((raw, i) => {
    const t = (raw ?? {}) as Json;
    if (t.type !== undefined && t.type !== 'custom')
      throw invalid(`tools.${i}`, `the server tool ${String(t.type)} runs only on Anthropic models`);
    if (typeof t.name !== 'string') throw invalid(`tools.${i}.name`, 'a tool needs a name');
    return {
      type: 'function',
      name: t.name,
      ...(typeof t.description === 'string' ? { description: t.description } : {}),
      inputSchema: (t.input_schema as LanguageModelV3FunctionTool['inputSchema']) ?? { type: 'object', properties: {} },
    };
  });
}

function toToolChoice(choice: unknown): LanguageModelV3ToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  const c = choice as Json;
  if (c.type === 'auto' || c.type === 'none') return { type: c.type };
  if (c.type === 'any') return { type: 'required' };
  if (c.type === 'tool' && typeof c.name === 'string') return { type: 'tool', toolName: c.name };
  throw invalid('tool_choice', 'tool_choice must be { type: "auto" | "any" | "none" } or { type: "tool", name }');
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

/** The stop sequences a request names (strings only). */
export const stopSequencesOf = (body: Json): string[] =>
  Array.isArray(body.stop_sequences) ? body.stop_sequences.filter((s): s is string => typeof s === 'string' && s.length > 0) : [];

/** A Messages request as the seam's call options (without the abort signal). */
export function toMessagesCallOptions(body: Json, prompt: LanguageModelV3Prompt): Omit<LanguageModelV3CallOptions, 'abortSignal'> {
  const options: Omit<LanguageModelV3CallOptions, 'abortSignal'> = { prompt };
  if (num(body.max_tokens) !== undefined) options.maxOutputTokens = num(body.max_tokens);
  if (num(body.temperature) !== undefined) options.temperature = num(body.temperature);
  if (num(body.top_p) !== undefined) options.topP = num(body.top_p);
  if (num(body.top_k) !== undefined) options.topK = num(body.top_k);
  const stop = stopSequencesOf(body);
  if (stop.length > 0) options.stopSequences = stop;
  const tools = toTools(body.tools);
  if (tools) options.tools = tools;
  const toolChoice = toToolChoice(body.tool_choice);
  if (toolChoice) options.toolChoice = toolChoice;
  const schema = outputSchemaOf(body);
  if (schema) options.responseFormat = { type: 'json', schema: schema as never };
  return options;
}

const STOP_REASON: Record<LanguageModelV3FinishReason['unified'], string> = {
  stop: 'end_turn',
  length: 'max_tokens',
  'tool-calls': 'tool_use',
  'content-filter': 'refusal',
  error: 'end_turn',
  other: 'end_turn',
};

const stopReasonOf = (reason: LanguageModelV3FinishReason) =>
  reason.raw === 'stop_sequence' || reason.raw === 'pause_turn' ? reason.raw : STOP_REASON[reason.unified];

/** Anthropic's usage object from the seam's: `input_tokens` without the cached part, as Anthropic counts it. */
export function anthropicUsage(usage: LanguageModelV3Usage | undefined) {
  const cacheRead = usage?.inputTokens.cacheRead ?? 0;
  const cacheWrite = usage?.inputTokens.cacheWrite ?? 0;
  return {
    input_tokens: usage?.inputTokens.noCache ?? Math.max(0, (usage?.inputTokens.total ?? 0) - cacheRead - cacheWrite),
    output_tokens: usage?.outputTokens.total ?? 0,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
  };
}

/**
 * Finds the caller's stop sequences in streamed text (for models that do not stop at them
 * themselves), holding back a tail that could be the start of one until the next delta says.
 */
export function createStopScanner(sequences: string[]) {
  let held = '';
  return {
    /** The text that may be passed on, and the sequence found, if one was (the text ends before it). */
    push(delta: string): { text: string; matched?: string } {
      if (sequences.length === 0) return { text: delta };
      const text = held + delta;
      let at = -1;
      let matched: string | undefined;
      for (const sequence of sequences) {
        const i = text.indexOf(sequence);
        if (i >= 0 && (at < 0 || i < at)) {
          at = i;
          matched = sequence;
        }
      }
      if (matched !== undefined) {
        held = '';
        return { text: text.slice(0, at), matched };
      }
      let hold = 0;
      const longest = Math.max(...sequences.map((s) => s.length));
      for (let k = Math.min(text.length, longest - 1); k > 0; k--) {
        const tail = text.slice(text.length - k);
        if (sequences.some((s) => s.startsWith(tail))) {
          hold = k;
          break;
        }
      }
      held = text.slice(text.length - hold);
      return { text: text.slice(0, text.length - hold) };
    },
    /** What is held back, once no more text comes. */
    flush(): string {
      const rest = held;
      held = '';
      return rest;
    },
  };
}

export interface TranslatedMessagesInput {
  model: LanguageModelV3;
  /** The model id the caller named (answers carry it). */
  modelId: string;
  callOptions: Omit<LanguageModelV3CallOptions, 'abortSignal'>;
  stream: boolean;
  signal: AbortSignal;
  timeoutMs: number;
}

const CAPTURE_CHARS = 65_536;

const parseInput = (raw: string): unknown => {
  try {
    return JSON.parse(raw || '{}');
  } catch {
    return {};
  }
};

/**
 * Runs a Messages request on a language model of the seam and answers in Anthropic's format: a
 * `message` object, or the named SSE events `message_start`, `content_block_start` (text,
 * tool_use), `content_block_delta` (`text_delta`, `input_json_delta`), `content_block_stop`,
 * `message_delta` (stop reason, usage), `message_stop`; an `error` event when it fails after the
 * start. Stop sequences the model passes over end the answer with `stop_reason: stop_sequence`.
 */
export async function runTranslatedMessages(
  reply: FastifyReply,
  input: TranslatedMessagesInput,
  onDone: (outcome: RelayOutcome) => void,
): Promise<void> {
  const started = performance.now();
  const id = `msg_${randomUUID().replaceAll('-', '')}`;
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
    responseId: id,
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
  const setUsage = (usage: LanguageModelV3Usage | undefined) => {
    if (usage) outcome.usage = { inputTokens: usage.inputTokens.total ?? null, outputTokens: usage.outputTokens.total ?? null };
  };
  const options = { ...input.callOptions, abortSignal: controller.signal };
  const stopSequences = input.callOptions.stopSequences ?? [];

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
      const content: Json[] = [];
      const scanner = createStopScanner(stopSequences);
      let matched: string | undefined;
      const addText = (text: string) => {
        if (!text) return;
        take(text);
        const last = content.at(-1);
        if (last?.type === 'text') last.text = `${String(last.text)}${text}`;
        else content.push({ type: 'text', text });
      };
      for (const part of result.content as LanguageModelV3Content[]) {
        if (matched !== undefined) break;
        if (part.type === 'text') {
          const found = scanner.push(part.text);
          addText(found.text);
          matched = found.matched;
        } else if (part.type === 'tool-call') {
          addText(scanner.flush());
          take(part.toolName);
          take(part.input);
          content.push({ type: 'tool_use', id: part.toolCallId, name: part.toolName, input: parseInput(part.input) });
        }
      }
      if (matched === undefined) addText(scanner.flush());
      const stopReason = matched !== undefined ? 'stop_sequence' : stopReasonOf(result.finishReason);
      outcome.finishReason = stopReason;
      setUsage(result.usage);
      done('complete');
      return void reply.send({
        id,
        type: 'message',
        role: 'assistant',
        model: input.modelId,
        content,
        stop_reason: stopReason,
        stop_sequence: matched ?? null,
        usage: anthropicUsage(result.usage),
        // An agent's run (steps, outcome, summary) as Axon's extension field.
        ...(result.providerMetadata?.axon ? { axon: result.providerMetadata.axon } : {}),
      });
    }

    let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>;
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
    const event = (name: string, data: Json) => sse.send(JSON.stringify({ type: name, ...data }), name);
    event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model: input.modelId,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    });

    // Anthropic's blocks come one after another: one is open at a time.
    let index = -1;
    let open: { kind: 'text' } | { kind: 'tool'; id: string; json: string } | undefined;
    const streamedTools = new Set<string>();
    const closeBlock = () => {
      if (!open) return;
      event('content_block_stop', { index });
      open = undefined;
    };
    const text = (delta: string) => {
      if (!delta) return;
      if (open?.kind !== 'text') {
        closeBlock();
        index++;
        open = { kind: 'text' };
        event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      }
      take(delta);
      event('content_block_delta', { index, delta: { type: 'text_delta', text: delta } });
    };
    const startTool = (toolId: string, name: string) => {
      closeBlock();
      index++;
      open = { kind: 'tool', id: toolId, json: '' };
      streamedTools.add(toolId);
      take(name);
      event('content_block_start', { index, content_block: { type: 'tool_use', id: toolId, name, input: {} } });
    };
    const toolJson = (json: string) => {
      if (!json || open?.kind !== 'tool') return;
      open.json += json;
      take(json);
      event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json } });
    };

    const scanner = createStopScanner(stopSequences);
    let matched: string | undefined;
    let usage: LanguageModelV3Usage | undefined;
    let axon: unknown;
    let finish: LanguageModelV3FinishReason | undefined;
    let failure: ProviderFailure | undefined;
    const onAbort = () => void reader.cancel().catch(() => {});
    controller.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const { done: finished, value: part } = await reader.read();
        if (finished) break;
        if (part.type === 'finish') {
          usage = part.usage;
          axon = part.providerMetadata?.axon;
          finish = part.finishReason;
        } else if (part.type === 'error') {
          failure = failureOf(part.error);
          break;
        } else if (matched !== undefined) {
          // Past a stop sequence: the rest is read for its usage, not passed on.
        } else if (part.type === 'text-delta') {
          const found = scanner.push(part.delta);
          text(found.text);
          matched = found.matched;
        } else if (part.type === 'tool-input-start') {
          text(scanner.flush());
          startTool(part.id, part.toolName);
        } else if (part.type === 'tool-input-delta') {
          if (open?.kind === 'tool' && open.id === part.id) toolJson(part.delta);
        } else if (part.type === 'tool-call') {
          if (!streamedTools.has(part.toolCallId)) {
            text(scanner.flush());
            startTool(part.toolCallId, part.toolName);
          }
          // A provider that sent the call whole, or its input only at the end: the input in one delta.
          if (open?.kind === 'tool' && open.id === part.toolCallId) {
            if (!open.json) toolJson(part.input);
            closeBlock();
          }
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
    if (!failure && !finish) failure = failureOf(new Error('The model stream ended without finishing'));
    if (failure) {
      sse.send(JSON.stringify(anthropicErrorBody(toAppError(failure))), 'error');
      sse.close();
      return done('error', failure);
    }
    if (matched === undefined) text(scanner.flush());
    closeBlock();
    const stopReason = matched !== undefined ? 'stop_sequence' : stopReasonOf(finish as LanguageModelV3FinishReason);
    outcome.finishReason = stopReason;
    setUsage(usage);
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: matched ?? null },
      usage: anthropicUsage(usage),
      ...(axon ? { axon } : {}),
    });
    event('message_stop', {});
    sse.close();
    done('complete');
  } finally {
    clearTimeout(timer);
    input.signal.removeEventListener('abort', forward);
  }
}
