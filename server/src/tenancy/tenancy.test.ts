import type { Collection, Organization, Problem } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';

let t: TestServer;
/** The first organisation's admin (runs the installation), and two organisations' people. */
let root: WebClient;
let homeMember: WebClient;
let acmeAdmin: WebClient;
let acmeMember: WebClient;
let acme: Organization;
const keys = { home: '', acme: '', acme2: '' };

const completion = (key: string, content = 'hello there') =>
  fetch(`${t.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content }] }),
  });

async function signedIn(email: string, password: string): Promise<WebClient> {
  const client = new WebClient(t.url);
  await client.login(email, password);
  return client;
}

const newKey = async (client: WebClient) =>
  (await client.json<{ key: string }>('POST', '/api/keys', { name: 'script', scopes: ['chat', 'embeddings'] })).body.key;

beforeAll(async () => {
  t = await startTestServer({ overrides: { prices: { 'sim/sim-1': { input: 1, output: 1 } } } });
  root = new WebClient(t.url);
  await root.setup('root@example.com', 'root password 1');
  acme = (await root.json<Organization>('POST', '/api/admin/orgs', { slug: 'acme', name: 'Acme' })).body;
  for (const [email, role, org] of [
    ['member@example.com', 'member', undefined],
    ['admin@acme.test', 'admin', 'acme'],
    ['member@acme.test', 'member', 'acme'],
  ] as const) {
    const created = await root.json('POST', '/api/admin/users', { email, password: 'a long password', role, ...(org ? { org } : {}) });
    expect(created.status).toBe(201);
  }
  homeMember = await signedIn('member@example.com', 'a long password');
  acmeAdmin = await signedIn('admin@acme.test', 'a long password');
  acmeMember = await signedIn('member@acme.test', 'a long password');
  keys.home = await newKey(homeMember);
  keys.acme = await newKey(acmeMember);
  keys.acme2 = await newKey(acmeAdmin);
});
afterAll(() => t.close());

describe('organisations keep their data apart', () => {
  it('tells each person their organisation', async () => {
    expect((await acmeMember.json<{ organization: { slug: string } }>('GET', '/api/auth/session')).body.organization.slug).toBe('acme');
    expect((await homeMember.json<{ organization: { slug: string } }>('GET', '/api/auth/session')).body.organization.slug).toBe('default');
  });

  it('keeps collections, even organisation-wide ones, inside the organisation', async () => {
    const shared = (await homeMember.json<Collection>('POST', '/api/collections', { name: 'Handbook', visibility: 'organisation' })).body;
    expect((await acmeMember.json<{ items: Collection[] }>('GET', '/api/collections')).body.items.map((c) => c.id)).not.toContain(
      shared.id,
    );
    expect((await acmeMember.json('GET', `/api/collections/${shared.id}`)).status).toBe(404);
    expect((await root.json<{ items: Collection[] }>('GET', '/api/collections')).body.items.map((c) => c.id)).toContain(shared.id);
    const asked = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }], collections: [shared.id] }),
    });
    expect(asked.status).toBe(404);
    // Sharing with someone of another organisation reads as "no such account".
    const share = await homeMember.json<Problem>('PUT', `/api/collections/${shared.id}/members`, {
      members: [{ email: 'member@acme.test', role: 'viewer' }],
    });
    expect(share.status).toBe(400);
  });

  it('keeps prompt templates apart, names included', async () => {
    const body = { name: 'greeting', system: 'Be brief.', message: '{{ input }}' };
    expect((await root.json('POST', '/api/prompts', body)).status).toBe(201);
    expect((await acmeAdmin.json<{ items: unknown[] }>('GET', '/api/prompts')).body.items).toHaveLength(0);
    expect((await acmeAdmin.json('GET', '/api/prompts/greeting')).status).toBe(404);
    expect((await acmeAdmin.json('POST', '/api/prompts', { ...body, system: 'Be formal.' })).status).toBe(201);
    const response = await fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.acme}`, 'content-type': 'application/json', 'x-axon-prompt': 'greeting' },
      body: JSON.stringify({ model: 'sim/sim-1', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    const sent = t.upstream.requests.at(-1)?.body as { messages: unknown[] } | undefined;
    expect(sent?.messages[0]).toEqual({ role: 'system', content: 'Be formal.' });
  });

  it('shows an organisation’s admins only its accounts and keys, and lets them change nothing else', async () => {
    const users = (await acmeAdmin.json<{ items: Array<{ email: string; id: string }> }>('GET', '/api/admin/users')).body.items;
    expect(users.map((u) => u.email).sort()).toEqual(['admin@acme.test', 'member@acme.test']);
    const homeUsers = (await root.json<{ items: Array<{ email: string; id: string }> }>('GET', '/api/admin/users')).body.items;
    const member = homeUsers.find((u) => u.email === 'member@example.com');
    expect((await acmeAdmin.json('PATCH', `/api/admin/users/${member?.id}`, { role: 'admin' })).status).toBe(404);
    const acmeKeys = (await acmeAdmin.json<{ items: Array<{ id: string; userEmail: string }> }>('GET', '/api/admin/keys')).body.items;
    expect(new Set(acmeKeys.map((k) => k.userEmail))).toEqual(new Set(['admin@acme.test', 'member@acme.test']));
    const homeKeys = (await root.json<{ items: Array<{ id: string; userEmail: string }> }>('GET', '/api/admin/keys')).body.items;
    expect(homeKeys.map((k) => k.userEmail)).toEqual(['member@example.com']);
    expect((await acmeAdmin.json('DELETE', `/api/admin/keys/${homeKeys[0]?.id}`)).status).toBe(404);
    expect((await completion(keys.home)).status).toBe(200);
    // Only the first organisation's admins manage organisations.
    expect((await acmeAdmin.json('GET', '/api/admin/orgs')).status).toBe(403);
    expect(
      (await acmeAdmin.json('POST', '/api/admin/users', { email: 'x@y.test', password: 'a long password', org: 'default' })).status,
    ).toBe(404);
  });

  it('keeps usage, audit events and the prompt log per organisation', async () => {
    await completion(keys.acme, 'my email is jane@acme.test');
    await completion(keys.home, 'home question');
    const usage = await acmeAdmin.json<{ rows: Array<{ key: string }> }>('GET', '/api/admin/usage?groupBy=user');
    expect(usage.body.rows.map((r) => r.key).every((k) => k.endsWith('@acme.test'))).toBe(true);
    expect((await acmeAdmin.json('GET', '/api/admin/usage?org=all')).status).toBe(403);
    const all = await root.json<{ rows: Array<{ key: string }> }>('GET', '/api/admin/usage?org=all&groupBy=organisation');
    expect(all.body.rows.map((r) => r.key).sort()).toEqual(['acme', 'default']);

    const audit = await acmeAdmin.json<{ items: Array<{ orgId: string | null; action: string }> }>('GET', '/api/admin/audit');
    expect(audit.body.items.length).toBeGreaterThan(0);
    expect(audit.body.items.every((e) => e.orgId === acme.id)).toBe(true);
    const rootAudit = await root.json<{ items: Array<{ orgId: string | null }> }>('GET', '/api/admin/audit?limit=500');
    expect(rootAudit.body.items.some((e) => e.orgId === acme.id)).toBe(true);

    const log = await acmeAdmin.json<{ items: Array<{ prompt: string }> }>('GET', '/api/admin/prompt-log');
    expect(log.body.items.some((row) => row.prompt.includes('<EMAIL_1>'))).toBe(true);
    expect(log.body.items.some((row) => row.prompt.includes('home question'))).toBe(false);
  });

  it('follows the organisation’s own prompt-log mode', async () => {
    expect((await acmeAdmin.json('PATCH', '/api/org', { promptLogMode: 'off' })).status).toBe(200);
    await completion(keys.acme, 'not to be kept');
    const log = await acmeAdmin.json<{ mode: string; items: Array<{ prompt: string }> }>('GET', '/api/admin/prompt-log');
    expect(log.body.mode).toBe('off');
    expect(log.body.items.some((row) => row.prompt.includes('not to be kept'))).toBe(false);
  });
});

describe('limits and budgets per organisation', () => {
  it('holds the organisation’s requests per minute across its people, and no one else', async () => {
    const set = await root.json('PATCH', `/api/admin/orgs/${acme.id}`, { limits: { rpm: 4 } });
    expect(set.status).toBe(200);
    // Two people of the organisation, at once; the other organisation is not counted.
    const statuses = await Promise.all([
      ...Array.from({ length: 3 }, () => completion(keys.acme).then((r) => r.status)),
      ...Array.from({ length: 3 }, () => completion(keys.acme2).then((r) => r.status)),
      ...Array.from({ length: 3 }, () => completion(keys.home).then((r) => r.status)),
    ]);
    expect(statuses.slice(0, 6).filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.slice(0, 6).filter((s) => s === 429)).toHaveLength(2);
    expect(statuses.slice(6)).toEqual([200, 200, 200]);
    const refused = await completion(keys.acme);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/requests per minute for your organisation/);
    const audit = await root.json<{ items: Array<{ action: string }> }>('GET', '/api/admin/audit?action=limits.changed');
    expect(audit.body.items).toHaveLength(1);
  });

  it('refuses calls once the organisation’s daily budget is spent', async () => {
    await root.json('PATCH', `/api/admin/orgs/${acme.id}`, { limits: { dailyBudgetUsd: 0.000001 } });
    const refused = await completion(keys.acme);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/daily cost budget for your organisation/);
    expect((await completion(keys.home)).status).toBe(200);
  });

  it('moves an account to another organisation with what it may see', async () => {
    const homeUsers = (await root.json<{ items: Array<{ email: string; id: string }> }>('GET', '/api/admin/users')).body.items;
    const member = homeUsers.find((u) => u.email === 'member@example.com');
    expect((await root.json('PUT', `/api/admin/users/${member?.id}/org`, { org: 'acme' })).status).toBe(200);
    expect((await homeMember.json<{ organization: { slug: string } }>('GET', '/api/auth/session')).body.organization.slug).toBe('acme');
    expect((await homeMember.json<{ items: unknown[] }>('GET', '/api/prompts')).body.items).toHaveLength(1);
  });
});
