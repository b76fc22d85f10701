import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import type { WireTarget } from '../providers/model-connections';
import { plainContentDeltaLength, readPlainContentDelta } from '../providers/openai-chat-model';
import { callUpstream, readBody } from './upstream-call';

/** What a relayed call produced, for the taps: usage ledger, prompt log, limits, metrics, traces. */
export interface RelayOutcome {
  status: 'complete' | 'stopped' | 'error';
  /** The answer's text (content and tool-call arguments), capped for the prompt log. */
  text: string;
  /** Characters produced in all, also past the cap (for estimates when the upstream sent no usage). */
  chars: number;
  finishReason: string | null;
  usage: { inputTokens: number | null; outputTokens: number | null };
  timing: { ttftMs: number | null; totalMs: number | null };
  failure?: ProviderFailure | undefined;
}

export interface RelayInput {
  target: WireTarget;
  /** The caller's request as sent, with Axon's edits applied; `model` is replaced by the upstream's id. */
  body: Record<string, unknown>;
  upstreamModel: string;
  stream: boolean;
  signal: AbortSignal;
  /** Axon's extension: passages retrieved for the answer, sent back beside it. */
  citations?: unknown[] | undefined;
  /** Characters of the answer's text kept for the prompt log (0: none; only its length is counted). */
  captureChars?: number;
}

const CAPTURE_CHARS = 65_536;

const ms = (since: number) => Math.round((performance.now() - since) * 100) / 100;

interface ChatCompletionJson {
  choices?: Array<{
    message?: { content?: unknown; tool_calls?: Array<{ function?: { arguments?: unknown } }> };
    finish_reason?: string | null;
  }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/** The text of a completion (its choices' content and tool-call arguments). */
function completionText(json: ChatCompletionJson): string {
  let text = '';
  for (const choice of json.choices ?? []) {
    if (typeof choice.message?.content === 'string') text += choice.message.content;
    for (const call of choice.message?.tool_calls ?? []) if (typeof call.function?.arguments === 'string') text += call.function.arguments;
  }
  return text;
}

/**
 * `POST /v1/chat/completions` to an upstream that speaks it: the caller's body goes out as sent
 * (every field, known or not) with the model id replaced, and the upstream's answer comes back as
 * the upstream sent it: JSON, or its SSE bytes event by event. The stream is read only for
 * accounting: usage, finish reason, time to first token and the text, capped. Axon asks for usage
 * in the stream (`stream_options.include_usage`) and drops that chunk again when the caller did
 * not ask for it. Failures before the answer starts throw the `AppError` the upstream meant (its
 * status and body for a 4xx, 429 with `Retry-After`, 502/504 naming the cause); failures after it
 * end the stream with an OpenAI error event. Resolves when the answer has ended, however it ended.
 */
export async function relayOpenAIChat(reply: FastifyReply, input: RelayInput, onDone: (outcome: RelayOutcome) => void): Promise<void> {
  const started = performance.now();
  const capture = input.captureChars ?? CAPTURE_CHARS;
  const callerOptions = (input.body.stream_options ?? undefined) as Record<string, unknown> | undefined;
  const callerWantsUsage = callerOptions?.include_usage === true;
  const outgoing: Record<string, unknown> = { ...input.body, model: input.upstreamModel };
  if (input.stream) outgoing.stream_options = { ...callerOptions, include_usage: true };
  const payload = JSON.stringify(outgoing);

  const outcome: RelayOutcome = {
    status: 'error',
    text: '',
    chars: 0,
    finishReason: null,
    usage: { inputTokens: null, outputTokens: null },
    timing: { ttftMs: null, totalMs: null },
  };
  const count = (chars: number) => {
    if (chars === 0) return;
    if (outcome.timing.ttftMs === null) outcome.timing.ttftMs = ms(started);
    outcome.chars += chars;
  };
  const take = (text: string) => {
    if (!text) return;
    count(text.length);
    if (outcome.text.length < capture) outcome.text += text.slice(0, capture - outcome.text.length);
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

  let call: Awaited<ReturnType<typeof callUpstream>>;
  try {
    call = await callUpstream(input.target, 'chat/completions', payload, { signal: input.signal });
  } catch (error) {
    if (input.signal.aborted) {
      finish('stopped');
      return void reply.status(499).send();
    }
    const failure = classifyProviderError(error);
    finish('error', failure);
    throw toAppError(failure, error);
  }

  if (!input.stream) {
    let raw: Buffer;
    try {
      raw = await readBody(call);
    } catch (error) {
      if (input.signal.aborted) {
        finish('stopped');
        return void reply.status(499).send();
      }
      const failure = classifyProviderError(error);
      finish('error', failure);
      throw toAppError(failure, error);
    }
    let json: ChatCompletionJson & Record<string, unknown>;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      const failure = classifyProviderError(
        Object.assign(new Error('The upstream answered with a body that is not JSON'), { cause: error }),
      );
      finish('error', failure);
      throw toAppError(failure, error);
    }
    take(completionText(json));
    outcome.finishReason = json.choices?.[0]?.finish_reason ?? null;
    outcome.usage = { inputTokens: json.usage?.prompt_tokens ?? null, outputTokens: json.usage?.completion_tokens ?? null };
    finish('complete');
    if (input.citations && input.citations.length > 0) {
      const message = json.choices?.[0]?.message as Record<string, unknown> | undefined;
      if (message) message.citations = input.citations;
      return void reply.type('application/json').send(JSON.stringify(json));
    }
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
  let sawDone = false;
  let ended = false;
  const end = (status: RelayOutcome['status'], failure?: ProviderFailure, message?: string) => {
    if (ended) return;
    ended = true;
    if (!res.destroyed && !res.writableEnded) {
      if (message !== undefined) {
        const code = failure ? toAppError(failure).code : 'upstream_error';
        res.write(`data: ${JSON.stringify({ error: { message, type: 'api_error', param: null, code } })}\n\n`);
      }
      res.end();
    }
    finish(status, failure);
  };

  /** Reads one event for accounting; false when it is to be left out (the usage chunk the caller did not ask for). */
  const tap = (data: string): boolean => {
    if (data === '[DONE]') {
      sawDone = true;
      return true;
    }
    if (capture === 0) {
      // Nothing kept: a plain content delta needs no parse, only its length (escapes count as characters).
      const length = plainContentDeltaLength(data);
      if (length !== undefined) {
        count(length);
        return true;
      }
    } else {
      const plain = readPlainContentDelta(data);
      if (plain !== undefined) {
        take(plain);
        return true;
      }
    }
    let chunk: {
      choices?: Array<{
        delta?: { content?: unknown; tool_calls?: Array<{ function?: { arguments?: unknown; name?: unknown } }> };
        finish_reason?: string | null;
      }>;
      usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
    };
    try {
      chunk = JSON.parse(data);
    } catch {
      return true; // Not ours to judge: passed on as sent.
    }
    for (const choice of chunk.choices ?? []) {
      if (typeof choice.delta?.content === 'string') take(choice.delta.content);
      for (const call of choice.delta?.tool_calls ?? []) {
        if (typeof call.function?.name === 'string') take(call.function.name);
        if (typeof call.function?.arguments === 'string') take(call.function.arguments);
      }
      if (choice.finish_reason) outcome.finishReason = choice.finish_reason;
    }
    if (chunk.usage) {
      outcome.usage = { inputTokens: chunk.usage.prompt_tokens ?? null, outputTokens: chunk.usage.completion_tokens ?? null };
      if (!callerWantsUsage && (chunk.choices?.length ?? 0) === 0) return false;
    }
    return true;
  };

  const citationsEvent =
    input.citations && input.citations.length > 0
      ? `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], citations: input.citations })}\n\n`
      : '';

  upstream.on('data', (text: string) => {
    if (ended) return;
    carry += text;
    if (carry.includes('\r')) carry = carry.replace(/\r\n?/g, '\n');
    // Events pass on as they came, in runs sliced from `carry` (no copy per event); only an event
    // left out or one added ends a run. Single-character searches: V8 finds '\n' far faster than '\n\n'.
    let out = '';
    let from = 0;
    let run = 0;
    let oneLine = true;
    for (let at = carry.indexOf('\n'); at >= 0; at = carry.indexOf('\n', at + 1)) {
      if (carry.charCodeAt(at + 1) !== 10) {
        oneLine = false;
        continue;
      }
      const start = from;
      from = at + 2;
      // An event is one or more `data:` lines (comments and other fields pass through untouched).
      let data: string | undefined;
      if (oneLine && isDataLine(carry, start)) data = carry.slice(start + 6, at);
      else {
        for (const line of carry.slice(start, at).split('\n'))
          if (line.startsWith('data:')) data = (data === undefined ? '' : `${data}\n`) + line.slice(line[5] === ' ' ? 6 : 5);
      }
      oneLine = true;
      at++;
      const citations = data === '[DONE]' && citationsEvent !== '';
      const kept = data === undefined || tap(data);
      if (citations || !kept) {
        out += carry.slice(run, start) + (citations ? citationsEvent : '');
        run = kept ? start : from;
      }
    }
    out += carry.slice(run, from);
    carry = carry.slice(from);
    if (out && !res.write(out)) {
      upstream.pause();
      res.once('drain', () => upstream.resume());
    }
  });
  upstream.on('end', () => {
    if (sawDone || outcome.finishReason !== null) return end('complete');
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

/** Whether `text` holds `data: ` at `at` (compared by character: cheaper than `startsWith` at an offset). */
function isDataLine(text: string, at: number): boolean {
  return (
    text.charCodeAt(at) === 100 &&
    text.charCodeAt(at + 1) === 97 &&
    text.charCodeAt(at + 2) === 116 &&
    text.charCodeAt(at + 3) === 97 &&
    text.charCodeAt(at + 4) === 58 &&
    text.charCodeAt(at + 5) === 32
  );
}
