/**
 * A simulated vLLM replica on loopback: OpenAI chat completions (SSE or JSON) and a Prometheus
 * `/metrics` in vLLM's names, with the two things that make routing matter modelled in
 * compressed time:
 *
 * - queueing: at most `slots` sequences run at once (the batch); the rest wait in a FIFO;
 * - prefix caching: prompts are cut into blocks of `blockTokens` words (a word stands for a
 *   token), hashed as a chain like vLLM's block hashes, and kept in a KV cache of `cacheBlocks`
 *   blocks with LRU eviction. Prefill is compute-bound and so serialised per replica (one
 *   prefill at a time, `prefillMsPerToken` per uncached token), decoding runs for every running
 *   sequence at once (`decodeMsPerToken` per output token).
 *
 * The prompt is the messages' `role: content` lines, the same text the router hashes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SimulatedVllmOptions {
  slots: number;
  blockTokens: number;
  cacheBlocks: number;
  prefillMsPerToken: number;
  decodeMsPerToken: number;
  /** Output tokens when the request names no `max_tokens`. */
  defaultOutputTokens: number;
  /** Tokens per SSE chunk after the first (a real server sends one per token; fewer events keep the simulation light). */
  chunkTokens?: number;
}

export interface ReplicaStats {
  requests: number;
  promptTokens: number;
  cachedTokens: number;
}

export interface SimulatedVllm {
  baseURL: string;
  stats(): ReplicaStats;
  close(): Promise<void>;
}

interface ChatBody {
  messages?: Array<{ role?: string; content?: unknown }>;
  max_tokens?: number;
  stream?: boolean;
}

/** The prompt text a chat request stands for: one `role: content` line per message. */
export function promptTextOf(messages: ChatBody['messages']): string {
  return (messages ?? []).map((m) => `${m.role ?? 'user'}: ${typeof m.content === 'string' ? m.content : ''}`).join('\n');
}

/** 53-bit string hash (cyrb53), seeded with the previous block's hash to chain the blocks. */
function hashString(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ (seed >>> 0);
  let h2 = 0x41c6ce57 ^ Math.floor(seed / 0x100000000);
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The prompt's token count and the chained hashes of its full blocks. */
export function promptBlocks(text: string, blockTokens: number): { tokens: number; hashes: number[] } {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const hashes: number[] = [];
  let previous = 0;
  for (let end = blockTokens; end <= words.length; end += blockTokens) {
    previous = hashString(words.slice(end - blockTokens, end).join(' '), previous);
    hashes.push(previous);
  }
  return { tokens: words.length, hashes };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function startSimulatedVllm(opts: SimulatedVllmOptions): Promise<SimulatedVllm> {
  const chunkTokens = opts.chunkTokens ?? 8;
  const cache = new Map<number, true>();
  const waiting: Array<() => void> = [];
  let running = 0;
  // Prefill is serialised: each one starts when the previous one ends.
  let prefillFreeAt = 0;
  const stats: ReplicaStats = { requests: 0, promptTokens: 0, cachedTokens: 0 };

  function acquireSlot(): Promise<void> {
    if (running < opts.slots) {
      running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  function releaseSlot(): void {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }

  /** Looks the prompt up in the cache, inserts its blocks, and returns the tokens to prefill. */
  function admitToCache(text: string): number {
    const { tokens, hashes } = promptBlocks(text, opts.blockTokens);
    let hit = 0;
    while (hit < hashes.length && cache.has(hashes[hit] as number)) hit++;
    for (const hash of hashes) {
      cache.delete(hash);
      cache.set(hash, true);
    }
    while (cache.size > opts.cacheBlocks) cache.delete(cache.keys().next().value as number);
    const cached = hit * opts.blockTokens;
    stats.requests++;
    stats.promptTokens += tokens;
    stats.cachedTokens += cached;
    return tokens - cached;
  }

  function metricsText(): string {
    const model = 'model_name="sim-llama"';
    return [
      '# TYPE vllm:num_requests_running gauge',
      `vllm:num_requests_running{${model}} ${running}`,
      '# TYPE vllm:num_requests_waiting gauge',
      `vllm:num_requests_waiting{${model}} ${waiting.length}`,
      '# TYPE vllm:kv_cache_usage_perc gauge',
      `vllm:kv_cache_usage_perc{${model}} ${cache.size / opts.cacheBlocks}`,
      '# TYPE vllm:prefix_cache_queries_total counter',
      `vllm:prefix_cache_queries_total{${model}} ${stats.promptTokens}`,
      '# TYPE vllm:prefix_cache_hits_total counter',
      `vllm:prefix_cache_hits_total{${model}} ${stats.cachedTokens}`,
      '',
    ].join('\n');
  }

  async function complete(body: ChatBody, res: ServerResponse): Promise<void> {
    const text = promptTextOf(body.messages);
    const outputTokens = body.max_tokens ?? opts.defaultOutputTokens;
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    await acquireSlot();
    try {
      const uncached = admitToCache(text);
      const start = Math.max(performance.now(), prefillFreeAt);
      prefillFreeAt = start + uncached * opts.prefillMsPerToken;
      await sleep(prefillFreeAt - performance.now());
      // The answer's words depend on the prompt, so each conversation's history is its own.
      const seed = hashString(text.slice(-200), 7);
      const words = Array.from({ length: outputTokens }, (_, i) => `reply${(seed + i * 7919) % 9973}`);
      const id = `chatcmpl-${seed.toString(36)}`;
      if (!body.stream) {
        await sleep(outputTokens * opts.decodeMsPerToken);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id,
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: words.join(' ') }, finish_reason: 'length' }],
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (content: string) =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
      res.write(chunk(words[0] ?? ''));
      for (let at = 1; at < words.length && !closed; at += chunkTokens) {
        const part = words.slice(at, at + chunkTokens);
        await sleep(part.length * opts.decodeMsPerToken);
        res.write(chunk(` ${part.join(' ')}`));
      }
      res.end(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })}\n\ndata: [DONE]\n\n`,
      );
    } finally {
      releaseSlot();
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metricsText());
      return;
    }
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'sim-llama', object: 'model', owned_by: 'sim' }] }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    let raw = '';
    for await (const part of req) raw += part;
    let body: ChatBody;
    try {
      body = JSON.parse(raw) as ChatBody;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'body is not JSON', type: 'invalid_request_error' } }));
      return;
    }
    await complete(body, res);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    stats: () => ({ ...stats }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
