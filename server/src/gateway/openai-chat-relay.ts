import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { classifyProviderError, type ProviderFailure, toAppError } from '../errors';
import type { WireTarget } from '../providers/model-connections';
import { plainContentDeltaLength, plainContentDeltaLengthOf, readPlainContentDelta } from '../providers/openai-chat-model';
import { callUpstream, readBody, type UpstreamCall, UpstreamEarlyEndError } from './upstream-call';

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
  /** The upstream's id of the response (`id` of the JSON body or of the first stream chunk), for feedback by response id. */
  responseId?: string | undefined;
  /** For a routed call: the endpoint that served (or was tried last), and the candidate it belongs to. */
  endpoint?: string | undefined;
  candidate?: string | undefined;
  /** For a routed call: upstream calls made, retries and fallbacks included. */
  attempts?: number | undefined;
  /**
   * With `collect`: the JSON answer as the caller got it, or the stream's chunks as the JSON texts
   * of their events (read only when the answer is stored), for the response cache.
   */
  completion?: Record<string, unknown> | undefined;
  chunks?: string[] | undefined;
}

/** One upstream a routed call may be sent to. */
export interface RelayTarget {
  target: WireTarget;
  upstreamModel: string;
  /** Reported in the outcome: the endpoint's id and the candidate (pool) it belongs to. */
  endpoint: string;
  candidate: string;
}

/** A try of a routed call that has started answering: the caller has its first token (or its JSON body). */
export interface RelayStarted {
  /** Settles when the answer has ended, however it ended: with its failure, if any. */
  ended: Promise<ProviderFailure | undefined>;
}

/**
 * Where a routed call goes. `run` sends `attempt` to one target after another (retries, fallbacks)
 * until one resolves, and rejects with the last try's error when it gives up. A try that rejects
 * sent the caller nothing: streams are held back until their first content or tool-call delta.
 */
export interface RelayRouting {
  run(attempt: (to: RelayTarget) => Promise<RelayStarted>, signal: AbortSignal): Promise<void>;
}

interface RelayInputBase {
  /** The caller's request as sent, with Axon's edits applied; `model` is replaced by the upstream's id. */
  body: Record<string, unknown>;
  stream: boolean;
  signal: AbortSignal;
  /** Axon's extension: passages retrieved for the answer, sent back beside it. */
  citations?: unknown[] | undefined;
  /** Characters of the answer's text kept for the prompt log (0: none; only its length is counted). */
  captureChars?: number;
  /** Keep the whole answer in the outcome (`completion`, or the stream's `chunks`), for the response cache. */
  collect?: boolean | undefined;
}

/** One upstream (the stream passes through from its first byte), or a routing that may try several. */
export type RelayInput = RelayInputBase &
  (
    | { target: WireTarget; upstreamModel: string; routing?: undefined }
    | { routing: RelayRouting; target?: undefined; upstreamModel?: undefined }
  );

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
 *
 * With `routing` instead of one target, each try's stream is held back until its first content or
 * tool-call delta (or its end, for an empty answer), so that a try failing before then can be
 * followed by another one (`RelayRouting`) without the caller seeing anything of it.
 */
export async function relayOpenAIChat(reply: FastifyReply, input: RelayInput, onDone: (outcome: RelayOutcome) => void): Promise<void> {
  const started = performance.now();
  const capture = input.captureChars ?? CAPTURE_CHARS;
  const callerOptions = (input.body.stream_options ?? undefined) as Record<string, unknown> | undefined;
  const callerWantsUsage = callerOptions?.include_usage === true;
  const outgoing: Record<string, unknown> = { ...input.body };
  if (input.stream) outgoing.stream_options = { ...callerOptions, include_usage: true };
  // The body sent for a model id, kept for the next try of the same id.
  let payloadModel: string | undefined;
  let payload = '';
  const payloadFor = (upstreamModel: string) => {
    if (payloadModel !== upstreamModel) {
      outgoing.model = upstreamModel;
      payload = JSON.stringify(outgoing);
      payloadModel = upstreamModel;
    }
    return payload;
  };

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
  const answerEnded = finished.then(() => outcome.failure);

  /** A failure before anything was sent to the caller: 499 when the caller left, else the error the upstream meant. */
  const failBeforeAnswer = (error: unknown): void => {
    if (input.signal.aborted) {
      finish('stopped');
      return void reply.status(499).send();
    }
    const failure = classifyProviderError(error);
    finish('error', failure);
    throw toAppError(failure, error);
  };

  /** Reads a whole JSON answer; rejects (having sent nothing) when it cannot be read. */
  const answerJson = async (call: UpstreamCall): Promise<void> => {
    const raw = await readBody(call);
    let json: ChatCompletionJson & Record<string, unknown>;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      throw Object.assign(new Error('The upstream answered with a body that is not JSON'), { cause: error });
    }
    take(completionText(json));
    outcome.finishReason = json.choices?.[0]?.finish_reason ?? null;
    outcome.usage = { inputTokens: json.usage?.prompt_tokens ?? null, outputTokens: json.usage?.completion_tokens ?? null };
    if (typeof json.id === 'string') outcome.responseId = json.id;
    if (input.collect) outcome.completion = json;
    finish('complete');
    if (input.citations && input.citations.length > 0) {
      const message = json.choices?.[0]?.message as Record<string, unknown> | undefined;
      if (message) message.citations = input.citations;
      return void reply.type('application/json').send(JSON.stringify(json));
    }
    // The upstream's bytes, as they were sent.
    return void reply.type('application/json').send(raw);
  };

  const citationsEvent =
    input.citations && input.citations.length > 0
      ? `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], citations: input.citations })}\n\n`
      : '';

  /**
   * Passes the upstream's events on. Resolves once the caller's stream is open: at once, or with
   * `hold`, at the first content or tool-call delta (what came before goes with it); with `hold`,
   * rejects with what broke the stream before then, having sent nothing.
   */
  const relayStream = (call: UpstreamCall, hold: boolean) =>
    new Promise<RelayStarted>((resolve, reject) => {
      const res: ServerResponse = reply.raw;
      let holding = hold;
      // What a held try has read so far, in order: the upstream's bytes, and Axon's own event text.
      let held: Array<Buffer | string> = [];
      // A held stream opens at its first content or tool-call delta (counted characters), or at any
      // other delta with something in it (reasoning, a refusal), so reasoning is not held back.
      let began = false;
      // The socket is ours from here; the security headers set so far go with the answer.
      const open = () => {
        holding = false;
        reply.hijack();
        res.writeHead(200, {
          ...(reply.getHeaders() as Record<string, string>),
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          'x-request-id': reply.request.id,
        });
        resolve({ ended: answerEnded });
      };
      if (!hold) open();
      const upstream = call.response;
      call.watchIdle();

      // The bytes of an event not yet complete, kept for the next read. The stream is read as bytes:
      // events pass on as the upstream's own buffers (no decoding and encoding again), and only
      // each event's data is decoded, for the tap.
      let carry: Buffer | undefined;
      let sawDone = false;
      // Every chunk's text when the answer is to be cached (a try that failed keeps none of its own);
      // parsed only once the answer is complete, not on the way to the caller.
      const collected: string[] | undefined = input.collect ? [] : undefined;
      outcome.chunks = collected;
      let ended = false;
      // The response id is the stream's first `"id":` (the first chunk's own): looked for until found.
      let idPending = true;
      let idScanned = 0;
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
      /** Gives a held try up: nothing reached the caller, so another try may answer instead. */
      const giveUp = (error: unknown) => {
        ended = true;
        upstream.destroy();
        reject(error);
      };

      /** Reads one event for accounting; false when it is to be left out (the usage chunk the caller did not ask for). */
      const tap = (data: string): boolean => {
        if (data === '[DONE]') {
          sawDone = true;
          return true;
        }
        collected?.push(data);
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
          if (holding && !began && choice.delta) began = beginsAnswer(choice.delta);
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

      upstream.on('data', (read: Buffer) => {
        if (ended) return;
        let bytes = carry ? Buffer.concat([carry, read]) : read;
        // Line ends as CR LF or CR become LF (a byte-for-byte round trip through latin1). A CR at the
        // end waits for the next read, which may begin with its LF.
        let lastCR: Buffer | undefined;
        if (bytes.indexOf(13) >= 0) {
          if (bytes[bytes.length - 1] === 13) {
            lastCR = bytes.subarray(bytes.length - 1);
            bytes = bytes.subarray(0, bytes.length - 1);
          }
          bytes = Buffer.from(bytes.toString('latin1').replace(/\r\n?/g, '\n'), 'latin1');
        }
        if (idPending) {
          const id = readResponseId(bytes.toString('latin1', 0, Math.min(bytes.length, 65_536)));
          if (id !== undefined) {
            idPending = false;
            outcome.responseId = id;
          } else {
            idScanned += read.length;
            if (idScanned > 65_536) idPending = false;
          }
        }
        // Events pass on in runs of the upstream's bytes (views, no copy); only an event left out or
        // one added ends a run.
        const out: Array<Buffer | string> = [];
        let from = 0;
        let run = 0;
        let oneLine = true;
        for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) {
          if (bytes[at + 1] !== 10) {
            oneLine = false;
            continue;
          }
          const start = from;
          from = at + 2;
          // An event is one or more `data:` lines (comments and other fields pass through untouched).
          let data: string | undefined;
          if (oneLine && isDataLine(bytes, start)) {
            // Nothing kept of the text: a plain content delta is counted from its bytes, not decoded.
            const length = capture === 0 && !collected ? plainContentDeltaLengthOf(bytes, start + 6, at) : undefined;
            if (length !== undefined) {
              count(length);
              oneLine = true;
              at++;
              continue;
            }
            data = bytes.toString('utf8', start + 6, at);
          } else {
            for (const line of bytes.toString('utf8', start, at).split('\n'))
              if (line.startsWith('data:')) data = (data === undefined ? '' : `${data}\n`) + line.slice(line[5] === ' ' ? 6 : 5);
          }
          oneLine = true;
          at++;
          const citations = data === '[DONE]' && citationsEvent !== '';
          const kept = data === undefined || tap(data);
          if (citations || !kept) {
            if (start > run) out.push(bytes.subarray(run, start));
            if (citations) out.push(citationsEvent);
            run = kept ? start : from;
          }
        }
        if (from > run) out.push(bytes.subarray(run, from));
        carry = from < bytes.length ? bytes.subarray(from) : undefined;
        if (lastCR) carry = carry ? Buffer.concat([carry, lastCR]) : lastCR;
        if (holding) {
          held.push(...out);
          if (outcome.chars === 0 && !began) return;
          out.length = 0;
          out.push(...held);
          held = [];
          open();
        }
        if (out.length === 0) return;
        let flowing = true;
        for (const part of out) flowing = res.write(part);
        if (!flowing) {
          upstream.pause();
          res.once('drain', () => upstream.resume());
        }
      });
      upstream.on('end', () => {
        if (ended) return;
        if (sawDone || outcome.finishReason !== null) {
          if (holding) {
            // An answer without text or tool calls: it is complete all the same.
            open();
            for (const part of held) res.write(part);
          }
          return end('complete');
        }
        if (holding) return giveUp(new UpstreamEarlyEndError());
        end('error', classifyProviderError(new Error('closed early')), 'The model provider closed the stream before it finished');
      });
      upstream.on('error', (error) => {
        if (ended) return;
        if (holding) return giveUp(input.signal.aborted ? input.signal.reason : error);
        if (input.signal.aborted) return end('stopped');
        const failure = classifyProviderError(error);
        end('error', failure, failure.message);
      });
      upstream.on('close', () => {
        if (ended) return;
        const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
        if (holding) return giveUp(input.signal.aborted ? input.signal.reason : reset);
        if (input.signal.aborted) return end('stopped');
        end('error', classifyProviderError(reset), 'The model provider closed the connection mid-stream');
      });
    });

  if (!input.routing) {
    try {
      const call = await callUpstream(input.target, 'chat/completions', payloadFor(input.upstreamModel), { signal: input.signal });
      if (!input.stream) return await answerJson(call);
      await relayStream(call, false);
    } catch (error) {
      return failBeforeAnswer(error);
    }
    await finished;
    return;
  }

  try {
    let tries = 0;
    await input.routing.run(async (to) => {
      outcome.attempts = ++tries;
      outcome.endpoint = to.endpoint;
      outcome.candidate = to.candidate;
      // What a failed try read before it broke (a finish reason, usage, an id) is not the answer's.
      outcome.finishReason = null;
      outcome.usage = { inputTokens: null, outputTokens: null };
      outcome.responseId = undefined;
      const call = await callUpstream(to.target, 'chat/completions', payloadFor(to.upstreamModel), { signal: input.signal });
      if (!input.stream) {
        await answerJson(call);
        return { ended: answerEnded };
      }
      return relayStream(call, true);
    }, input.signal);
  } catch (error) {
    // A routing that fails after a try has answered has nothing left to tell the caller.
    if (reply.sent || reply.raw.headersSent) return void (await finished);
    return failBeforeAnswer(error);
  }
  await finished;
}

/** Whether a delta carries part of the answer: a member besides `role` with text or a value (not `""`, not null). */
function beginsAnswer(delta: object): boolean {
  for (const [key, value] of Object.entries(delta)) {
    if (key === 'role' || value === null || value === undefined || value === '') continue;
    if (Array.isArray(value) ? value.length > 0 : true) return true;
  }
  return false;
}

/** The first `"id":` string in `text`: in a stream, the first chunk's own id (the first member OpenAI and vLLM write). */
function readResponseId(text: string): string | undefined {
  const at = text.indexOf('"id":');
  if (at < 0) return undefined;
  let from = at + 5;
  while (text.charCodeAt(from) === 32) from++;
  if (text.charCodeAt(from) !== 34) return undefined;
  const close = text.indexOf('"', from + 1);
  return close < 0 ? undefined : text.slice(from + 1, close);
}

/** Whether `bytes` holds `data: ` at `at` (compared byte by byte). */
function isDataLine(bytes: Buffer, at: number): boolean {
  return (
    bytes[at] === 100 &&
    bytes[at + 1] === 97 &&
    bytes[at + 2] === 116 &&
    bytes[at + 3] === 97 &&
    bytes[at + 4] === 58 &&
    bytes[at + 5] === 32
  );
}
