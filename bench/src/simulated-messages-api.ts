import type { ServerResponse } from 'node:http';
import type { SimulatedAnswer, UpstreamBehaviour } from './simulated-upstream';

type Json = Record<string, unknown>;

export interface SimulatedMessagesApiOptions {
  models: string[];
  /** Read at each request (the upstream's `set` changes it in place). */
  behaviour: UpstreamBehaviour;
  stats: { completions: number };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const blocksOf = (content: unknown): Json[] =>
  typeof content === 'string' ? [{ type: 'text', text: content }] : Array.isArray(content) ? (content as Json[]) : [];

const textOf = (content: unknown): string =>
  blocksOf(content)
    .map((block) => (block.type === 'text' ? String(block.text ?? '') : ''))
    .join('');

/** An image block's source as the URL a chat completions `image_url` part would carry. */
function imageUrl(block: Json): string {
  const source = (block.source ?? {}) as Json;
  return source.type === 'base64' ? `data:${String(source.media_type)};base64,${String(source.data)}` : String(source.url ?? '');
}

/**
 * A Messages request as the chat completions request it stands for (system message first, user
 * text and `image_url` parts, assistant `tool_calls`, `role: "tool"` results, function tools,
 * `tool_choice`), so that one `behaviour.answer` serves both wire formats.
 */
export function messagesAsChatRequest(body: Json): Json {
  const messages: Json[] = [];
  const system = typeof body.system === 'string' ? body.system : textOf(body.system);
  if (system) messages.push({ role: 'system', content: system });
  for (const message of (body.messages ?? []) as Json[]) {
    const blocks = blocksOf(message.content);
    if (message.role === 'assistant') {
      const calls = blocks
        .filter((b) => b.type === 'tool_use')
        .map((b) => ({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }));
      messages.push({ role: 'assistant', content: textOf(blocks) || null, ...(calls.length > 0 ? { tool_calls: calls } : {}) });
      continue;
    }
    for (const block of blocks.filter((b) => b.type === 'tool_result'))
      messages.push({ role: 'tool', tool_call_id: block.tool_use_id, content: textOf(block.content) });
    const parts = blocks.flatMap((b): Json[] =>
      b.type === 'text'
        ? [{ type: 'text', text: b.text }]
        : b.type === 'image'
          ? [{ type: 'image_url', image_url: { url: imageUrl(b) } }]
          : [],
    );
    if (parts.length === 1 && parts[0]?.type === 'text') messages.push({ role: 'user', content: parts[0].text });
    else if (parts.length > 0) messages.push({ role: 'user', content: parts });
  }
  const tools = ((body.tools ?? []) as Json[]).map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.input_schema },
  }));
  // Structured output asked for natively (`output_format`, or `output_config.format`) reads as OpenAI's `response_format`.
  const format = ((body.output_format ?? (body.output_config as Json | undefined)?.format) as Json | undefined) ?? undefined;
  const outputSchema = format?.type === 'json_schema' ? format.schema : undefined;
  const choice = body.tool_choice as Json | undefined;
  const toolChoice =
    choice?.type === 'tool'
      ? { type: 'function', function: { name: choice.name } }
      : choice?.type === 'any'
        ? 'required'
        : (choice?.type as string | undefined);
  return {
    model: body.model,
    messages,
    ...(tools.length > 0 ? { tools } : {}),
    ...(toolChoice ? { tool_choice: toolChoice } : {}),
    ...(outputSchema ? { response_format: { type: 'json_schema', json_schema: { name: 'output', schema: outputSchema } } } : {}),
    ...(typeof body.max_tokens === 'number' ? { max_tokens: body.max_tokens } : {}),
    stream: body.stream === true,
  };
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
};

/**
 * Anthropic's Messages API (`POST /v1/messages`) as the simulated upstream answers it: JSON, or
 * its named SSE events (`message_start`, `content_block_*` with `text_delta` and
 * `input_json_delta`, `message_delta`, `message_stop`), with Anthropic's error bodies (400, 401,
 * 404, 429 with `retry-after`, 500); `drop` and `stall` break a stream off after `dropAfter` /
 * `stallAfter` deltas (text or tool input), with a reset or with silence, and a JSON answer at once. With `behaviour.answer`, the scripted answer gives text and
 * `tool_use` blocks; a request that forces a tool (`tool_choice: { type: "tool" }`) gets its text
 * answer as that tool's input, as a model does when told to answer through a tool (so does one
 * that must call a tool, `any`, and is offered only one: the AI SDK's `json` tool for structured output).
 */
export function createSimulatedMessagesApi(options: SimulatedMessagesApiOptions) {
  const { models, stats } = options;
  let counter = 0;
  return function messages(res: ServerResponse, body: Json) {
    const b = { ...options.behaviour };
    const model = String(body?.model ?? 'unknown');
    const error = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
      sendJson(res, status, { type: 'error', error: { type, message } }, headers);
    if (!models.includes(model)) return error(404, 'not_found_error', `model: ${model}`);
    if (typeof body.max_tokens !== 'number') return error(400, 'invalid_request_error', 'max_tokens: Field required');
    if (b.mode === 'fail-400') return error(400, 'invalid_request_error', 'prompt is too long: 9000 tokens > 8192 maximum');
    if (b.mode === 'fail-429')
      return error(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', { 'retry-after': '1' });
    if (b.mode === 'fail-500') return error(500, 'api_error', 'Internal server error');
    if (b.mode === 'fail-401') return error(401, 'authentication_error', 'invalid x-api-key');

    const id = `msg_sim${++counter}`;
    const maxTokens = body.max_tokens;
    let answer: SimulatedAnswer;
    if (b.answer) answer = b.answer(messagesAsChatRequest(body));
    else {
      const words =
        b.content !== undefined ? (b.content.match(/\S+\s*|\s+/g) ?? []) : Array.from({ length: b.tokens }, (_, i) => `tok${i} `);
      answer = { content: words.join('') };
    }
    // Made to call a tool (the one named, or with `any` the only one offered), a model answers through it.
    const choice = body.tool_choice as Json | undefined;
    const offered = (body.tools ?? []) as Json[];
    const forced =
      choice?.type === 'tool' ? String(choice.name) : choice?.type === 'any' && offered.length === 1 ? String(offered[0]?.name) : undefined;
    if (forced && !answer.toolCalls?.length && answer.content !== undefined)
      answer = { toolCalls: [{ name: forced, arguments: answer.content }] };

    const allWords = answer.content?.match(/\S+\s*|\s+/g) ?? [];
    const words = allWords.slice(0, maxTokens);
    const calls = (answer.toolCalls ?? []).map((call, i) => ({ id: `toolu_sim${counter}_${i}`, name: call.name, json: call.arguments }));
    const stopReason = words.length < allWords.length ? 'max_tokens' : calls.length > 0 ? 'tool_use' : 'end_turn';
    const outputTokens = words.length + calls.reduce((n, c) => n + Math.ceil(c.json.length / 4), 0);
    const inputTokens = JSON.stringify(body.messages ?? []).length >> 2;
    stats.completions++;
    const content = [
      ...(words.length > 0 ? [{ type: 'text', text: words.join('') }] : []),
      ...calls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: parseJson(c.json) })),
    ];
    if (body.stream !== true) {
      // Without streaming, `drop` resets the connection at once and `stall` never answers.
      if (b.mode === 'drop') return void res.socket?.destroy();
      if (b.mode === 'stall') return;
      return sendJson(res, 200, {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content,
        stop_reason: stopReason,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: outputTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 2 },
      });
    }
    const event = (name: string, data: Json) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
    // With `drop` or `stall`, the stream breaks off after that many text deltas: the connection is
    // reset, or left open and silent.
    const cutAfter = b.mode === 'drop' ? b.dropAfter : b.mode === 'stall' ? b.stallAfter : Number.POSITIVE_INFINITY;
    let cut: number | undefined;
    let deltas = 0;
    let out = event('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: inputTokens, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 2 },
      },
    });
    out += event('ping', {});
    if (cutAfter === 0) cut = out.length;
    let index = 0;
    if (words.length > 0) {
      out += event('content_block_start', { index, content_block: { type: 'text', text: '' } });
      for (const word of words) {
        out += event('content_block_delta', { index, delta: { type: 'text_delta', text: word } });
        if (++deltas === cutAfter) cut ??= out.length;
      }
      out += event('content_block_stop', { index });
      index++;
    }
    for (const call of calls) {
      out += event('content_block_start', { index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } });
      for (let at = 0; at < call.json.length; at += 8) {
        out += event('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: call.json.slice(at, at + 8) } });
        if (++deltas === cutAfter) cut ??= out.length;
      }
      out += event('content_block_stop', { index });
      index++;
    }
    out += event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } });
    out += event('message_stop', {});
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    // Written in pieces, as a real stream arrives.
    const pieces = out.slice(0, cut).match(/[\s\S]{1,256}/g) ?? [];
    const pump = () => {
      if (res.destroyed) return;
      const piece = pieces.shift();
      if (piece === undefined) {
        if (cut === undefined) return void res.end();
        if (b.mode === 'drop') res.socket?.destroy();
        return; // stall: open and silent
      }
      res.write(piece);
      setImmediate(pump);
    };
    pump();
  };
}
