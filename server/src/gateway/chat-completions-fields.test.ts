import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

// The support matrix of docs/api.md, row by row, for OpenAI-wire upstreams: every field it says is
// passed through reaches the upstream exactly as the caller sent it, streaming or not, and a field
// nobody knows yet goes with them. The simulated upstream records each request as it arrived.

let t: TestServer;
let key: string;

beforeAll(async () => {
  t = await startTestServer({});
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const user = await auth.createUser({ email: 'fields@example.com', password: 'fields password 1', role: 'member' });
  key = (await auth.createApiKey(user.id, 'fields')).key;
});
afterAll(() => t.close());

const lastSent = () => t.upstream.requests.filter((r) => r.url.endsWith('/chat/completions')).at(-1)?.body as Record<string, unknown>;

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
};

/** A history with every role and what each may carry: names, tool calls with their ids, a tool result, an image. */
const richHistory = [
  { role: 'developer', content: 'Answer briefly.' },
  { role: 'system', content: [{ type: 'text', text: 'You are a weather bot.' }] },
  {
    role: 'user',
    name: 'ana',
    content: [
      { type: 'text', text: 'Weather here?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
    ],
  },
  {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
  },
  { role: 'tool', tool_call_id: 'call_1', content: 'snow' },
];

const PASSED_THROUGH: Array<[field: string, value: unknown]> = [
  ['messages', richHistory],
  ['tools', [weatherTool]],
  ['tool_choice', { type: 'function', function: { name: 'get_weather' } }],
  ['parallel_tool_calls', false],
  ['response_format', { type: 'json_object' }],
  [
    'response_format',
    { type: 'json_schema', json_schema: { name: 'w', strict: true, schema: { type: 'object', properties: { c: { type: 'number' } } } } },
  ],
  ['n', 2],
  ['logprobs', true],
  ['top_logprobs', 3],
  ['max_tokens', 50],
  ['max_completion_tokens', 60],
  ['temperature', 0.2],
  ['top_p', 0.9],
  ['stop', ['\n\n', 'END']],
  ['seed', 7],
  ['frequency_penalty', 0.5],
  ['presence_penalty', -0.5],
  ['metadata', { team: 'research' }],
  ['user', 'user-1'],
  ['store', false],
  ['service_tier', 'flex'],
  ['reasoning_effort', 'low'],
  ['logit_bias', { '50256': -100 }],
  ['prompt_cache_key', 'weather-v1'],
  ['safety_identifier', 'sid-42'],
  ['verbosity', 'low'],
  ['modalities', ['text']],
  ['prediction', { type: 'content', content: 'The weather is' }],
  ['web_search_options', { search_context_size: 'low' }],
  ['a_field_added_later', { nested: [1, 'two', null] }],
];

function call(body: Record<string, unknown>) {
  return fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
}

describe.each([false, true])('POST /v1/chat/completions (stream: %s) to an OpenAI-wire upstream', (stream) => {
  it.each(PASSED_THROUGH)('passes %s through as sent', async (field, value) => {
    const response = await call({ [field]: value, stream });
    expect(response.status).toBe(200);
    await response.text();
    const sent = lastSent();
    expect(sent[field]).toEqual(value);
    // Only what Axon owns changed: the model id, and usage asked for in a stream.
    expect(sent.model).toBe('sim-1');
    if (stream) expect(sent.stream_options).toEqual({ include_usage: true });
    else expect(sent).not.toHaveProperty('stream_options');
  });
});
