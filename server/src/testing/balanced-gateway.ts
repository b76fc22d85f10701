import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { AppError } from '../errors';
import type { RelayOutcome } from '../gateway/openai-chat-relay';
import { type FallbackCandidate, relayWithFallbacks } from '../modelops/balance/relay-with-fallbacks';
import type { WireTarget } from '../providers/model-connections';
import { readSseEvents } from './sse-events';

export interface BalancedGateway {
  url: string;
  /** Each call's outcome, in the order the calls ended. */
  outcomes: RelayOutcome[];
  /** Sends a chat completion; a stream is read to its end. */
  chat(options?: { stream?: boolean }): Promise<ChatResult>;
  close(): Promise<void>;
}

export interface ChatResult {
  status: number;
  /** The content deltas joined (streams), or the message's content (JSON). */
  text: string;
  /** Stream events' parsed data (`[DONE]` as the string). */
  events: unknown[];
  /** The JSON body (non-streaming, or an error answered before the stream). */
  json?: Record<string, unknown>;
}

/** A wire target for a loopback upstream, with short time limits. */
export function loopbackTarget(url: string, timeouts: Partial<WireTarget['timeouts']> = {}): WireTarget {
  return {
    wire: 'openai',
    baseURL: url,
    headers: { authorization: 'Bearer test-key' },
    timeouts: { connectMs: 1000, firstByteMs: 2000, idleMs: 2000, ...timeouts },
  };
}

/**
 * A Fastify app with one route, `POST /v1/chat/completions`, relayed through `relayWithFallbacks`
 * to the candidates `candidates()` gives at each call; errors answered as OpenAI error bodies.
 */
export async function startBalancedGateway(candidates: () => FallbackCandidate[]): Promise<BalancedGateway> {
  const outcomes: RelayOutcome[] = [];
  const app = Fastify();
  app.setErrorHandler(async (error, _request, reply) => {
    if (reply.sent || reply.raw.headersSent) return;
    const e = AppError.isInstance(error) ? error : new AppError('internal');
    return reply.status(e.status).send({ error: { message: e.message, code: e.code, upstream: e.upstream ?? null } });
  });
  app.post('/v1/chat/completions', async (request, reply) => {
    const body = request.body as Record<string, unknown>;
    const controller = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort();
    });
    await relayWithFallbacks(
      reply,
      { candidates: candidates(), body, stream: body.stream === true, signal: controller.signal },
      (outcome) => outcomes.push(outcome),
    );
    return reply;
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  return {
    url,
    outcomes,
    async chat({ stream = true } = {}) {
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'version', stream, messages: [{ role: 'user', content: 'Hi' }] }),
      });
      if (!stream || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
        const json = (await response.json()) as Record<string, unknown>;
        const choices = json.choices as Array<{ message?: { content?: string } }> | undefined;
        return { status: response.status, text: choices?.[0]?.message?.content ?? '', events: [], json };
      }
      const events: unknown[] = [];
      let text = '';
      for await (const event of readSseEvents(response.body as ReadableStream<Uint8Array>)) {
        if (event.data === '[DONE]') {
          events.push(event.data);
          continue;
        }
        const data = JSON.parse(event.data) as { choices?: Array<{ delta?: { content?: string } }> };
        events.push(data);
        for (const choice of data.choices ?? []) text += choice.delta?.content ?? '';
      }
      return { status: response.status, text, events };
    },
    close: () => app.close(),
  };
}
