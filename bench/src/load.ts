import { Agent, request } from 'node:http';

export interface LoadTarget {
  name: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  stream: boolean;
  /** What marks a token in a streamed answer; OpenAI's chunk (`"content":"tok`) by default. */
  tokenMark?: string;
  /** The URL and body of the `n`-th request (from 0), for targets whose requests differ; `url` and `body` otherwise. */
  request?: (n: number) => { url: string; body: string };
}

export interface LoadResult {
  requests: number;
  errors: number;
  /** Wall time of the run, in ms. */
  elapsedMs: number;
  /** Time to first token (stream) or to the whole answer (non-stream), per request, in ms. */
  ttft: number[];
  total: number[];
  tokens: number;
  firstError?: string;
}

const TOKEN_MARK = '"content":"tok';

/** One request; resolves with its timings and token count, never rejects. */
function once(
  agent: Agent,
  target: LoadTarget,
  timeoutMs: number,
  onStream?: (open: boolean) => void,
): Promise<{ ok: boolean; ttft: number; total: number; tokens: number; error?: string }> {
  return new Promise((resolve) => {
    const started = performance.now();
    let ttft = -1;
    let tokens = 0;
    let tail = '';
    let body = '';
    let opened = false;
    const mark = target.tokenMark ?? TOKEN_MARK;
    const url = new URL(target.url);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        timeout: timeoutMs,
        headers: { ...target.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(target.body) },
      },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (!target.stream) {
            body += chunk;
            return;
          }
          const text = tail + chunk;
          let at = text.indexOf(mark);
          if (at >= 0 && ttft < 0) {
            ttft = performance.now() - started;
            opened = true;
            onStream?.(true);
          }
          while (at >= 0) {
            tokens++;
            at = text.indexOf(mark, at + mark.length);
          }
          tail = text.slice(-mark.length);
          body = text.length > 64 ? text.slice(-64) : text;
        });
        res.on('close', () => {
          if (opened) onStream?.(false);
          opened = false;
        });
        res.on('end', () => {
          const total = performance.now() - started;
          if (!target.stream && res.statusCode === 200) {
            const content = (JSON.parse(body) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content ?? '';
            tokens = content.split(' ').length - 1;
            ttft = total;
          }
          const ok = res.statusCode === 200 && (!target.stream || body.includes('[DONE]'));
          resolve({
            ok,
            ttft: ttft < 0 ? total : ttft,
            total,
            tokens,
            ...(ok ? {} : { error: `HTTP ${res.statusCode}: ${body.slice(0, 120)}` }),
          });
        });
        res.on('error', (e) => resolve({ ok: false, ttft: 0, total: 0, tokens, error: e.message }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ ok: false, ttft: 0, total: 0, tokens, error: e.message }));
    req.end(target.body);
  });
}

/**
 * Sends `count` requests with `concurrency` in flight, on keep-alive connections, stopping early
 * at `maxMs`. Bounded in count and time. `onStream` is told when a stream's first token arrives
 * (true) and when that stream closes (false), to count the streams open at once.
 */
export async function runLoad(
  target: LoadTarget,
  opts: { concurrency: number; count: number; maxMs: number; timeoutMs?: number; onStream?: (open: boolean) => void },
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const result: LoadResult = { requests: 0, errors: 0, elapsedMs: 0, ttft: [], total: [], tokens: 0 };
  let issued = 0;
  const started = performance.now();
  const worker = async () => {
    while (issued < opts.count && performance.now() - started < opts.maxMs) {
      const n = issued++;
      const r = await once(agent, target.request ? { ...target, ...target.request(n) } : target, opts.timeoutMs ?? 30_000, opts.onStream);
      result.requests++;
      if (r.ok) {
        result.ttft.push(r.ttft);
        result.total.push(r.total);
        result.tokens += r.tokens;
      } else {
        result.errors++;
        result.firstError ??= r.error;
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  result.elapsedMs = performance.now() - started;
  agent.destroy();
  return result;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

/** Merges the results of several interleaved rounds of the same target. */
export function mergeResults(results: LoadResult[]): LoadResult {
  return results.reduce(
    (acc, r) => ({
      requests: acc.requests + r.requests,
      errors: acc.errors + r.errors,
      elapsedMs: acc.elapsedMs + r.elapsedMs,
      ttft: acc.ttft.concat(r.ttft),
      total: acc.total.concat(r.total),
      tokens: acc.tokens + r.tokens,
      ...((acc.firstError ?? r.firstError) ? { firstError: acc.firstError ?? r.firstError } : {}),
    }),
    { requests: 0, errors: 0, elapsedMs: 0, ttft: [], total: [], tokens: 0 } as LoadResult,
  );
}
