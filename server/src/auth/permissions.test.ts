import type { Role } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_ORG_ID } from '../store';
import { WebClient } from '../testing/http-client';
import { startTestServer, type TestServer } from '../testing/test-server';
import { createAuthService } from './auth-service';
import { can, PERMISSIONS, ROLE_PERMISSIONS } from './permissions';

let t: TestServer;
/** The four roles in the first organisation, and an admin of another organisation. */
type Who = Role | 'tenant-admin';
const clients = {} as Record<Who, WebClient>;
const keys = {} as Record<Who, string>;
const accounts = {} as Record<Who, { role: Role; orgId: string }>;

beforeAll(async () => {
  t = await startTestServer();
  clients.admin = new WebClient(t.url);
  await clients.admin.setup('admin@example.com', 'admin password 1');
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  for (const role of ['builder', 'member', 'auditor'] as const) {
    const user = await auth.createUser({ email: `${role}@example.com`, password: `${role} password 1`, role });
    clients[role] = new WebClient(t.url);
    await clients[role].login(`${role}@example.com`, `${role} password 1`);
    keys[role] = (await auth.createApiKey(user.id, 'matrix', { scopes: ['chat', 'embeddings', 'admin'] })).key;
  }
  const admin = await t.server.store.users.findByEmail('admin@example.com');
  keys.admin = (await auth.createApiKey(admin?.id as string, 'matrix', { scopes: ['chat', 'embeddings', 'admin'] })).key;
  for (const role of ['admin', 'builder', 'member', 'auditor'] as const) accounts[role] = { role, orgId: HOME_ORG_ID };
  const acme = await t.server.store.organizations.create({ slug: 'acme', name: 'Acme', limits: {}, promptLogMode: null });
  const tenantAdmin = await auth.createUser({ email: 'admin@acme.test', password: 'tenant password 1', role: 'admin', orgId: acme.id });
  accounts['tenant-admin'] = { role: 'admin', orgId: acme.id };
  clients['tenant-admin'] = new WebClient(t.url);
  await clients['tenant-admin'].login('admin@acme.test', 'tenant password 1');
  keys['tenant-admin'] = (await auth.createApiKey(tenantAdmin.id, 'matrix', { scopes: ['chat', 'embeddings', 'admin'] })).key;
});
afterAll(() => t.close());

/** Each route and the permission it needs (`signed-in`: any role). */
const ROUTES: Array<[method: string, path: string, needs: 'signed-in' | (typeof PERMISSIONS)[number]]> = [
  ['GET', '/api/conversations', 'chat'],
  ['POST', '/api/conversations', 'chat'],
  ['GET', '/api/models', 'chat'],
  ['GET', '/api/collections', 'chat'],
  ['POST', '/api/collections', 'chat'],
  ['GET', '/v1/models', 'chat'],
  ['POST', '/v1/chat/completions', 'chat'],
  ['POST', '/v1/embeddings', 'chat'],
  ['GET', '/api/keys', 'signed-in'],
  ['POST', '/api/auth/logout', 'signed-in'],
  ['GET', '/api/admin/users', 'users:manage'],
  ['GET', '/api/admin/keys', 'users:manage'],
  ['GET', '/api/admin/usage', 'usage:read'],
  ['GET', '/api/admin/usage/export', 'usage:read'],
  ['GET', '/api/admin/prompt-log', 'audit:read'],
  ['GET', '/api/prompts', 'chat'],
  ['POST', '/api/prompts', 'prompts:manage'],
  ['GET', '/api/admin/audit', 'audit:read'],
  ['GET', '/api/admin/audit/export', 'audit:read'],
  ['GET', '/api/admin/audit/verify', 'audit:read'],
  ['GET', '/api/org', 'signed-in'],
  ['PATCH', '/api/org', 'users:manage'],
  ['POST', '/api/admin/users', 'users:manage'],
  ['GET', '/api/admin/orgs', 'orgs:manage'],
  ['POST', '/api/admin/orgs', 'orgs:manage'],
  ['PATCH', '/api/admin/orgs/none', 'orgs:manage'],
  ['GET', '/api/admin/orgs/none/users', 'orgs:manage'],
  ['PUT', '/api/admin/users/none/org', 'orgs:manage'],
];

describe('permission matrix', () => {
  it('gives each role its permissions: auditors read audit and usage only', () => {
    expect([...ROLE_PERMISSIONS.admin]).toEqual(PERMISSIONS.filter((p) => p !== 'orgs:manage'));
    expect([...ROLE_PERMISSIONS.auditor].sort()).toEqual(['audit:read', 'usage:read']);
    const home = (role: Role) => ({ role, orgId: HOME_ORG_ID });
    expect(can(home('member'), 'chat')).toBe(true);
    expect(can(home('member'), 'users:manage')).toBe(false);
    expect(can(home('builder'), 'prompts:manage')).toBe(true);
    expect(can(home('auditor'), 'chat')).toBe(false);
    expect(can(home('admin'), 'orgs:manage')).toBe(true);
    expect(can({ role: 'admin', orgId: 'org_other' }, 'orgs:manage')).toBe(false);
    expect(can({ role: 'admin', orgId: 'org_other' }, 'users:manage')).toBe(true);
  });

  for (const who of ['admin', 'builder', 'member', 'auditor', 'tenant-admin'] as const) {
    it(`holds for ${who}, by session and by API key`, async () => {
      for (const [method, path, needs] of ROUTES) {
        if (path === '/api/auth/logout') continue; // would end the session the other rows use
        const allowed = needs === 'signed-in' || can(accounts[who], needs);
        const body = method === 'GET' ? undefined : path === '/api/collections' ? { name: `m-${who}-${Math.random()}` } : {};
        const bySession = await clients[who].request(method, path, body);
        const byKey = await fetch(`${t.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${keys[who]}`, 'content-type': 'application/json' },
          ...(body ? { body: JSON.stringify(body) } : {}),
        });
        for (const status of [bySession.status, byKey.status]) {
          if (allowed) expect(status, `${who} ${method} ${path}`).not.toBe(403);
          else expect(status, `${who} ${method} ${path}`).toBe(403);
        }
      }
    });
  }

  it('answers 401 to anonymous callers on every non-public route', async () => {
    for (const [method, path] of ROUTES) {
      const response = await fetch(`${t.url}${path}`, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
  });
});
