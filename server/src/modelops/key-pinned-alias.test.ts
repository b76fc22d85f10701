import type { ApiKey, CreatedApiKey } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { modelForKey } from './key-pinned-model';

describe('modelForKey', () => {
  it('uses a pinned alias version for the alias named without a version, or for no model', () => {
    expect(modelForKey('chat-x', 'chat-x@2')).toBe('chat-x@2');
    expect(modelForKey(undefined, 'chat-x@2')).toBe('chat-x@2');
    expect(modelForKey('chat-x@1', 'chat-x@2')).toBe('chat-x@1');
    expect(modelForKey('chat-y', 'chat-x@2')).toBe('chat-y');
    expect(modelForKey('sim/sim-1', 'chat-x@2')).toBe('sim/sim-1');
  });

  it('uses any other pin only when the request names no model', () => {
    expect(modelForKey(undefined, 'sim/sim-2')).toBe('sim/sim-2');
    expect(modelForKey('sim/sim-1', 'sim/sim-2')).toBe('sim/sim-1');
    expect(modelForKey(undefined, 'chat-x')).toBe('chat-x');
    expect(modelForKey('chat-x@1', 'chat-x')).toBe('chat-x@1');
    expect(modelForKey('chat-x', null)).toBe('chat-x');
    expect(modelForKey(undefined, undefined)).toBeUndefined();
  });
});

let t: TestServer;
let web: WebClient;

beforeAll(async () => {
  t = await startTestServer({
    overrides: {
      'localModel.wordDelayMs': 0,
      aliases: { 'chat-x': { versions: [{ model: 'sim/sim-1' }, { model: 'sim/sim-2' }], policy: { type: 'fixed', version: 1 } } },
    },
  });
  web = new WebClient(t.url);
  await web.setup('admin@example.com', 'admin password 1');
});
afterAll(async () => {
  await t?.close();
});

const createKey = (body: Record<string, unknown>) => web.json<CreatedApiKey & { errors?: unknown }>('POST', '/api/keys', body);

/** Asks for a chat completion with the key (naming `model` if given); resolves with the upstream model that was asked. */
async function upstreamModelFor(key: string, model?: string): Promise<string | undefined> {
  const before = t.upstream.requests.length;
  const response = await fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...(model ? { model } : {}), messages: [{ role: 'user', content: 'hello' }] }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  await response.text();
  const sent = t.upstream.requests.slice(before).find((r) => r.url.includes('/chat/completions'));
  return (sent?.body as { model?: string } | undefined)?.model;
}

describe('an API key that pins a model', () => {
  it('is stored and returned with its pin', async () => {
    const created = await createKey({ name: 'pinned', model: 'chat-x@2' });
    expect(created.status).toBe(201);
    expect(created.body.apiKey.model).toBe('chat-x@2');
    const listed = await web.json<{ items: ApiKey[] }>('GET', '/api/keys');
    expect(listed.body.items.find((k) => k.id === created.body.apiKey.id)?.model).toBe('chat-x@2');
    const unpinned = await createKey({ name: 'unpinned' });
    expect(unpinned.body.apiKey.model).toBeNull();
  });

  it('gets its pinned alias version for the alias named without a version; an unpinned key gets the policy’s', async () => {
    const pinned = (await createKey({ name: 'on v2', model: 'chat-x@2' })).body.key;
    const unpinned = (await createKey({ name: 'follows the alias' })).body.key;
    expect(await upstreamModelFor(pinned, 'chat-x')).toBe('sim-2');
    expect(await upstreamModelFor(pinned)).toBe('sim-2');
    expect(await upstreamModelFor(unpinned, 'chat-x')).toBe('sim-1');
    // A request naming a version, or another model, keeps it.
    expect(await upstreamModelFor(pinned, 'chat-x@1')).toBe('sim-1');
    expect(await upstreamModelFor(pinned, 'sim/sim-1')).toBe('sim-1');
  });

  it('gets its pinned alias version through /v1/responses and /v1/messages too', async () => {
    const key = (await createKey({ name: 'on v2 everywhere', model: 'chat-x@2' })).body.key;
    const asked = async (path: string, body: Record<string, unknown>) => {
      const before = t.upstream.requests.length;
      const response = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status, await response.clone().text()).toBe(200);
      await response.text();
      return t.upstream.requests.slice(before).map((r) => (r.body as { model?: string } | undefined)?.model);
    };
    expect(await asked('/v1/responses', { model: 'chat-x', input: 'hello' })).toEqual(['sim-2']);
    expect(await asked('/v1/messages', { model: 'chat-x', max_tokens: 32, messages: [{ role: 'user', content: 'hello' }] })).toEqual([
      'sim-2',
    ]);
  });

  it('gets a pinned catalog model when the request names none', async () => {
    const key = (await createKey({ name: 'on sim-2', model: 'sim/sim-2' })).body.key;
    expect(await upstreamModelFor(key)).toBe('sim-2');
    expect(await upstreamModelFor(key, 'sim/sim-1')).toBe('sim-1');
  });

  it('is refused at creation when the pin names no offered model or alias version', async () => {
    for (const model of ['chat-x@9', 'no-such-alias', 'sim/no-such-model']) {
      const refused = await createKey({ name: 'bad pin', model });
      expect(refused.status, model).toBe(400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'body.model' })]);
    }
    expect((await createKey({ name: 'too long', model: 'x'.repeat(201) })).status).toBe(400);
    const listed = await web.json<{ items: ApiKey[] }>('GET', '/api/keys');
    expect(listed.body.items.some((k) => k.name === 'bad pin' || k.name === 'too long')).toBe(false);
  });
});
