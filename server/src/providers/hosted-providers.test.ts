import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

// The hosted providers' AI SDK clients, pointed at the simulated upstream speaking their wire formats.
let t: TestServer;
let client: OpenAI;

beforeAll(async () => {
  t = await startTestServer({
    env: {
      OPENAI_API_KEY: 'sk-test-openai',
      OPENAI_MODELS: 'sim-1',
      AZURE_OPENAI_API_KEY: 'azure-test-key',
      AZURE_OPENAI_DEPLOYMENTS: 'sim-2',
      ANTHROPIC_API_KEY: 'sk-ant-test',
      ANTHROPIC_MODELS: 'sim-1',
    },
    upstreamEnv: (url) => ({
      OPENAI_BASE_URL: url,
      AZURE_OPENAI_BASE_URL: `${url.replace(/\/v1$/, '')}/openai/v1`,
      ANTHROPIC_BASE_URL: url,
    }),
  });
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 1000 });
  const user = await auth.createUser({ email: 'p@example.com', password: 'provider test 1', role: 'member' });
  client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: (await auth.createApiKey(user.id, 'k')).key, maxRetries: 0 });
});
afterAll(() => t.close());

const last = () => t.upstream.requests.at(-1) as { url: string; headers: Record<string, string>; body: Record<string, unknown> };

describe('hosted providers through the AI SDK', () => {
  it('lists each configured provider with its models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(['openai/sim-1', 'azure/sim-2', 'anthropic/sim-1', 'sim/sim-1', 'local/extractive']));
  });

  it.each([
    ['openai/sim-1', '/v1/chat/completions', 'authorization', 'Bearer sk-test-openai'],
    ['azure/sim-2', '/openai/v1/chat/completions', 'api-key', 'azure-test-key'],
    ['anthropic/sim-1', '/v1/messages', 'x-api-key', 'sk-ant-test'],
  ])('streams %s from the provider wire format', async (model, path, header, value) => {
    t.upstream.set({ tokens: 6, mode: 'ok' });
    const stream = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 50,
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('tok0 tok1 tok2 tok3 tok4 tok5 ');
    expect(usage?.completion_tokens).toBe(6);
    expect(last().url.split('?')[0]).toBe(path);
    expect(last().headers[header]).toBe(value);
  });

  it.each(['openai/sim-1', 'azure/sim-2', 'anthropic/sim-1'])('answers %s without streaming', async (model) => {
    t.upstream.set({ tokens: 3, mode: 'ok' });
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'brief' },
        { role: 'user', content: 'hi' },
      ],
      max_tokens: 2,
    });
    expect(completion.choices[0]?.message.content).toBe('tok0 tok1 ');
    expect(completion.choices[0]?.finish_reason).toBe('length');
  });

  it.each(['openai/sim-1', 'anthropic/sim-1'])('passes a provider 429 from %s on as a 429 with Retry-After', async (model) => {
    t.upstream.set({ mode: 'fail-429' });
    const error = (await client.chat.completions
      .create({ model, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e) => e)) as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
    t.upstream.set({ mode: 'ok' });
  });
});
