import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config';
import { createModelConnections } from './model-connections';

// OpenAI's own API lists every kind of model it has; a server at OPENAI_BASE_URL lists what it serves.
describe("OpenAI's own API", () => {
  const listed = [
    'gpt-4o',
    'gpt-4.1-mini',
    'o3-mini',
    'chatgpt-4o-latest',
    'text-embedding-3-small',
    'dall-e-3',
    'whisper-1',
    'tts-1',
    'omni-moderation-latest',
    'davinci-002',
  ];
  // Its model list, answered here: nothing leaves the machine.
  const urls: string[] = [];
  const fetchFn = (async (url: string | URL) => {
    urls.push(String(url));
    return Response.json({ object: 'list', data: listed.map((id) => ({ id, object: 'model', owned_by: 'openai' })) });
  }) as typeof fetch;

  it('offers only its chat models', async () => {
    const config = loadConfig({ cwd: '/nonexistent', env: { OPENAI_API_KEY: 'sk-test' } });
    const openai = (await createModelConnections(config, fetchFn)).find((c) => c.name === 'openai');
    const models = await openai?.listModels(new AbortController().signal);
    expect(urls.at(-1)).toBe('https://api.openai.com/v1/models');
    expect(models?.map((m) => m.id)).toEqual(['gpt-4o', 'gpt-4.1-mini', 'o3-mini', 'chatgpt-4o-latest']);
    expect(openai?.wire?.headers.authorization).toBe('Bearer sk-test');
  });

  it('offers everything another server at OPENAI_BASE_URL lists, without a key', async () => {
    const config = loadConfig({ cwd: '/nonexistent', env: { OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1' } });
    const openai = (await createModelConnections(config, fetchFn)).find((c) => c.name === 'openai');
    expect((await openai?.listModels(new AbortController().signal))?.map((m) => m.id)).toEqual(listed);
    expect(urls.at(-1)).toBe('http://127.0.0.1:8000/v1/models');
    expect(openai?.wire?.headers).toEqual({});
  });

  it('needs a key for its own base URL', () => {
    const load = () => loadConfig({ cwd: '/nonexistent', env: { OPENAI_BASE_URL: 'https://api.openai.com/v1' } });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/OPENAI_API_KEY/);
  });
});
