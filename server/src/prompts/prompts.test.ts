import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../auth/auth-service';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
let builder: WebClient;
let member: WebClient;
let memberKey: string;
let templateId: string;

beforeAll(async () => {
  t = await startTestServer();
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  await auth.createUser({ email: 'builder@example.com', password: 'builder password 1', role: 'builder' });
  const m = await auth.createUser({ email: 'member@example.com', password: 'member password 1', role: 'member' });
  memberKey = (await auth.createApiKey(m.id, 'app')).key;
  builder = new WebClient(t.url);
  await builder.login('builder@example.com', 'builder password 1');
  member = new WebClient(t.url);
  await member.login('member@example.com', 'member password 1');
});
afterAll(() => t.close());

const V1 = {
  name: 'support',
  description: 'Customer support tone',
  system: 'You help customers of {{ company }}. Answer in {{ language }}.',
  message: 'Customer question ({{ tier }} tier): {{ input }}',
  variables: [
    { name: 'company', type: 'string' },
    { name: 'language', type: 'string', required: false, default: 'English' },
    { name: 'tier', type: 'string', required: false, default: 'standard' },
  ],
};

describe('prompt templates', () => {
  it('are created by builders only, validated and checked for syntax', async () => {
    expect((await member.json('POST', '/api/prompts', V1)).status).toBe(403);
    expect((await builder.json('POST', '/api/prompts', { ...V1, name: 'broken', system: 'Hello {{ company ' })).status).toBe(400);
    expect((await builder.json('POST', '/api/prompts', { ...V1, name: 'Bad Name' })).status).toBe(400);
    const created = await builder.json<{ id: string; activeVersion: number }>('POST', '/api/prompts', V1);
    expect(created.status).toBe(201);
    expect(created.body.activeVersion).toBe(1);
    templateId = created.body.id;
    expect((await builder.json('POST', '/api/prompts', V1)).status).toBe(409);
  });

  it('keep immutable versions; one is active, others can be tried, and a rollback is an activation', async () => {
    const v2 = await builder.json<{ version: number }>('POST', `/api/prompts/${templateId}/versions`, {
      ...V1,
      name: undefined,
      description: undefined,
      system: 'You are the {{ company }} assistant. Be brief.',
      note: 'shorter',
    });
    expect(v2.status).toBe(201);
    expect(v2.body.version).toBe(2);
    let template = await member.json<{ activeVersion: number; versions: Array<{ version: number }> }>('GET', `/api/prompts/${templateId}`);
    expect(template.body.activeVersion).toBe(1);
    expect(template.body.versions.map((v) => v.version)).toEqual([2, 1]);
    const tried = await member.json<{ system: string; message: string }>('POST', `/api/prompts/${templateId}/render`, {
      version: 2,
      variables: { company: 'Acme' },
      input: 'Where is my order?',
    });
    expect(tried.body).toMatchObject({
      system: 'You are the Acme assistant. Be brief.',
      message: 'Customer question (standard tier): Where is my order?',
    });
    const missing = await member.json<{ errors: Array<{ path: string }> }>('POST', `/api/prompts/${templateId}/render`, { variables: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0]?.path).toBe('variables.company');

    expect((await builder.json('POST', `/api/prompts/${templateId}/activate`, { version: 2 })).status).toBe(200);
    expect((await builder.json('POST', `/api/prompts/${templateId}/activate`, { version: 1 })).status).toBe(200); // roll back
    template = await member.json('GET', `/api/prompts/${templateId}`);
    expect(template.body.activeVersion).toBe(1);
    expect((await builder.json('POST', `/api/prompts/${templateId}/activate`, { version: 9 })).status).toBe(404);

    const db = new Database(join(t.dataDir, 'axon.db'));
    expect(() => db.prepare("UPDATE prompt_template_versions SET system = 'x' WHERE version = 1").run()).toThrow(/immutable/);
    db.close();
    const audit = await t.server.store.audit.list({ limit: 10, action: 'prompt.activated' });
    expect(audit.map((e) => JSON.parse(e.details))).toEqual([
      { name: 'support', from: 2, to: 1 },
      { name: 'support', from: 1, to: 2 },
    ]);
  });

  it('apply to /v1 requests named in metadata or a header, with metadata as variables', async () => {
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: memberKey, maxRetries: 0 });
    await client.chat.completions.create({
      model: 'sim/sim-1',
      messages: [{ role: 'user', content: 'Where is my order?' }],
      metadata: { prompt: 'support', company: 'Acme', tier: 'gold' },
    });
    let sent = t.upstream.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]).toEqual({ role: 'system', content: 'You help customers of Acme. Answer in English.' });
    expect(sent.messages.at(-1)?.content).toBe('Customer question (gold tier): Where is my order?');

    await client.chat.completions.create(
      { model: 'sim/sim-1', messages: [{ role: 'user', content: 'Hi' }], metadata: { company: 'Acme' } },
      { headers: { 'x-axon-prompt': 'support@2' } },
    );
    sent = t.upstream.requests.at(-1)?.body as typeof sent;
    expect(sent.messages[0]?.content).toBe('You are the Acme assistant. Be brief.');

    await expect(
      client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'x' }], metadata: { prompt: 'support' } }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(
      client.chat.completions.create({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'x' }], metadata: { prompt: 'nope' } }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('apply to every request of a key bound to a template, unless the request names another', async () => {
    const m = await t.server.store.users.findByEmail('member@example.com');
    const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
    const bound = await auth.createApiKey(m?.id as string, 'bound', { prompt: 'support' });
    expect(bound.apiKey.prompt).toBe('support');
    const client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: bound.key, maxRetries: 0 });
    await client.chat.completions.create({
      model: 'sim/sim-1',
      messages: [{ role: 'user', content: 'Hello' }],
      metadata: { company: 'Initech' },
    });
    let sent = t.upstream.requests.at(-1)?.body as { messages: Array<{ role: string; content: string }> };
    expect(sent.messages[0]?.content).toMatch(/Initech/);
    await client.chat.completions.create(
      { model: 'sim/sim-1', messages: [{ role: 'user', content: 'Hello' }], metadata: { company: 'Acme' } },
      { headers: { 'x-axon-prompt': 'support@2' } },
    );
    sent = t.upstream.requests.at(-1)?.body as typeof sent;
    expect(sent.messages[0]?.content).toBe('You are the Acme assistant. Be brief.');
    // Binding to a template that does not exist is refused when the key is made.
    const refused = await member.json('POST', '/api/keys', { name: 'x', prompt: 'no-such-template' });
    expect(refused.status).toBe(400);
  });
});
