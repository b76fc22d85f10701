import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimulatedMessagesApi } from './simulated-messages-api';
import { createSimulatedResponsesApi } from './simulated-responses-api';

/** How the simulated upstream answers the next chat completions. */
export interface UpstreamBehaviour {
  /** Tokens in each answer. */
  tokens: number;
  /** Pause between chunks, in ms; 0 streams as fast as the socket takes them. */
  tokenDelayMs: number;
  /** Chunks written per socket write when `tokenDelayMs` is 0. */
  chunksPerWrite: number;
  /**
   * `ok`, an HTTP error before anything is streamed, a stream that stops sending, or one cut after
   * `dropAfter` tokens. Without streaming, `stall` never answers and `drop` cuts the connection at once.
   */
  mode: 'ok' | 'fail-400' | 'fail-429' | 'fail-500' | 'fail-401' | 'stall' | 'drop';
  /** For `drop`: tokens sent before the connection is destroyed. */
  dropAfter: number;
  /** For `stall`: tokens sent before it stops sending (the connection stays open). */
  stallAfter: number;
  /** Answer with this text (split into words) instead of `tok0 tok1 …`. */
  content?: string | undefined;
  /**
   * A full answer for each request, as OpenAI would give it (tool calls streamed as deltas, `n`
   * choices, logprobs when asked, usage details); overrides `content` and `tokens`. An Anthropic
   * Messages request is given as the chat completions request it stands for (`messagesAsChatRequest`).
   */
  answer?: ((body: Record<string, unknown>) => SimulatedAnswer) | undefined;
}

/** What the simulated model answers: text, or tool calls, or both. */
export interface SimulatedAnswer {
  content?: string | undefined;
  toolCalls?: Array<{ name: string; arguments: string }> | undefined;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface SimulatedUpstream {
  /** Base URL including `/v1`. */
  url: string;
  port: number;
  /** Model ids served by `/v1/models`. */
  models: string[];
  behaviour: UpstreamBehaviour;
  /** Requests received, in order (bodies parsed). Off when `record` is false. */
  requests: RecordedRequest[];
  /** Streams currently open, and how many were closed by the client before they finished. */
  stats: { open: number; clientAborts: number; completions: number; embeddingCalls: number };
  set(behaviour: Partial<UpstreamBehaviour>): void;
  close(): Promise<void>;
}

export interface SimulatedUpstreamOptions {
  port?: number;
  models?: string[];
  behaviour?: Partial<UpstreamBehaviour>;
  /** Keep a copy of each request (tests); off for benchmarks. */
  record?: boolean;
  /** Bearer token required, if any. */
  apiKey?: string;
  /** Size of the vectors `/v1/embeddings` answers with. */
  embeddingDimensions?: number;
}

/** A unit vector in which texts sharing words point the same way: each word adds ±1 to a hashed bucket. */
export function hashEmbedding(text: string, dimensions: number): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    let hash = 2166136261;
    for (let i = 0; i < word.length; i++) hash = Math.imul(hash ^ word.charCodeAt(i), 16777619);
    const bucket = (hash >>> 0) % dimensions;
    vector[bucket] = (vector[bucket] ?? 0) + ((hash >>> 31) & 1 ? 1 : -1);
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((v) => v / norm);
}

const DEFAULT_BEHAVIOUR: UpstreamBehaviour = {
  tokens: 32,
  tokenDelayMs: 0,
  chunksPerWrite: 8,
  mode: 'ok',
  dropAfter: 5,
  stallAfter: 3,
};

/** The word streamed as token `i`: "tok0 ", "tok1 ", … */
export const tokenText = (i: number) => `tok${i} `;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * An OpenAI-compatible server on loopback (also answering Anthropic's Messages API at `/v1/messages`
 * and OpenAI's Responses API at `/v1/responses`)
 * that speaks the exact chat completions wire format
 * (JSON and `chat.completion.chunk` SSE ending in `data: [DONE]`) and can fail on demand: HTTP
 * 429/500/401 before streaming, a stall, or a connection dropped mid-stream.
 */
export async function startSimulatedUpstream(options: SimulatedUpstreamOptions = {}): Promise<SimulatedUpstream> {
  const models = options.models ?? ['sim-1'];
  const behaviour: UpstreamBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
  const requests: RecordedRequest[] = [];
  const stats = { open: 0, clientAborts: 0, completions: 0, embeddingCalls: 0 };
  const embeddingDimensions = options.embeddingDimensions ?? 64;
  let counter = 0;
  // Ids differ between upstreams, as real providers' do (a response id names one answer anywhere).
  const idPrefix = `${process.pid.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}-`;
  const responsesApi = createSimulatedResponsesApi({ models, behaviour, stats });
  const messagesApi = createSimulatedMessagesApi({ models, behaviour, stats });

  const server: Server = createServer(async (req, res) => {
    const raw = req.method === 'POST' ? await readBody(req) : '';
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      return sendJson(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error', param: null, code: null } });
    }
    if (options.record !== false) requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendJson(res, 401, {
        error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });
    }
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'POST' && path.endsWith('/messages')) return messagesApi(res, body as Record<string, unknown>);
    if (req.method === 'GET' && path.endsWith('/models')) {
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'simulated' })),
      });
    }
    if (req.method === 'POST' && path.endsWith('/chat/completions')) return chatCompletion(req, res, body as ChatBody);
    if (req.method === 'POST' && path.endsWith('/responses')) return responsesApi(res, body as Record<string, unknown>);
    if (req.method === 'POST' && path.endsWith('/embeddings')) return embeddings(res, body as { model?: string; input?: unknown });
    sendJson(res, 404, { error: { message: `Unknown path ${path}`, type: 'invalid_request_error', param: null, code: 'unknown_url' } });
  });
  server.keepAliveTimeout = 60_000;

  interface ChatBody {
    model?: string;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
    max_tokens?: number;
    max_completion_tokens?: number;
    messages?: unknown[];
  }

  function chatCompletion(_req: IncomingMessage, res: ServerResponse, body: ChatBody) {
    const b = { ...behaviour };
    const model = body?.model ?? 'unknown';
    if (!models.includes(model)) {
      return sendJson(res, 404, {
        error: { message: `The model \`${model}\` does not exist`, type: 'invalid_request_error', param: null, code: 'model_not_found' },
      });
    }
    if (typeof (body as { temperature?: unknown }).temperature === 'number') {
      const temperature = (body as { temperature: number }).temperature;
      if (temperature < 0 || temperature > 2)
        return sendJson(res, 400, {
          error: {
            message: `Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got ${temperature} instead.`,
            type: 'invalid_request_error',
            param: 'temperature',
            code: 'decimal_above_max_value',
          },
        });
    }
    if (b.mode === 'fail-400')
      return sendJson(res, 400, {
        error: {
          message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
          type: 'invalid_request_error',
          param: 'messages',
          code: 'context_length_exceeded',
        },
      });
    if (b.answer) return richCompletion(res, body as Record<string, unknown>, b.answer(body as Record<string, unknown>));
    if (b.mode === 'fail-429') {
      return sendJson(
        res,
        429,
        { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
        { 'retry-after': '1' },
      );
    }
    if (b.mode === 'fail-500')
      return sendJson(res, 500, { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } });
    if (b.mode === 'fail-401')
      return sendJson(res, 401, {
        error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });

    const words = b.content !== undefined ? (b.content.match(/\S+\s*|\s+/g) ?? []) : undefined;
    const available = words ? words.length : b.tokens;
    const wordAt = (i: number) => (words ? (words[i] as string) : tokenText(i));
    const limit = body.max_completion_tokens ?? body.max_tokens;
    const tokens = limit !== undefined ? Math.min(limit, available) : available;
    const finishReason = limit !== undefined && limit < available ? 'length' : 'stop';
    const promptTokens = JSON.stringify(body.messages ?? []).length >> 2;
    const usage = { prompt_tokens: promptTokens, completion_tokens: tokens, total_tokens: promptTokens + tokens };
    const id = `chatcmpl-sim${idPrefix}${++counter}`;
    const created = Math.floor(Date.now() / 1000);

    if (!body.stream) {
      // Without streaming, `drop` cuts the connection before any answer and `stall` never answers.
      if (b.mode === 'drop') return void res.socket?.destroy();
      if (b.mode === 'stall') {
        stats.open++;
        res.on('close', () => {
          stats.open--;
          stats.clientAborts++;
        });
        return;
      }
      stats.completions++;
      let content = '';
      for (let i = 0; i < tokens; i++) content += wordAt(i);
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        system_fingerprint: 'fp_sim',
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: finishReason }],
        usage,
      });
    }

    const head = `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_sim","choices":[{"index":0,"delta":`;
    const frames: string[] = [`${head}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`];
    for (let i = 0; i < tokens; i++)
      frames.push(`${head}{"content":${JSON.stringify(wordAt(i))}},"logprobs":null,"finish_reason":null}]}\n\n`);
    frames.push(`${head}{},"logprobs":null,"finish_reason":"${finishReason}"}]}\n\n`);
    if (body.stream_options?.include_usage) {
      frames.push(
        `data: {"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":"fp_sim","choices":[],"usage":${JSON.stringify(usage)}}\n\n`,
      );
    }
    frames.push('data: [DONE]\n\n');

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    stats.open++;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    res.on('close', () => {
      stats.open--;
      clearTimeout(timer);
      if (!finished) stats.clientAborts++;
    });
    // frames[0] is the role chunk; token i is frames[i + 1].
    const cutAt = b.mode === 'drop' ? b.dropAfter + 1 : b.mode === 'stall' ? b.stallAfter + 1 : Number.POSITIVE_INFINITY;
    let next = 0;
    const pump = () => {
      if (res.destroyed) return;
      if (next >= cutAt) {
        if (b.mode === 'drop') res.socket?.destroy();
        return; // stall: keep the connection open and silent
      }
      if (b.tokenDelayMs > 0) {
        res.write(frames[next++] as string);
      } else {
        const end = Math.min(frames.length, cutAt, next + b.chunksPerWrite);
        res.write(frames.slice(next, end).join(''));
        next = end;
      }
      if (next >= frames.length) {
        finished = true;
        stats.completions++;
        res.end();
        return;
      }
      if (b.tokenDelayMs > 0) timer = setTimeout(pump, b.tokenDelayMs);
      else setImmediate(pump);
    };
    pump();
  }

  /** An answer with every part of OpenAI's wire format: several choices, tool calls, logprobs, usage details. */
  function richCompletion(res: ServerResponse, body: Record<string, unknown>, answer: SimulatedAnswer) {
    const model = String(body.model);
    const n = typeof body.n === 'number' ? body.n : 1;
    const id = `chatcmpl-sim${idPrefix}${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    const content = answer.content ?? null;
    const calls = (answer.toolCalls ?? []).map((call, i) => ({ id: `call_sim${counter}_${i}`, type: 'function', function: call }));
    const finish = calls.length > 0 ? 'tool_calls' : 'stop';
    const words = content?.match(/\S+\s*|\s+/g) ?? [];
    const logprobs = body.logprobs
      ? { content: words.map((token) => ({ token, logprob: -0.5, bytes: [...Buffer.from(token)], top_logprobs: [] })), refusal: null }
      : null;
    const completionTokens = words.length + calls.reduce((a, c) => a + Math.ceil(c.function.arguments.length / 4), 0);
    const promptTokens = JSON.stringify(body.messages ?? []).length >> 2;
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens * n,
      total_tokens: promptTokens + completionTokens * n,
      prompt_tokens_details: { cached_tokens: 3, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 2, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    stats.completions++;
    if (!body.stream) {
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        system_fingerprint: 'fp_sim',
        service_tier: 'default',
        choices: Array.from({ length: n }, (_, index) => ({
          index,
          message: { role: 'assistant', content, refusal: null, ...(calls.length > 0 ? { tool_calls: calls } : {}), annotations: [] },
          logprobs,
          finish_reason: finish,
        })),
        usage,
      });
    }
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_sim', choices, ...extra })}\n\n`;
    let out = '';
    for (let index = 0; index < n; index++) {
      out += frame([
        { index, delta: { role: 'assistant', content: content === null ? null : '', refusal: null }, logprobs: null, finish_reason: null },
      ]);
      words.forEach((word, w) => {
        out += frame([
          {
            index,
            delta: { content: word },
            logprobs: logprobs ? { content: [logprobs.content[w]], refusal: null } : null,
            finish_reason: null,
          },
        ]);
      });
      calls.forEach((call, i) => {
        out += frame([
          {
            index,
            delta: { tool_calls: [{ index: i, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } }] },
            logprobs: null,
            finish_reason: null,
          },
        ]);
        for (let at = 0; at < call.function.arguments.length; at += 8)
          out += frame([
            {
              index,
              delta: { tool_calls: [{ index: i, function: { arguments: call.function.arguments.slice(at, at + 8) } }] },
              logprobs: null,
              finish_reason: null,
            },
          ]);
      });
      out += frame([{ index, delta: {}, logprobs: null, finish_reason: finish }]);
    }
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) out += frame([], { usage });
    out += 'data: [DONE]\n\n';
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.end(out);
  }

  /** OpenAI's `POST /v1/embeddings`, with deterministic vectors: words hashed into `embeddingDimensions` signed buckets. */
  function embeddings(res: ServerResponse, body: { model?: string; input?: unknown; dimensions?: number; encoding_format?: string }) {
    if (behaviour.mode === 'fail-429')
      return sendJson(res, 429, { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    if (behaviour.mode === 'fail-500')
      return sendJson(res, 500, { error: { message: 'The server had an error', type: 'server_error', param: null, code: null } });
    // Text, texts, a token array or token arrays (tokens are embedded as their numbers written out).
    const raw = body?.input;
    const inputs: string[] =
      typeof raw === 'string'
        ? [raw]
        : Array.isArray(raw) && raw.every((v) => typeof v === 'number')
          ? [raw.join(' ')]
          : Array.isArray(raw)
            ? raw.map((v) => (Array.isArray(v) ? v.join(' ') : String(v)))
            : [];
    const size = typeof body?.dimensions === 'number' ? Math.min(body.dimensions, embeddingDimensions) : embeddingDimensions;
    stats.embeddingCalls++;
    const encode = (vector: number[]) =>
      body?.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
    sendJson(res, 200, {
      object: 'list',
      model: body?.model ?? 'unknown',
      data: inputs.map((text, index) => ({
        object: 'embedding',
        index,
        embedding: encode(hashEmbedding(text, embeddingDimensions).slice(0, size)),
      })),
      usage: { prompt_tokens: inputs.join(' ').length >> 2, total_tokens: inputs.join(' ').length >> 2 },
    });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    models,
    behaviour,
    requests,
    stats,
    set(patch) {
      Object.assign(behaviour, patch);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
