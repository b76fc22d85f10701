import type { ServerResponse } from 'node:http';
import type { SimulatedAnswer, UpstreamBehaviour } from './simulated-upstream';

type Json = Record<string, unknown>;

export interface SimulatedResponsesApiOptions {
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

const openAIError = (res: ServerResponse, status: number, message: string, type: string, param: string | null, code: string | null) =>
  sendJson(res, status, { error: { message, type, param, code } });

/** The text of Responses content: a string, or the text of its `input_text`/`output_text` parts. */
function itemText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (typeof (part as Json)?.text === 'string' ? ((part as Json).text as string) : '')).join('');
}

/** Responses items as chat messages, so that one `behaviour.answer` serves both APIs. */
function toChatMessages(instructions: unknown, items: Json[]): Json[] {
  const messages: Json[] = typeof instructions === 'string' ? [{ role: 'system', content: instructions }] : [];
  for (const item of items) {
    const type = item.type ?? 'message';
    if (type === 'message') messages.push({ role: item.role, content: itemText(item.content) });
    else if (type === 'function_call') {
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      const last = messages.at(-1);
      if (last?.role === 'assistant' && Array.isArray(last.tool_calls)) (last.tool_calls as Json[]).push(call);
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (type === 'function_call_output')
      messages.push({
        role: 'tool',
        tool_call_id: item.call_id,
        content: typeof item.output === 'string' ? item.output : itemText(item.output),
      });
  }
  return messages;
}

/**
 * OpenAI's Responses API (`POST /v1/responses`) as OpenAI answers it: a `response` object, or
 * typed SSE events (`event: response.created` … `response.completed`, each with its
 * `sequence_number`), message and function-call output items, usage with details, and
 * `previous_response_id` over the responses it made and stored (unknown ids are refused as OpenAI does).
 */
export function createSimulatedResponsesApi(options: SimulatedResponsesApiOptions) {
  const { models, behaviour, stats } = options;
  const stored = new Map<string, Json[]>();
  let counter = 0;

  return function respond(res: ServerResponse, body: Json) {
    const b = { ...behaviour };
    const model = typeof body?.model === 'string' ? body.model : 'unknown';
    if (!models.includes(model))
      return openAIError(res, 400, `The requested model '${model}' does not exist.`, 'invalid_request_error', 'model', 'model_not_found');
    if (b.mode === 'fail-400')
      return openAIError(
        res,
        400,
        'Your input exceeds the context window of this model.',
        'invalid_request_error',
        'input',
        'context_length_exceeded',
      );
    if (b.mode === 'fail-429')
      return sendJson(
        res,
        429,
        { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
        { 'retry-after': '1' },
      );
    if (b.mode === 'fail-500') return openAIError(res, 500, 'The server had an error', 'server_error', null, null);
    if (b.mode === 'fail-401') return openAIError(res, 401, 'Incorrect API key provided', 'invalid_request_error', null, 'invalid_api_key');

    const previousId = typeof body.previous_response_id === 'string' ? body.previous_response_id : null;
    const history = previousId ? stored.get(previousId) : [];
    if (!history)
      return openAIError(
        res,
        400,
        `Previous response with id '${previousId}' not found.`,
        'invalid_request_error',
        'previous_response_id',
        'previous_response_not_found',
      );
    const input: Json[] =
      typeof body.input === 'string' ? [{ type: 'message', role: 'user', content: body.input }] : ((body.input as Json[]) ?? []);
    const items = [...history, ...input];

    const n = ++counter;
    const id = `resp_sim${n}`;
    const answer: SimulatedAnswer = b.answer
      ? b.answer({ ...body, messages: toChatMessages(body.instructions, items) })
      : { content: Array.from({ length: b.tokens }, (_, i) => `tok${i} `).join('') };
    const limit = typeof body.max_output_tokens === 'number' ? body.max_output_tokens : undefined;
    let words: string[] = answer.content?.match(/\S+\s*|\s+/g) ?? [];
    const truncated = limit !== undefined && words.length > limit;
    if (truncated) words = words.slice(0, limit);
    const text = words.join('');
    const calls = truncated ? [] : (answer.toolCalls ?? []);

    const message = answer.content !== undefined && {
      id: `msg_sim${n}`,
      type: 'message',
      status: truncated ? 'incomplete' : 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
    };
    const functionCalls = calls.map((call, i) => ({
      id: `fc_sim${n}_${i}`,
      type: 'function_call',
      status: 'completed',
      call_id: `call_sim${n}_${i}`,
      name: call.name,
      arguments: call.arguments,
    }));
    const output: Json[] = [...(message ? [message] : []), ...functionCalls];
    const inputTokens = JSON.stringify(items).length >> 2;
    const outputTokens = words.length + calls.reduce((a, c) => a + Math.ceil(c.arguments.length / 4), 0);
    const usage = {
      input_tokens: inputTokens,
      input_tokens_details: { cached_tokens: 3 },
      output_tokens: outputTokens,
      output_tokens_details: { reasoning_tokens: 2 },
      total_tokens: inputTokens + outputTokens,
    };
    const store = body.store !== false;
    if (store) {
      stored.set(id, [...items, ...output]);
      // Bounded, for long benchmark runs: the oldest responses are forgotten first.
      if (stored.size > 10_000) stored.delete(stored.keys().next().value as string);
    }
    stats.completions++;

    const base = {
      id,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: limit ?? null,
      model,
      parallel_tool_calls: body.parallel_tool_calls ?? true,
      previous_response_id: previousId,
      reasoning: { effort: null, summary: null },
      store,
      temperature: body.temperature ?? 1,
      text: body.text ?? { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto',
      tools: body.tools ?? [],
      top_p: body.top_p ?? 1,
      truncation: 'disabled',
      user: null,
      metadata: body.metadata ?? {},
    };
    const final = {
      ...base,
      status: truncated ? 'incomplete' : 'completed',
      incomplete_details: truncated ? { reason: 'max_output_tokens' } : null,
      output,
      usage,
    };
    if (!body.stream) return sendJson(res, 200, final);

    let sequence = 0;
    let out = '';
    const event = (type: string, data: Json) => {
      out += `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: sequence++, ...data })}\n\n`;
    };
    const pending = { ...base, status: 'in_progress', output: [], usage: null };
    event('response.created', { response: pending });
    event('response.in_progress', { response: pending });
    output.forEach((item, outputIndex) => {
      if (item.type === 'message') {
        event('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', content: [] } });
        const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
        event('response.content_part.added', { item_id: item.id, output_index: outputIndex, content_index: 0, part });
        for (const word of words)
          event('response.output_text.delta', { item_id: item.id, output_index: outputIndex, content_index: 0, delta: word, logprobs: [] });
        event('response.output_text.done', { item_id: item.id, output_index: outputIndex, content_index: 0, text, logprobs: [] });
        event('response.content_part.done', { item_id: item.id, output_index: outputIndex, content_index: 0, part: { ...part, text } });
      } else {
        const args = String(item.arguments);
        event('response.output_item.added', { output_index: outputIndex, item: { ...item, status: 'in_progress', arguments: '' } });
        for (let at = 0; at < args.length; at += 8)
          event('response.function_call_arguments.delta', { item_id: item.id, output_index: outputIndex, delta: args.slice(at, at + 8) });
        event('response.function_call_arguments.done', { item_id: item.id, output_index: outputIndex, name: item.name, arguments: args });
      }
      event('response.output_item.done', { output_index: outputIndex, item });
    });
    event(truncated ? 'response.incomplete' : 'response.completed', { response: final });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(out);
  };
}
