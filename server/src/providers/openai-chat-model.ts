import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  APICallError,
  type LanguageModelV3,
  type LanguageModelV3CallOptions,
  type LanguageModelV3FinishReason,
  type LanguageModelV3GenerateResult,
  type LanguageModelV3Prompt,
  type LanguageModelV3StreamPart,
  type LanguageModelV3Usage,
} from '@ai-sdk/provider';
import type { UpstreamTimeouts } from './model-connections';
import { limitIdle, limitRequest } from './upstream-timeouts';

/** One upstream speaking OpenAI's chat completions API: OpenAI itself, vLLM, TGI, Ollama, llama.cpp. */
export interface OpenAIChatEndpoint {
  /** Provider name reported on the model (`openai`, or the connection's name). */
  provider: string;
  /** Base URL including `/v1`. */
  baseURL: string;
  apiKey?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** The connection's connect, first-byte and idle limits; none without. */
  timeouts?: UpstreamTimeouts | undefined;
}

type OpenAIMessage = { role: 'system' | 'user' | 'assistant'; content: string };

function promptToMessages(prompt: LanguageModelV3Prompt): OpenAIMessage[] {
  const messages: OpenAIMessage[] = [];
  for (const message of prompt) {
    if (message.role === 'system') messages.push({ role: 'system', content: message.content });
    else if (message.role === 'user' || message.role === 'assistant') {
      let text = '';
      for (const part of message.content) if (part.type === 'text') text += part.text;
      messages.push({ role: message.role, content: text });
    } else {
      let text = '';
      for (const part of message.content) if (part.type === 'tool-result') text += JSON.stringify(part.output);
      messages.push({ role: 'user', content: text });
    }
  }
  return messages;
}

/** The chat completions request for a call of the AI SDK's model spec (text parts only). */
export function chatCompletionsBody(modelId: string, options: LanguageModelV3CallOptions, stream: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = { model: modelId, messages: promptToMessages(options.prompt) };
  if (options.maxOutputTokens !== undefined) body.max_tokens = options.maxOutputTokens;
  if (options.temperature !== undefined) body.temperature = options.temperature;
  if (options.topP !== undefined) body.top_p = options.topP;
  if (options.stopSequences !== undefined) body.stop = options.stopSequences;
  if (options.seed !== undefined) body.seed = options.seed;
  if (options.presencePenalty !== undefined) body.presence_penalty = options.presencePenalty;
  if (options.frequencyPenalty !== undefined) body.frequency_penalty = options.frequencyPenalty;
  if (stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  return body;
}

const FINISH: Record<string, LanguageModelV3FinishReason['unified']> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content-filter',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
};
const finishReason = (raw: string | null | undefined): LanguageModelV3FinishReason => ({
  unified: (raw && FINISH[raw]) || 'other',
  raw: raw ?? undefined,
});

interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
}

function toUsage(usage: OpenAIUsage | undefined | null): LanguageModelV3Usage {
  const cached = usage?.prompt_tokens_details?.cached_tokens;
  const reasoning = usage?.completion_tokens_details?.reasoning_tokens;
  return {
    inputTokens: {
      total: usage?.prompt_tokens,
      noCache: usage?.prompt_tokens !== undefined && cached !== undefined ? usage.prompt_tokens - cached : usage?.prompt_tokens,
      cacheRead: cached,
      cacheWrite: undefined,
    },
    outputTokens: { total: usage?.completion_tokens, text: usage?.completion_tokens, reasoning },
  };
}

/**
 * The text of a chunk that carries nothing but one plain content delta (the shape of almost every
 * streamed chunk: `…"choices":[{"index":0,"delta":{"content":"…"},"logprobs":null,"finish_reason":null}]}`),
 * read without parsing the whole chunk. Undefined for any other chunk, which is then fully parsed.
 */
export function readPlainContentDelta(data: string): string | undefined {
  const span = plainContentSpan(data);
  return span && (JSON.parse(data.slice(span[0], span[1])) as string);
}

/** The length of a plain content delta's JSON string (escapes counted as written), without parsing it; undefined as above. */
export function plainContentDeltaLength(data: string): number | undefined {
  const span = plainContentSpan(data);
  return span && span[1] - span[0] - 2;
}

/** The first choice opening with a content delta, matched where the chunk's first inner object starts. */
const PLAIN_HEAD = /"choices":\[\{"index":0,"delta":\{"content":"/y;
/** Where `PLAIN_HEAD` starts, counted back from the first choice's `{`. */
const HEAD_BEFORE_BRACE = '"choices":['.length;
/** What may follow a plain delta's string: the end of the choice and of the choices; then the chunk's end, or more fields. */
const PLAIN_TAIL = /\}(?:,"logprobs":null)?,"finish_reason":null\}\]/y;

/**
 * Where the JSON string of a plain content delta lies in the chunk, quotes included. Every check is
 * anchored (a sticky pattern at a known place, or a one-character search): in V8, searching a
 * short chunk for a string it does not hold, or `startsWith` at an offset, costs several times
 * more, and this runs for every event of every stream.
 */
export function plainContentSpan(data: string): [number, number] | undefined {
  // The first object inside the chunk is the first choice (no error or usage object before it),
  // and the delta, holding only content, is the first thing in it.
  const head = data.indexOf('{', 1) - HEAD_BEFORE_BRACE;
  if (head < 0) return undefined;
  PLAIN_HEAD.lastIndex = head;
  if (!PLAIN_HEAD.test(data)) return undefined;
  const start = PLAIN_HEAD.lastIndex - 1;
  let end = start + 1;
  for (;;) {
    end = data.indexOf('"', end);
    if (end < 0) return undefined;
    let backslashes = 0;
    for (let i = end - 1; data.charCodeAt(i) === 92; i--) backslashes++;
    if (backslashes % 2 === 0) break;
    end++;
  }
  // Nothing else in the delta or the choice, and no other choice.
  // (`test`, not `exec`: no match array made for every event.)
  PLAIN_TAIL.lastIndex = end + 1;
  if (!PLAIN_TAIL.test(data)) return undefined;
  const after = PLAIN_TAIL.lastIndex;
  if (after !== data.length - 1 || data.charCodeAt(after) !== 125) {
    // More fields after the choices: only ones holding no object (`"usage":null`, `"obfuscation":"…"`).
    const rest = data.slice(after);
    if (
      !rest.endsWith('}') ||
      rest.includes('{') ||
      rest.includes('"error"') ||
      (rest.includes('"usage"') && !rest.includes('"usage":null'))
    )
      return undefined;
  }
  return [start, end + 1];
}

const PLAIN_HEAD_BYTES = Buffer.from('"choices":[{"index":0,"delta":{"content":"');
const PLAIN_TAILS = [Buffer.from('},"logprobs":null,"finish_reason":null}]}'), Buffer.from('},"finish_reason":null}]}')];

/**
 * {@link plainContentDeltaLength} read from the bytes of an event's data (`bytes[from, to)`, UTF-8),
 * without decoding them into a string: the same answer for the same chunk (the length counts UTF-16
 * code units, as a string's would), or undefined where the string reader would have to look further
 * (a chunk with fields after its choices is left to it).
 */
export function plainContentDeltaLengthOf(bytes: Buffer, from: number, to: number): number | undefined {
  const brace = bytes.indexOf(123, from + 1);
  const head = brace - HEAD_BEFORE_BRACE;
  if (brace < 0 || brace >= to || head < from) return undefined;
  const headEnd = head + PLAIN_HEAD_BYTES.length;
  if (headEnd > to || !bytesAt(bytes, head, PLAIN_HEAD_BYTES)) return undefined;
  // The string's closing quote (one not escaped), counting code units on the way.
  let units = 0;
  let at = headEnd;
  for (; at < to; at++) {
    const byte = bytes[at] as number;
    if (byte === 34) break;
    if (byte === 92) {
      // An escape: the backslash and the character after it, both written out.
      units += 2;
      at++;
      continue;
    }
    // A UTF-8 lead byte starts a character (two code units from four bytes up); continuation bytes add none.
    if ((byte & 0xc0) !== 0x80) units += byte >= 0xf0 ? 2 : 1;
  }
  if (at >= to) return undefined;
  for (const tail of PLAIN_TAILS) if (at + 1 + tail.length === to && bytesAt(bytes, at + 1, tail)) return units;
  return undefined;
}

/** Whether `bytes` holds `expected` at `at`, compared byte by byte (for a few dozen bytes, cheaper than `Buffer.compare` with offsets). */
function bytesAt(bytes: Buffer, at: number, expected: Buffer): boolean {
  for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
  return true;
}

/** The whole body as text; a body cut off by the caller's abort rejects with its reason, one cut by a limit with that limit's error. */
function readAll(res: IncomingMessage, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
    });
    res.on('end', () => resolve(text));
    res.on('error', reject);
    res.on('aborted', () =>
      reject(signal?.aborted ? abortReason(signal) : (res.errored ?? new Error('The upstream closed the connection early'))),
    );
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * A language model (the AI SDK's LanguageModelV3 spec) for upstreams that speak OpenAI's chat
 * completions API, built for the gateway's hot path: keep-alive sockets from `node:http`, a
 * line-level SSE reader and plain `JSON.parse`, instead of a chain of web streams and schema
 * validation for every chunk. docs/adr/0001-lean-openai-wire-client.md says why and what it leaves out.
 */
export function createOpenAIChatModel(endpoint: OpenAIChatEndpoint, modelId: string, agents = defaultAgents): LanguageModelV3 {
  const url = new URL(`${endpoint.baseURL.replace(/\/+$/, '')}/chat/completions`);
  const secure = url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  const agent = secure ? agents.https : agents.http;
  const baseHeaders: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...endpoint.headers,
  };
  if (endpoint.apiKey) baseHeaders.authorization = `Bearer ${endpoint.apiKey}`;
  const { timeouts } = endpoint;

  function post(body: Record<string, unknown>, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const req = send(
        url,
        { method: 'POST', agent, headers: { ...baseHeaders, 'content-length': Buffer.byteLength(payload) } },
        async (res) => {
          disarm();
          if (res.statusCode === 200) return resolve(res);
          const text = await readAll(res).catch(() => '');
          reject(
            new APICallError({
              message: `${endpoint.provider} answered HTTP ${res.statusCode}`,
              url: url.href,
              requestBodyValues: undefined,
              statusCode: res.statusCode,
              responseHeaders: Object.fromEntries(
                Object.entries(res.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]),
              ),
              responseBody: text.slice(0, 2000),
              isRetryable: res.statusCode === 408 || res.statusCode === 409 || res.statusCode === 429 || (res.statusCode ?? 0) >= 500,
            }),
          );
        },
      );
      const disarm = timeouts ? limitRequest(req, timeouts, (error) => req.destroy(error)) : () => {};
      const onAbort = () => req.destroy(abortReason(signal as AbortSignal) as Error);
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', onAbort));
      req.on('error', reject);
      req.end(payload);
    });
  }

  return {
    specificationVersion: 'v3',
    provider: endpoint.provider,
    modelId,
    supportedUrls: {},

    async doGenerate(options): Promise<LanguageModelV3GenerateResult> {
      const res = await post(chatCompletionsBody(modelId, options, false), options.abortSignal);
      const reading = readAll(res, options.abortSignal);
      if (timeouts) limitIdle(res, timeouts.idleMs);
      const body = JSON.parse(await reading) as {
        choices?: Array<{ message?: { content?: string | null }; finish_reason?: string | null }>;
        usage?: OpenAIUsage;
        id?: string;
        model?: string;
      };
      const choice = body.choices?.[0];
      return {
        content: choice?.message?.content ? [{ type: 'text', text: choice.message.content }] : [],
        finishReason: finishReason(choice?.finish_reason),
        usage: toUsage(body.usage),
        warnings: [],
        response: { ...(body.id ? { id: body.id } : {}), ...(body.model ? { modelId: body.model } : {}) },
      };
    },

    async doStream(options) {
      const signal = options.abortSignal;
      const res = await post(chatCompletionsBody(modelId, options, true), signal);
      res.setEncoding('utf8');
      let buffer = '';
      let started = false;
      let finish: LanguageModelV3FinishReason | undefined;
      let usage: OpenAIUsage | undefined;
      let done = false;

      const stream = new ReadableStream<LanguageModelV3StreamPart>(
        {
          start(controller) {
            controller.enqueue({ type: 'stream-start', warnings: [] });
            // Failures travel as an `error` part after what arrived (erroring the stream would drop queued deltas).
            const fail = (error: unknown) => {
              if (done) return;
              done = true;
              controller.enqueue({ type: 'error', error });
              controller.close();
            };
            const emitDelta = (delta: string) => {
              if (!started) {
                started = true;
                controller.enqueue({ type: 'text-start', id: 'text-0' });
              }
              controller.enqueue({ type: 'text-delta', id: 'text-0', delta });
            };
            const handleEvent = (data: string) => {
              if (data === '[DONE]') return;
              const fast = readPlainContentDelta(data);
              if (fast !== undefined) {
                if (fast) emitDelta(fast);
                return;
              }
              let chunk: {
                choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
                usage?: OpenAIUsage | null;
                error?: { message?: string };
              };
              try {
                chunk = JSON.parse(data);
              } catch (cause) {
                throw new APICallError({
                  message: 'The upstream sent an event that is not JSON',
                  url: url.href,
                  requestBodyValues: undefined,
                  cause,
                  responseBody: data.slice(0, 500),
                });
              }
              if (chunk.error)
                throw new APICallError({
                  message: chunk.error.message ?? 'The upstream reported an error',
                  url: url.href,
                  requestBodyValues: undefined,
                  statusCode: 502,
                  responseBody: data.slice(0, 500),
                });
              const choice = chunk.choices?.[0];
              const delta = choice?.delta?.content;
              if (delta) emitDelta(delta);
              if (choice?.finish_reason) finish = finishReason(choice.finish_reason);
              if (chunk.usage) usage = chunk.usage;
            };
            res.on('data', (text: string) => {
              if (done) return;
              buffer += text;
              // Servers may end lines with CRLF; normalise (a lone trailing CR waits for its LF).
              if (buffer.includes('\r')) {
                const tail = buffer.endsWith('\r') ? '\r' : '';
                buffer = (tail ? buffer.slice(0, -1) : buffer).replace(/\r\n?/g, '\n') + tail;
              }
              let end = buffer.indexOf('\n\n');
              try {
                while (end >= 0) {
                  const event = buffer.slice(0, end);
                  buffer = buffer.slice(end + 2);
                  if (event.startsWith('data: ') && !event.includes('\n')) {
                    // The common case: one `data:` line.
                    handleEvent(event.slice(6));
                  } else {
                    // An event is one or more `data:` lines (other fields are ignored), per the SSE spec.
                    let data = '';
                    for (const line of event.split('\n')) {
                      if (line.startsWith('data:')) data += (data ? '\n' : '') + (line[5] === ' ' ? line.slice(6) : line.slice(5));
                    }
                    if (data) handleEvent(data);
                  }
                  end = buffer.indexOf('\n\n');
                }
              } catch (error) {
                fail(error);
                res.destroy();
                return;
              }
              if ((controller.desiredSize ?? 1) <= 0) res.pause();
            });
            res.on('end', () => {
              if (done) return;
              if (!finish)
                return fail(
                  new APICallError({
                    message: 'The upstream closed the stream before it finished',
                    url: url.href,
                    requestBodyValues: undefined,
                  }),
                );
              done = true;
              if (started) controller.enqueue({ type: 'text-end', id: 'text-0' });
              controller.enqueue({ type: 'finish', finishReason: finish, usage: toUsage(usage) });
              controller.close();
            });
            // A response destroyed with a reason (the idle limit) is aborted first, its reason in `errored`;
            // one the caller stopped is aborted with Node's own reset, so the caller's reason goes first.
            res.on('aborted', () =>
              fail(
                (signal?.aborted ? abortReason(signal) : undefined) ??
                  res.errored ??
                  new APICallError({
                    message: 'The upstream closed the connection mid-stream',
                    url: url.href,
                    requestBodyValues: undefined,
                  }),
              ),
            );
            res.on('error', (error) => fail(signal?.aborted ? abortReason(signal) : error));
            // Armed once the events are read (its own `data` listener would start the flow before theirs).
            if (timeouts) limitIdle(res, timeouts.idleMs);
            res.on('close', () => {
              if (!done)
                fail(
                  signal?.aborted
                    ? abortReason(signal)
                    : new APICallError({
                        message: 'The upstream closed the connection mid-stream',
                        url: url.href,
                        requestBodyValues: undefined,
                      }),
                );
            });
          },
          pull() {
            if (res.isPaused()) res.resume();
          },
          cancel() {
            done = true;
            res.destroy();
          },
        },
        { highWaterMark: 256 },
      );
      return { stream };
    },
  };
}

/** Keep-alive sockets shared by all models of the process. */
export const defaultAgents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 1024, scheduling: 'lifo', noDelay: true } as ConstructorParameters<
    typeof HttpAgent
  >[0]),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 1024, scheduling: 'lifo', noDelay: true } as ConstructorParameters<
    typeof HttpsAgent
  >[0]),
};
