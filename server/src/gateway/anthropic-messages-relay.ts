import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import { anthropicErrorBody } from '../http/problem';
import type { WireTarget } from '../providers/model-connections';
import type { RelayOutcome } from './openai-chat-relay';
import { callUpstream, readBody } from './upstream-call';

export interface AnthropicRelayInput {
  target: WireTarget;
  /** The caller's request as sent, with Axon's edits applied; `model` is replaced by the upstream's id. */
  body: Record<string, unknown>;
  upstreamModel: string;
  stream: boolean;
  signal: AbortSignal;
  /** The caller's `anthropic-version` / `anthropic-beta`, over the connection's own. */
  headers: Record<string, string>;
}

const CAPTURE_CHARS = 65_536;

const ms = (since: number) => Math.round((performance.now() - since) * 100) / 100;

interface AnthropicUsageJson {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** Every input token Anthropic counts (new, written to the cache and read from it): what the ledger and limits count. */
const inputTokensOf = (usage: AnthropicUsageJson): number | null =>
  typeof usage.input_tokens === 'number'
    ? usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0)
    : null;

/**
 * `POST /v1/messages` to an Anthropic upstream: the caller's body goes out as sent (every field,
 * known or not) with the model id replaced, and the answer comes back as the upstream sent it:
 * JSON, or its named SSE events. The stream is read only for accounting: usage from
 * `message_start` and `message_delta`, the stop reason, time to first token and the text, capped.
 * Failures before the answer starts throw the `AppError` the upstream meant; failures after it end
 * the stream with Anthropic's `error` event. Resolves when the answer has ended, however it ended.
 */
export async function relayAnthropicMessages(
  reply: FastifyReply,
  input: AnthropicRelayInput,
  onDone: (outcome: RelayOutcome) => void,
): Promise<void> {
  const started = performance.now();
  const payload = JSON.stringify({ ...input.body, model: input.upstreamModel });
  const outcome: RelayOutcome = {
    status: 'error',
    text: '',
    chars: 0,
    finishReason: null,
    usage: { inputTokens: null, outputTokens: null },
    timing: { ttftMs: null, totalMs: null },
  };
  const take = (text: unknown) => {
    if (typeof text !== 'string' || !text) return;
    if (outcome.timing.ttftMs === null) outcome.timing.ttftMs = ms(started);
    outcome.chars += text.length;
    if (outcome.text.length < CAPTURE_CHARS) outcome.text += text.slice(0, CAPTURE_CHARS - outcome.text.length);
  };
  const readUsage = (usage: AnthropicUsageJson | undefined) => {
    if (!usage) return;
    const inputTokens = inputTokensOf(usage);
    if (inputTokens !== null) outcome.usage.inputTokens = inputTokens;
    if (typeof usage.output_tokens === 'number') outcome.usage.outputTokens = usage.output_tokens;
  };
  let settle: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const finish = (status: RelayOutcome['status'], failure?: ProviderFailure) => {
    outcome.status = status;
    outcome.failure = failure;
    outcome.timing.totalMs = ms(started);
    onDone(outcome);
    settle();
  };
  const failBeforeAnswer = (error: unknown) => {
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
    call = await callUpstream(input.target, 'messages', payload, { signal: input.signal, headers: input.headers });
  } catch (error) {
    return failBeforeAnswer(error);
  }

  if (!input.stream) {
    let raw: Buffer;
    try {
      raw = await readBody(call);
    } catch (error) {
      return failBeforeAnswer(error);
    }
    let json: { id?: unknown; content?: Array<Record<string, unknown>>; stop_reason?: string | null; usage?: AnthropicUsageJson };
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      return failBeforeAnswer(Object.assign(new Error('The upstream answered with a body that is not JSON'), { cause: error }));
    }
    for (const block of Array.isArray(json?.content) ? json.content : []) {
      if (block?.type === 'text') take(block.text);
      else if (block?.type === 'tool_use') take(JSON.stringify(block.input ?? {}));
    }
    outcome.finishReason = json?.stop_reason ?? null;
    if (typeof json?.id === 'string') outcome.responseId = json.id;
    readUsage(json?.usage);
    finish('complete');
    // The upstream's bytes, as it sent them.
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

  let carry = '';
  let sawStop = false;
  let upstreamFailure: ProviderFailure | undefined;
  let ended = false;
  const end = (status: RelayOutcome['status'], failure?: ProviderFailure, message?: string) => {
    if (ended) return;
    ended = true;
    if (!res.destroyed && !res.writableEnded) {
      if (message !== undefined && failure)
        res.write(`event: error\ndata: ${JSON.stringify(anthropicErrorBody(toAppError({ ...failure, message })))}\n\n`);
      res.end();
    }
    finish(status, failure);
  };

  /** Reads one event's data for accounting; the event itself goes on as sent. */
  const tap = (data: string) => {
    let event: {
      type?: string;
      message?: { id?: unknown; usage?: AnthropicUsageJson };
      content_block?: { type?: string; name?: unknown };
      delta?: { type?: string; text?: unknown; partial_json?: unknown; stop_reason?: string | null };
      usage?: AnthropicUsageJson;
      error?: { type?: string; message?: string };
    };
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    if (!event || typeof event !== 'object') return;
    switch (event.type) {
      case 'message_start':
        if (typeof event.message?.id === 'string') outcome.responseId = event.message.id;
        readUsage(event.message?.usage);
        break;
      case 'content_block_start':
        if (event.content_block?.type === 'tool_use') take(event.content_block.name);
        break;
      case 'content_block_delta':
        if (event.delta?.type === 'text_delta') take(event.delta.text);
        else if (event.delta?.type === 'input_json_delta') take(event.delta.partial_json);
        break;
      case 'message_delta':
        if (event.delta?.stop_reason) outcome.finishReason = event.delta.stop_reason;
        readUsage(event.usage);
        break;
      case 'message_stop':
        sawStop = true;
        break;
      case 'error':
        upstreamFailure = {
          kind: event.error?.type === 'rate_limit_error' ? 'rate' : 'upstream',
          retryable: event.error?.type === 'overloaded_error' || event.error?.type === 'rate_limit_error',
          upstreamStatus: undefined,
          message: event.error?.message ?? 'The model provider failed mid-stream',
        };
        break;
    }
  };

  upstream.on('data', (text: string) => {
    if (ended) return;
    carry += text;
    if (carry.includes('\r')) carry = carry.replace(/\r\n?/g, '\n');
    let from = 0;
    for (let at = carry.indexOf('\n\n'); at >= 0; at = carry.indexOf('\n\n', from)) {
      let data: string | undefined;
      for (const line of carry.slice(from, at).split('\n'))
        if (line.startsWith('data:')) data = (data === undefined ? '' : `${data}\n`) + line.slice(line[5] === ' ' ? 6 : 5);
      from = at + 2;
      if (data !== undefined) tap(data);
    }
    // The bytes of whole events go on as the upstream sent them.
    const out = carry.slice(0, from);
    carry = carry.slice(from);
    if (out && !res.write(out)) {
      upstream.pause();
      res.once('drain', () => upstream.resume());
    }
  });
  upstream.on('end', () => {
    if (upstreamFailure) return end('error', upstreamFailure);
    if (sawStop) return end('complete');
    end('error', classifyProviderError(new Error('closed early')), 'The model provider closed the stream before it finished');
  });
  upstream.on('error', (error) => {
    if (input.signal.aborted) return end('stopped');
    const failure = classifyProviderError(error);
    end('error', failure, failure.message);
  });
  upstream.on('close', () => {
    if (ended) return;
    if (input.signal.aborted) return end('stopped');
    end(
      'error',
      classifyProviderError(Object.assign(new Error('reset'), { code: 'ECONNRESET' })),
      'The model provider closed the connection mid-stream',
    );
  });
  await finished;
}
