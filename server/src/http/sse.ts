import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export interface SseWriter {
  /** Writes one event; `data` is sent as is on one `data:` line per line. */
  send(data: string, event?: string): void;
  /**
   * Writes one event whose data is known to hold no line break (e.g. JSON from `JSON.stringify`),
   * with its `id` (what the client sends back as `Last-Event-ID` when it reconnects) if given.
   */
  sendLine(data: string, id?: string): void;
  /** Ends the stream. Safe to call twice. */
  close(): void;
  /** True once the stream is closed, by us or by the client. */
  readonly closed: boolean;
}

export interface OpenSseOptions {
  /** Extra response headers (e.g. the AI SDK's `x-vercel-ai-ui-message-stream`). */
  headers?: Record<string, string>;
  /** Interval of `:` comments that keep proxies from closing an idle stream; 0 disables. */
  keepAliveMs?: number;
  /** Called once if the client goes away before we close. */
  onClientClose?: () => void;
}

/**
 * The one place that frames Server-Sent Events. It takes the socket over from Fastify (keeping
 * the headers set so far, such as the security headers), writes the events of one tick at once,
 * holds them while a slow client drains, sends keep-alive comments and reports a client that went away.
 */
export function openSse(reply: FastifyReply, options: OpenSseOptions = {}): SseWriter {
  reply.hijack();
  const res: ServerResponse = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': reply.request.id,
    ...options.headers,
  });
  let closed = false;
  // Events of one tick are joined and written once: one chunk, one syscall, instead of one per token.
  // While the client is slow (the socket buffer is full), events wait here until it drains.
  let pending = '';
  let scheduled = false;
  let waitingForDrain = false;
  const flush = () => {
    scheduled = false;
    if (!pending || closed || waitingForDrain) return;
    const data = pending;
    pending = '';
    if (!res.write(data)) {
      waitingForDrain = true;
      res.once('drain', () => {
        waitingForDrain = false;
        flush();
      });
    }
  };
  const write = (frame: string) => {
    if (closed) return;
    pending += frame;
    if (!scheduled && !waitingForDrain) {
      scheduled = true;
      process.nextTick(flush);
    }
  };
  const keepAlive =
    options.keepAliveMs && options.keepAliveMs > 0
      ? setInterval(() => {
          if (!closed) res.write(': keep-alive\n\n');
        }, options.keepAliveMs)
      : undefined;
  keepAlive?.unref();

  res.on('close', () => {
    const byClient = !closed && !res.writableFinished;
    closed = true;
    clearInterval(keepAlive);
    if (byClient) options.onClientClose?.();
  });

  return {
    send(data, event) {
      const body = data.includes('\n') ? data.split('\n').join('\ndata: ') : data;
      write(event ? `event: ${event}\ndata: ${body}\n\n` : `data: ${body}\n\n`);
    },
    sendLine(data, id) {
      write(id ? `id: ${id}\ndata: ${data}\n\n` : `data: ${data}\n\n`);
    },
    close() {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      const rest = pending;
      pending = '';
      if (rest) res.end(rest);
      else res.end();
    },
    get closed() {
      return closed;
    },
  };
}
