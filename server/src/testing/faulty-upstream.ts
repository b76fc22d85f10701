import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How a faulty upstream answers one chat completion:
 * - `ok`: the answer (JSON, or SSE ending in `[DONE]`);
 * - `status-400`/`-429`/`-500`/`-503`: that HTTP error in OpenAI's shape;
 * - `stall-headers`: never answers (the connection stays open);
 * - `reset`: destroys the socket before answering;
 * - `end-before-token`: a 200 stream with only the role chunk, then its end (no `[DONE]`);
 * - `reset-before-token`: the same, then the socket destroyed;
 * - `fail-mid-stream`: `midStreamTokens` content deltas, then the socket destroyed;
 * - `hold`: the first content delta, then nothing until `release()`, then the rest.
 */
export type UpstreamFault =
  | 'ok'
  | 'status-400'
  | 'status-429'
  | 'status-500'
  | 'status-503'
  | 'stall-headers'
  | 'reset'
  | 'end-before-token'
  | 'reset-before-token'
  | 'fail-mid-stream'
  | 'hold';

export interface FaultyUpstreamOptions {
  /** In response ids (`chatcmpl-<name>-<n>`). */
  name: string;
  /** The answer's text, streamed a word at a time. */
  content?: string;
  /** A fault for every call, or one per call (`n` counts from 1). */
  fault?: UpstreamFault | ((n: number) => UpstreamFault);
  /** Wait before the response headers, in ms. */
  delayMs?: number;
  midStreamTokens?: number;
  /** Streamed as `reasoning_content` deltas before the content (`ok` and `fail-mid-stream`). */
  reasoning?: string;
}

export interface FaultyUpstream {
  /** Base URL including `/v1`. */
  url: string;
  /** Chat completion calls received, in order. */
  calls: Array<{ model: string; stream: boolean }>;
  /** Headers of each `GET /v1/models` (the health checks). */
  healthChecks: IncomingHttpHeaders[];
  /** Whether `GET /v1/models` answers 200 (else 503). */
  healthy: boolean;
  fault: UpstreamFault | ((n: number) => UpstreamFault);
  delayMs: number;
  /** Lets held streams finish. */
  release(): void;
  close(): Promise<void>;
}

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const ERRORS: Record<string, { status: number; code: string | null; message: string }> = {
  'status-400': { status: 400, code: 'context_length_exceeded', message: "This model's maximum context length is 8192 tokens." },
  'status-429': { status: 429, code: 'rate_limit_exceeded', message: 'Rate limit reached for requests' },
  'status-500': { status: 500, code: null, message: 'The server had an error' },
  'status-503': { status: 503, code: null, message: 'The engine is currently overloaded' },
};

/** An OpenAI-compatible chat completions server on loopback that fails on demand, per call. */
export async function startFaultyUpstream(options: FaultyUpstreamOptions): Promise<FaultyUpstream> {
  const words: string[] = [...((options.content ?? 'Hello there from the upstream').match(/\S+\s*/g) ?? [])];
  const midStreamTokens = options.midStreamTokens ?? 2;
  const held: Array<() => void> = [];
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        text += chunk;
      });
      req.on('end', () => resolve(text));
    });

  const upstream: FaultyUpstream = {
    url: '',
    calls: [],
    healthChecks: [],
    healthy: true,
    fault: options.fault ?? 'ok',
    delayMs: options.delayMs ?? 0,
    release() {
      for (const go of held.splice(0)) go();
    },
    close: async () => {},
  };

  const server = createServer(async (req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/v1/models')) {
      upstream.healthChecks.push(req.headers);
      return sendJson(res, upstream.healthy ? 200 : 503, { object: 'list', data: [{ id: 'sim-1', object: 'model' }] });
    }
    const body = JSON.parse(await readBody(req)) as { model: string; stream?: boolean; stream_options?: { include_usage?: boolean } };
    const stream = body.stream === true;
    upstream.calls.push({ model: body.model, stream });
    const n = upstream.calls.length;
    const fault = typeof upstream.fault === 'function' ? upstream.fault(n) : upstream.fault;
    if (fault === 'stall-headers') return;
    if (upstream.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, upstream.delayMs));
    if (fault === 'reset') return void req.socket.destroy();
    const error = ERRORS[fault];
    if (error)
      return sendJson(res, error.status, {
        error: { message: error.message, type: 'invalid_request_error', param: null, code: error.code },
      });
    const id = `chatcmpl-${options.name}-${n}`;
    if (!stream) {
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created: 1700000000,
        model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 7, completion_tokens: words.length, total_tokens: 7 + words.length },
      });
    }
    const frame = (choices: unknown[], extra = '') =>
      `data: {"id":"${id}","object":"chat.completion.chunk","created":1700000000,"model":${JSON.stringify(body.model)},"choices":${JSON.stringify(choices)}${extra}}\n\n`;
    const delta = (content: string) => frame([{ index: 0, delta: { content }, finish_reason: null }]);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(frame([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    if (fault === 'end-before-token') return void res.end();
    if (fault === 'reset-before-token') return void setTimeout(() => req.socket.destroy(), 5);
    if (options.reasoning && (fault === 'ok' || fault === 'fail-mid-stream'))
      res.write(frame([{ index: 0, delta: { reasoning_content: options.reasoning }, finish_reason: null }]));
    if (fault === 'fail-mid-stream') {
      res.write(words.slice(0, midStreamTokens).map(delta).join(''));
      return void setTimeout(() => req.socket.destroy(), 5);
    }
    let rest = words;
    if (fault === 'hold') {
      res.write(delta(words[0] ?? ''));
      rest = words.slice(1);
      await new Promise<void>((resolve) => held.push(resolve));
    }
    let out = rest.map(delta).join('') + frame([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    if (body.stream_options?.include_usage)
      out += frame([], `,"usage":{"prompt_tokens":7,"completion_tokens":${words.length},"total_tokens":${7 + words.length}}`);
    res.end(`${out}data: [DONE]\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  upstream.close = () =>
    new Promise<void>((resolve) => {
      upstream.release();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return upstream;
}
