import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { WireTarget } from '../providers/model-connections';
import { defaultAgents } from '../providers/openai-chat-model';
import { limitIdle, limitRequest } from '../providers/upstream-timeouts';

/** An upstream's answer that is not a success: its status, headers and (capped) body. */
export class UpstreamHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly responseHeaders: Record<string, string>,
    readonly responseBody: string,
  ) {
    super(`The upstream answered HTTP ${statusCode}`);
    this.name = 'UpstreamHttpError';
  }
}

export { UpstreamTimeoutError } from '../providers/upstream-timeouts';

/**
 * The upstream's stream ended before its answer began: no content or tool-call delta, no finish
 * reason, no `[DONE]`. Nothing was passed on, so another try may answer instead.
 */
export class UpstreamEarlyEndError extends Error {
  constructor() {
    super('The model provider closed the stream before the answer began');
    this.name = 'UpstreamEarlyEndError';
  }
}

export const flatHeaders = (headers: IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, Array.isArray(v) ? v.join(', ') : v]])));

/** The URLs made so far, per target and path (a connection's target lives as long as its configuration). */
const urls = new WeakMap<WireTarget, Map<string, URL>>();

/** The URL of a path under the target's base URL, with the target's query parameters (made once per target and path; not to be changed). */
export function targetUrl(target: WireTarget, path: string): URL {
  let made = urls.get(target);
  if (!made) {
    made = new Map();
    urls.set(target, made);
  }
  let url = made.get(path);
  if (!url) {
    url = new URL(`${target.baseURL.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
    for (const [k, v] of Object.entries(target.query ?? {})) url.searchParams.set(k, v);
    made.set(path, url);
  }
  return url;
}

function readText(res: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      if (text.length < limit) text += chunk;
    });
    res.on('end', () => resolve(text.slice(0, limit)));
    res.on('error', () => resolve(text.slice(0, limit)));
    res.on('aborted', () => resolve(text.slice(0, limit)));
  });
}

export interface UpstreamCall {
  /** The upstream's 2xx response, its body not yet read. */
  response: IncomingMessage;
  /**
   * Arms the idle limit on the body: the response is destroyed with an `UpstreamTimeoutError` when
   * no data arrives for the target's `idleMs`. Call once reading starts.
   */
  watchIdle(): void;
}

/**
 * Sends one request to an upstream over keep-alive sockets, with the target's connect and
 * first-byte limits and the caller's abort signal. Resolves with a 2xx response; rejects with
 * `UpstreamHttpError` (any other status, its body read up to 64 KB), `UpstreamTimeoutError`, the
 * signal's reason, or the socket's error (ECONNREFUSED, ECONNRESET…).
 */
export function callUpstream(
  target: WireTarget,
  path: string,
  body: string | Buffer,
  options: { signal: AbortSignal; headers?: Record<string, string> },
): Promise<UpstreamCall> {
  const url = targetUrl(target, path);
  const secure = url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal.aborted) return reject(signal.reason);
    let settled = false;
    let disarm = () => {};
    const req = send(url, {
      method: 'POST',
      agent: secure ? defaultAgents.https : defaultAgents.http,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...target.headers,
        ...options.headers,
        'content-length': Buffer.byteLength(body),
      },
    });
    const fail = (error: unknown) => {
      disarm();
      if (settled) return;
      settled = true;
      req.destroy();
      reject(error);
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal.removeEventListener('abort', onAbort));
    req.on('error', (error) => fail(signal.aborted ? signal.reason : error));
    disarm = limitRequest(req, target.timeouts, fail);
    req.on('response', async (res) => {
      disarm();
      const status = res.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        const text = await readText(res, 65_536);
        return fail(new UpstreamHttpError(status, flatHeaders(res.headers), text));
      }
      settled = true;
      signal.removeEventListener('abort', onAbort);
      const onBodyAbort = () => res.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      signal.addEventListener('abort', onBodyAbort, { once: true });
      res.once('close', () => signal.removeEventListener('abort', onBodyAbort));
      resolve({
        response: res,
        watchIdle: () => limitIdle(res, target.timeouts.idleMs),
      });
    });
    req.end(body);
  });
}

/** Reads a whole response body (after `callUpstream`), with the idle limit armed. */
export function readBody(call: UpstreamCall): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    call.watchIdle();
    call.response.on('data', (part: Buffer) => parts.push(part));
    call.response.on('end', () => resolve(Buffer.concat(parts)));
    call.response.on('error', reject);
    call.response.on('aborted', () => reject(Object.assign(new Error('The upstream closed the connection early'), { code: 'ECONNRESET' })));
  });
}
