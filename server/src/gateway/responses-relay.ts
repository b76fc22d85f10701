import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import type { WireTarget } from '../providers/model-connections';
import type { RelayOutcome } from './openai-chat-relay';
import { callUpstream, readBody } from './upstream-call';

export interface ResponsesRelayInput {
  target: WireTarget;
  /** The caller's request as sent, with Axon's edits applied; `model` is replaced by the upstream's id. */
  body: Record<string, unknown>;
  upstreamModel: string;
  stream: boolean;
  signal: AbortSignal;
  /**
   * Told the upstream's response id as soon as it is known (before the caller sees it), so that
   * the id is recorded as the caller's before the caller can name it.
   */
  onResponseId?: (id: string) => void | Promise<void>;
  /** Text kept for the prompt log. */
  captureChars?: number;
}

const CAPTURE_CHARS = 65_536;

const ms = (since: number) => Math.round((performance.now() - since) * 100) / 100;

interface ResponseJson {
  id?: unknown;
  status?: unknown;
  output?: Array<{ type?: unknown; content?: Array<{ text?: unknown }>; arguments?: unknown; name?: unknown }>;
  usage?: { input_tokens?: number; output_tokens?: number } | null;
  incomplete_details?: { reason?: unknown } | null;
}

/** The text of a response's output (message text, function names and arguments). */
function outputText(response: ResponseJson): string {
  let text = '';
  for (const item of response.output ?? []) {
    for (const part of item.content ?? []) if (typeof part.text === 'string') text += part.text;
    if (typeof item.name === 'string') text += item.name;
    if (typeof item.arguments === 'string') text += item.arguments;
  }
  return text;
}

/** Events that end a Responses stream. */
const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * `POST /v1/responses` to an upstream that serves it: the caller's body goes out as sent with the
 * model id replaced, and the upstream's answer comes back as sent, JSON or its SSE events byte for
 * byte. The events are read only for accounting: the response id (recorded as the caller's), the
 * text (capped), time to first token, and usage from the final event. Failures before the answer
 * starts throw the `AppError` the upstream meant; a stream cut before its final event ends with an
 * `error` event naming the cause. Resolves when the answer has ended, however it ended.
 */
export async function relayResponses(
  reply: FastifyReply,
  input: ResponsesRelayInput,
  onDone: (outcome: RelayOutcome) => void,
): Promise<void> {
  const started = performance.now();
  const capture = input.captureChars ?? CAPTURE_CHARS;
  const payload = JSON.stringify({ ...input.body, model: input.upstreamModel });
  const outcome: RelayOutcome = {
    status: 'error',
    text: '',
    chars: 0,
    finishReason: null,
    usage: { inputTokens: null, outputTokens: null },
    timing: { ttftMs: null, totalMs: null },
  };
  const take = (text: string) => {
    if (!text) return;
    if (outcome.timing.ttftMs === null) outcome.timing.ttftMs = ms(started);
    outcome.chars += text.length;
    if (outcome.text.length < capture) outcome.text += text.slice(0, capture - outcome.text.length);
  };
  const readFinal = (response: ResponseJson) => {
    outcome.finishReason = typeof response.status === 'string' ? response.status : null;
    if (response.usage)
      outcome.usage = { inputTokens: response.usage.input_tokens ?? null, outputTokens: response.usage.output_tokens ?? null };
  };
  const finish = (status: RelayOutcome['status'], failure?: ProviderFailure) => {
    outcome.status = status;
    outcome.failure = failure;
    outcome.timing.totalMs = ms(started);
    onDone(outcome);
  };
  const fail = (error: unknown) => {
    if (input.signal.aborted) {
      finish('stopped');
      return void reply.status(499).send();
    }
    const failure = classifyProviderError(error);
    finish('error', failure);
    throw toAppError(failure, error);
  };

  let call: Awaited<ReturnType<typeof callUpstream>>;
  try {
    call = await callUpstream(input.target, 'responses', payload, { signal: input.signal });
  } catch (error) {
    return fail(error);
  }

  if (!input.stream) {
    let raw: Buffer;
    let json: ResponseJson;
    try {
      raw = await readBody(call);
      json = JSON.parse(raw.toString('utf8')) as ResponseJson;
    } catch (error) {
      return fail(
        error instanceof SyntaxError
          ? Object.assign(new Error('The upstream answered with a body that is not JSON'), { cause: error })
          : error,
      );
    }
    if (typeof json.id === 'string') {
      outcome.responseId = json.id;
      await input.onResponseId?.(json.id);
    }
    take(outputText(json));
    readFinal(json);
    finish(json.status === 'failed' ? 'error' : 'complete');
    return void reply.type('application/json').send(raw);
  }

  // Streaming: the socket is ours from here; the security headers set so far go with the answer.
  reply.hijack();
  const res: ServerResponse = reply.raw;
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': reply.request.id,
  });
  const upstream = call.response;
  upstream.setEncoding('utf8');
  call.watchIdle();

  let settle: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    settle = resolve;
  });
  let carry = '';
  let finalType: string | undefined;
  let lastSequence = -1;
  let ended = false;
  const end = (status: RelayOutcome['status'], failure?: ProviderFailure, message?: string) => {
    if (ended) return;
    ended = true;
    if (!res.destroyed && !res.writableEnded) {
      if (message !== undefined) {
        const code = failure ? toAppError(failure).code : 'upstream_error';
        const error = { type: 'error', code, message, param: null, sequence_number: lastSequence + 1 };
        res.write(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
      }
      res.end();
    }
    finish(status, failure);
    settle();
  };

  /** Reads one event for accounting; resolves once an id it carries is recorded. */
  const tap = (data: string): Promise<void> | undefined => {
    let event: {
      type?: string;
      sequence_number?: number;
      delta?: unknown;
      response?: ResponseJson;
      item?: { type?: unknown; name?: unknown };
    };
    try {
      event = JSON.parse(data);
    } catch {
      return undefined; // Not ours to judge: passed on as sent.
    }
    if (typeof event.sequence_number === 'number') lastSequence = event.sequence_number;
    const type = event.type ?? '';
    if (type === 'response.output_text.delta' || type === 'response.function_call_arguments.delta') {
      if (typeof event.delta === 'string') take(event.delta);
    } else if (type === 'response.output_item.added' && event.item?.type === 'function_call' && typeof event.item.name === 'string')
      take(event.item.name);
    else if (FINAL_EVENTS.has(type)) {
      finalType = type;
      if (event.response) readFinal(event.response);
    } else if (type === 'response.created' && typeof event.response?.id === 'string') {
      outcome.responseId = event.response.id;
      const recorded = input.onResponseId?.(event.response.id);
      if (recorded) return recorded;
    }
    return undefined;
  };

  // Events go on in order; one whose id is being recorded holds the ones after it.
  let queue: Promise<void> = Promise.resolve();
  const write = (out: string) => {
    if (ended || !out) return;
    if (!res.write(out)) {
      upstream.pause();
      res.once('drain', () => upstream.resume());
    }
  };

  upstream.on('data', (text: string) => {
    if (ended) return;
    carry += text;
    if (carry.includes('\r')) carry = carry.replace(/\r\n?/g, '\n');
    let out = '';
    let from = 0;
    for (let at = carry.indexOf('\n\n'); at >= 0; at = carry.indexOf('\n\n', from)) {
      const event = carry.slice(from, at + 2);
      from = at + 2;
      let data: string | undefined;
      for (const line of event.slice(0, -2).split('\n'))
        if (line.startsWith('data:')) data = (data === undefined ? '' : `${data}\n`) + line.slice(line[5] === ' ' ? 6 : 5);
      const recording = data === undefined ? undefined : tap(data);
      if (recording) {
        const before = out + event;
        out = '';
        upstream.pause();
        queue = queue
          .then(() => recording)
          .then(
            () => {
              write(before);
              upstream.resume();
            },
            (error) => {
              reply.request.log.error({ err: error }, 'recording a response id failed');
              upstream.destroy();
              end('error', classifyProviderError(error), 'The response could not be recorded');
            },
          );
      } else out += event;
    }
    carry = carry.slice(from);
    if (out) {
      const chunk = out;
      queue = queue.then(() => write(chunk));
    }
  });
  upstream.on('end', () => {
    void queue.then(() => {
      if (finalType !== undefined) return end(finalType === 'response.failed' ? 'error' : 'complete');
      end('error', classifyProviderError(new Error('closed early')), 'The model provider closed the stream before it finished');
    });
  });
  upstream.on('error', (error) => {
    if (input.signal.aborted) return end('stopped');
    const failure = classifyProviderError(error);
    end('error', failure, failure.message);
  });
  upstream.on('close', () => {
    void queue.then(() => {
      if (ended) return;
      if (input.signal.aborted) return end('stopped');
      end(
        'error',
        classifyProviderError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })),
        'The model provider closed the connection mid-stream',
      );
    });
  });
  await finished;
}
