import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLERS, type Caller, type RegisteredRoute, type SecurityWorld, startSecurityWorld, type WorldObjects } from './security-world';

/**
 * What a caller gets from a route:
 * - `public`: anyone passes the guard, anonymous callers included (anything but 401/403);
 * - `deny`: 401 for anonymous callers, 403 for everyone else;
 * - `allow`: anything but 401/403 (a 400 for the matrix's placeholder body is fine);
 * - `own-org-only`: the route names an object of the first organisation, which reads as missing (404).
 */
type Outcome = 'public' | 'deny' | 'allow' | 'own-org-only';
const CODES: Record<string, Outcome> = { P: 'public', D: 'deny', A: 'allow', O: 'own-org-only' };

interface MatrixRow {
  /** The route's `config.access` (routes that name none need `chat`). */
  access: string;
  expect: Record<Caller, Outcome>;
  /** The object whose id fills `:id` (or the model that fills `*`). */
  target?: keyof WorldObjects | 'model' | 'unknown';
  /** The body sent on writes; `{}` when not given (enough to pass or fail the guard). */
  body?: unknown;
}

/** One letter per caller, in the order of the columns below. */
function row(access: string, outcomes: string, options: Omit<MatrixRow, 'access' | 'expect'> = {}): MatrixRow {
  const letters = outcomes.split(/\s+/);
  if (letters.length !== CALLERS.length) throw new Error(`"${outcomes}" needs ${CALLERS.length} outcomes`);
  const expectation = Object.fromEntries(CALLERS.map((caller, i) => [caller, CODES[letters[i] as string]])) as MatrixRow['expect'];
  return { access, expect: expectation, ...options };
}

/** Every route of the app, by method and URL pattern; `ALL` stands for every method Fastify's `app.all` registers. */
const MATRIX: Record<string, MatrixRow> = {
  // Columns: anonymous, other organisation's admin, member, builder, auditor, admin, admin-scope key, chat-scope key.
  'GET /metrics': row('public', 'D D D D D A A D'),
  'GET /healthz': row('public', 'P P P P P P P P'),
  'GET /readyz': row('public', 'P P P P P P P P'),
  'GET /api/auth/session': row('public', 'P P P P P P P P'),
  'GET /api/auth/sso/:id/start': row('public', 'P P P P P P P P', { target: 'unknown' }),
  'GET /api/auth/sso/:id/callback': row('public', 'P P P P P P P P', { target: 'unknown' }),
  'POST /api/auth/setup': row('public', 'P P P P P P P P'),
  'POST /api/auth/login': row('public', 'P P P P P P P P'),
  'POST /api/auth/password-reset': row('public', 'P P P P P P P P'),
  'GET /api/auth/sessions': row('signed-in', 'D A A A A A A D'),
  'DELETE /api/auth/sessions/:id': row('signed-in', 'D O A A A A A D', { target: 'session' }),
  'POST /api/auth/logout': row('signed-in', 'D A A A A A A D'),
  'GET /api/keys': row('signed-in', 'D A A A A A A D'),
  'POST /api/keys': row('signed-in', 'D A A A A A A D'),
  'DELETE /api/keys/:id': row('signed-in', 'D O A A A A A D', { target: 'ownKey' }),
  'GET /api/admin/keys': row('users:manage', 'D A D D D A A D'),
  'DELETE /api/admin/keys/:id': row('users:manage', 'D O D D D A A D', { target: 'orgKey' }),
  'GET /api/admin/users': row('users:manage', 'D A D D D A A D'),
  'POST /api/admin/users': row('users:manage', 'D A D D D A A D'),
  'PATCH /api/admin/users/:id': row('users:manage', 'D O D D D A A D', { target: 'user', body: { role: 'member' } }),
  'POST /api/admin/users/:id/disable': row('users:manage', 'D O D D D A A D', { target: 'user' }),
  'POST /api/admin/users/:id/enable': row('users:manage', 'D O D D D A A D', { target: 'user' }),
  'POST /api/admin/users/:id/password-reset': row('users:manage', 'D O D D D A A D', { target: 'user' }),
  'DELETE /api/admin/users/:id': row('users:manage', 'D O D D D A A D', { target: 'user' }),
  'PUT /api/admin/users/:id/org': row('orgs:manage', 'D D D D D A A D', { target: 'user' }),
  'GET /api/org': row('signed-in', 'D A A A A A A D'),
  'PATCH /api/org': row('users:manage', 'D A D D D A A D'),
  'GET /api/admin/orgs': row('orgs:manage', 'D D D D D A A D'),
  'POST /api/admin/orgs': row('orgs:manage', 'D D D D D A A D'),
  'PATCH /api/admin/orgs/:id': row('orgs:manage', 'D D D D D A A D', { target: 'otherOrg' }),
  'GET /api/admin/orgs/:id/users': row('orgs:manage', 'D D D D D A A D', { target: 'otherOrg' }),
  'GET /api/admin/audit': row('audit:read', 'D A D D A A A D'),
  'GET /api/admin/audit/verify': row('audit:read', 'D A D D A A A D'),
  'GET /api/admin/audit/export': row('audit:read', 'D A D D A A A D'),
  'GET /api/admin/prompt-log': row('audit:read', 'D A D D A A A D'),
  'GET /api/admin/usage': row('usage:read', 'D A D A A A A D'),
  'GET /api/admin/usage/export': row('usage:read', 'D A D A A A A D'),
  'GET /api/models': row('chat', 'D A A A D A D A'),
  'POST /api/models/refresh': row('models:manage', 'D A D A D A A D'),
  'GET /api/conversations': row('chat', 'D A A A D A D A'),
  'POST /api/conversations': row('chat', 'D A A A D A D A'),
  'GET /api/conversations/:id': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  'PATCH /api/conversations/:id': row('chat', 'D O A A D A D A', { target: 'conversation', body: { title: 'Renamed' } }),
  // The world's conversation has a link: its owner gets it back on POST, and DELETE revokes it (these
  // routes are registered before the conversation's, so the conversation is still there then).
  'GET /api/conversations/:id/share': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  'POST /api/conversations/:id/share': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  'DELETE /api/conversations/:id/share': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  'GET /api/conversations/:id/export': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  // Members of the owner's organisation read the link; another organisation's admin finds nothing.
  'GET /api/shared/:id': row('chat', 'D O A A D A D A', { target: 'share' }),
  'DELETE /api/conversations/:id': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  'POST /api/conversations/:id/chat': row('chat', 'D O A A D A D A', {
    target: 'conversation',
    body: { trigger: 'regenerate-message' },
  }),
  // No answer is being written in the world: the owner gets 204 (resume) and an empty list (stop).
  'GET /api/conversations/:id/stream': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  'POST /api/conversations/:id/stop': row('chat', 'D O A A D A D A', { target: 'conversation' }),
  // The world has no message to show, so every caller allowed in gets 404 (the conversation's owner check is the one of GET).
  'POST /api/conversations/:id/branch': row('chat', 'D A A A D A D A', { target: 'conversation', body: { messageId: 'nothing-here' } }),
  'PUT /api/messages/:id/feedback': row('chat', 'D A A A D A D A', { target: 'unknown', body: { value: 'up' } }),
  'DELETE /api/messages/:id/feedback': row('chat', 'D A A A D A D A', { target: 'unknown' }),
  'GET /api/admin/feedback': row('usage:read', 'D A D A A A A D'),
  'GET /api/admin/feedback/export': row('usage:read', 'D A D A A A A D'),
  'GET /api/account/preferences': row('chat', 'D A A A D A D A'),
  'PUT /api/account/preferences': row('chat', 'D A A A D A D A', { body: { instructions: 'Be brief.' } }),
  'GET /api/prompts': row('chat', 'D A A A D A D A'),
  'POST /api/prompts': row('prompts:manage', 'D A D A D A A D'),
  'GET /api/prompts/:id': row('chat', 'D O A A D A D A', { target: 'prompt' }),
  'POST /api/prompts/:id/versions': row('prompts:manage', 'D O D A D A A D', { target: 'prompt', body: { system: 'Be kind.' } }),
  'POST /api/prompts/:id/activate': row('prompts:manage', 'D O D A D A A D', { target: 'prompt', body: { version: 1 } }),
  'POST /api/prompts/:id/render': row('chat', 'D O A A D A D A', { target: 'prompt' }),
  // Aliases are installation-wide: another organisation's admin reads them but changes none. The
  // `:alias` left unfilled is not a valid name, so allowed callers get 400 and nothing changes.
  'GET /api/deployments': row('models:manage', 'D A D A D A A D'),
  'POST /api/deployments': row('models:manage', 'D D D A D A A D'),
  'GET /api/deployments/:alias': row('models:manage', 'D A D A D A A D'),
  'PUT /api/deployments/:alias': row('models:manage', 'D D D A D A A D'),
  'DELETE /api/deployments/:alias': row('models:manage', 'D D D A D A A D'),
  'POST /api/deployments/:alias/versions': row('models:manage', 'D D D A D A A D'),
  'POST /api/deployments/:alias/rollback': row('models:manage', 'D D D A D A A D'),
  'POST /api/deployments/:alias/promote': row('models:manage', 'D D D A D A A D'),
  'POST /api/deployments/:alias/pause': row('models:manage', 'D D D A D A A D'),
  'POST /api/deployments/:alias/resume': row('models:manage', 'D D D A D A A D'),
  'GET /api/collections': row('chat', 'D A A A D A D A'),
  'POST /api/collections': row('chat', 'D A A A D A D A'),
  'GET /api/collections/:id': row('chat', 'D O A A D A D A', { target: 'collection' }),
  'PATCH /api/collections/:id': row('chat', 'D O A A D A D A', { target: 'collection', body: { description: 'Rules' } }),
  'DELETE /api/collections/:id': row('chat', 'D O A A D A D A', { target: 'collection' }),
  'PUT /api/collections/:id/members': row('chat', 'D O A A D A D A', { target: 'collection', body: { members: [] } }),
  'GET /api/collections/:id/documents': row('chat', 'D O A A D A D A', { target: 'collection' }),
  'POST /api/collections/:id/documents': row('chat', 'D O A A D A D A', { target: 'collection' }),
  'POST /api/attachments': row('chat', 'D A A A D A D A'),
  'GET /api/documents/:id': row('chat', 'D O A A D A D A', { target: 'document' }),
  'GET /api/documents/:id/file': row('chat', 'D O A A D A D A', { target: 'document' }),
  'GET /api/documents/:id/text': row('chat', 'D O A A D A D A', { target: 'document' }),
  'DELETE /api/documents/:id': row('chat', 'D O A A D A D A', { target: 'document' }),
  'PATCH /api/documents/:id': row('chat', 'D O A A D A D A', { target: 'document', body: { metadata: { source: 'matrix' } } }),
  'POST /api/search': row('chat', 'D A A A D A D A'),
  'GET /api/agents': row('chat', 'D A A A D A D A'),
  'POST /api/agents': row('agents:manage', 'D A D A D A A D'),
  'GET /api/agents/:id': row('chat', 'D O A A D A D A', { target: 'agent' }),
  'PATCH /api/agents/:id': row('agents:manage', 'D O D A D A A D', { target: 'agent', body: { description: 'Sums' } }),
  'POST /api/agents/:id/versions': row('agents:manage', 'D O D A D A A D', { target: 'agent' }),
  'POST /api/agents/:id/activate': row('agents:manage', 'D O D A D A A D', { target: 'agent', body: { version: 1 } }),
  // Unknown id: a builder of the organisation may delete the admin's agent, which would leave nothing for the admin to prove.
  'DELETE /api/agents/:id': row('agents:manage', 'D A D A D A A D', { target: 'unknown' }),
  'GET /api/agent-tools': row('agents:manage', 'D A D A D A A D'),
  'POST /api/tool-approvals/:id': row('chat', 'D A A A D A D A', { target: 'unknown', body: { decision: 'approve' } }),
  'GET /api/admin/mcp-servers': row('tools:manage', 'D A D D D A A D'),
  'POST /api/admin/mcp-servers': row('tools:manage', 'D A D D D A A D'),
  'POST /api/admin/mcp-servers/:id/refresh': row('tools:manage', 'D A D D D A A D', { target: 'unknown' }),
  'POST /api/admin/mcp-servers/:id/approve': row('tools:manage', 'D A D D D A A D', { target: 'unknown' }),
  'DELETE /api/admin/mcp-servers/:id': row('tools:manage', 'D A D D D A A D', { target: 'unknown' }),
  'GET /api/admin/datasets': row('tools:manage', 'D A D D D A A D'),
  'POST /api/admin/datasets': row('tools:manage', 'D A D D D A A D'),
  'GET /api/admin/fetch-allow-list': row('tools:manage', 'D A D D D A A D'),
  'PUT /api/admin/fetch-allow-list': row('tools:manage', 'D A D D D A A D'),
  'GET /v1/models': row('chat', 'D A A A D A D A'),
  'GET /v1/models/*': row('chat', 'D A A A D A D A', { target: 'model' }),
  'POST /v1/chat/completions': row('chat', 'D A A A D A D A'),
  'POST /v1/embeddings': row('chat', 'D A A A D A D D'),
  // An unknown response id: allowed callers get 404 (no answer of an alias was served to them).
  'POST /v1/feedback': row('chat', 'D A A A D A D A', { body: { response_id: 'chatcmpl-none', value: 'up' } }),
  'POST /v1/messages': row('chat', 'D A A A D A D A'),
  'POST /v1/responses': row('chat', 'D A A A D A D A'),
  'GET /v1/responses/:id': row('chat', 'D A A A D A D A', { target: 'unknown' }),
  'GET /v1/*': row('chat', 'D A A A D A D A', { target: 'unknown' }),
  'POST /v1/*': row('chat', 'D A A A D A D A', { target: 'unknown' }),
  'PUT /v1/*': row('chat', 'D A A A D A D A', { target: 'unknown' }),
  'PATCH /v1/*': row('chat', 'D A A A D A D A', { target: 'unknown' }),
  'DELETE /v1/*': row('chat', 'D A A A D A D A', { target: 'unknown' }),
  // CORS preflights (@fastify/cors's route, declaring no access): answered before the guard, which
  // reads only /api and /v1 routes; allowed for /v1 from configured origins only.
  'OPTIONS *': row('chat', 'P P P P P P P P', { target: 'unknown' }),
};

/** Methods Fastify's `app.all` registers: a route registered with all of them is one `ALL` row. */
const ALL_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS', 'TRACE', 'QUERY'];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

let world: SecurityWorld;
/** Every route once: HEAD routes Fastify adds for GET ones are left out; `app.all` routes appear per method. */
let routes: RegisteredRoute[];
const allRouteUrls = new Set<string>();

beforeAll(async () => {
  world = await startSecurityWorld();
  const byUrl = new Map<string, Set<string>>();
  for (const route of world.routes) byUrl.set(route.url, (byUrl.get(route.url) ?? new Set()).add(route.method));
  for (const [url, methods] of byUrl) if (ALL_METHODS.every((m) => methods.has(m))) allRouteUrls.add(url);
  routes = world.routes.filter((route) => route.method !== 'HEAD' || allRouteUrls.has(route.url) || !byUrl.get(route.url)?.has('GET'));
}, 60_000);
afterAll(() => world?.close());

const keyOf = (route: Pick<RegisteredRoute, 'method' | 'url'>) =>
  allRouteUrls.has(route.url) ? `ALL ${route.url}` : `${route.method} ${route.url}`;
const rowOf = (route: RegisteredRoute) => MATRIX[keyOf(route)];

/** The route's URL with its parameters filled from the world's objects. */
function concreteUrl(route: RegisteredRoute, entry: MatrixRow | undefined): string {
  const target = entry?.target;
  const value = target === 'model' ? 'sim/sim-1' : target === 'unknown' || target === undefined ? 'nothing-here' : world.objects[target];
  return route.url.replace(/:id\b/g, value).replace(/\*$/, value);
}

const bodyOf = (route: RegisteredRoute, entry: MatrixRow | undefined) =>
  route.method === 'GET' || route.method === 'DELETE' || route.method === 'HEAD' || route.method === 'OPTIONS'
    ? undefined
    : (entry?.body ?? {});

/** The matrix runs writes that delete last, and signing out after everything. */
function inRunOrder(list: RegisteredRoute[]): RegisteredRoute[] {
  const rank = (route: RegisteredRoute) =>
    route.url === '/api/auth/logout' ? 3 : route.method === 'DELETE' ? (route.url.startsWith('/api/collections') ? 2 : 1) : 0;
  return [...list].sort((a, b) => rank(a) - rank(b));
}

function checkOutcome(label: string, outcome: Outcome, caller: Caller, status: number) {
  if (outcome === 'deny') expect(status, label).toBe(caller === 'anonymous' ? 401 : 403);
  else if (outcome === 'own-org-only') expect(status, label).toBe(404);
  else expect([401, 403], label).not.toContain(status);
}

describe('access matrix', () => {
  it('has an entry for every registered route, and every entry names a route', () => {
    expect(routes.length).toBeGreaterThan(40);
    const missing = [...new Set(routes.filter((route) => !rowOf(route)).map(keyOf))].map(
      (key) => `new route ${key} has no entry in the access matrix`,
    );
    expect(missing).toEqual([]);
    const registered = new Set(routes.map(keyOf));
    const stale = Object.keys(MATRIX).filter((key) => !registered.has(key));
    expect(stale, 'access matrix entries for routes that are gone').toEqual([]);
  });

  it('names the access each route declares', () => {
    for (const route of routes) {
      const entry = rowOf(route);
      if (entry) expect(route.access, keyOf(route)).toBe(entry.access);
    }
  });

  it('refuses cookie writes without the CSRF token, or with a wrong one, on every non-public route', async () => {
    let checked = 0;
    for (const route of routes) {
      if (SAFE_METHODS.has(route.method) || route.access === 'public') continue;
      const url = concreteUrl(route, rowOf(route));
      for (const headers of [{}, { 'x-csrf-token': 'not-the-token' }] as Array<Record<string, string>>) {
        const response = await world.inject('admin', route.method, url, { body: {}, csrf: false, headers });
        expect(response.status, `${route.method} ${route.url}`).toBe(403);
        expect(JSON.parse(response.text || '{}'), `${route.method} ${route.url}`).toMatchObject(
          route.url.startsWith('/v1/messages')
            ? { type: 'error', error: { type: 'permission_error' } }
            : route.url.startsWith('/v1/')
              ? { error: { code: 'csrf_failed' } }
              : { code: 'csrf_failed' },
        );
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('shows another organisation’s admin none of the first organisation’s objects (tenancy sweep of every GET route)', async () => {
    const secrets = Object.entries(world.objects).filter(([kind]) => kind !== 'otherOrg');
    let swept = 0;
    for (const route of routes) {
      if (route.method !== 'GET') continue;
      const entry = rowOf(route);
      const target = entry?.target;
      if (target && target !== 'model' && target !== 'unknown' && target !== 'otherOrg') {
        const url = concreteUrl(route, entry);
        // 204: the owner's, with nothing to send (no answer being written to resume).
        expect([200, 204], `owner: GET ${url}`).toContain((await world.inject('admin', 'GET', url)).status);
        expect((await world.inject('otherOrgAdmin', 'GET', url)).status, `other organisation: GET ${route.url}`).toBe(404);
        swept++;
      } else if (!route.url.includes(':') && entry?.expect.otherOrgAdmin !== 'deny') {
        const response = await world.inject('otherOrgAdmin', 'GET', concreteUrl(route, entry));
        for (const [kind, id] of secrets) expect(response.text, `GET ${route.url} shows the ${kind}`).not.toContain(id);
        swept++;
      }
    }
    expect(swept).toBeGreaterThan(20);
  });

  it('holds for every route and caller', async () => {
    const failures: string[] = [];
    for (const route of inRunOrder(routes)) {
      const entry = rowOf(route);
      if (!entry) continue;
      const url = concreteUrl(route, entry);
      const body = bodyOf(route, entry);
      const statuses = new Map<Caller, number>();
      for (const caller of CALLERS) {
        const { status } = await world.inject(caller, route.method, url, { body });
        statuses.set(caller, status);
        const label = `${caller} ${route.method} ${route.url} → ${status}`;
        try {
          checkOutcome(label, entry.expect[caller], caller, status);
        } catch {
          failures.push(`${label}, expected ${entry.expect[caller]}`);
        }
      }
      // The owner reaches what another organisation's admin was told is missing.
      if (Object.values(entry.expect).includes('own-org-only') && statuses.get('admin') === 404)
        failures.push(`admin ${route.method} ${route.url} → 404: the own-org-only check proves nothing`);
    }
    expect(failures).toEqual([]);
  });

  it('never lets a key do more than its owner’s role, whatever its scopes', async () => {
    const failures: string[] = [];
    for (const route of routes) {
      const entry = rowOf(route);
      if (!entry || route.url === '/api/auth/logout' || route.method === 'DELETE') continue;
      const url = concreteUrl(route, entry);
      for (const role of ['member', 'builder', 'auditor'] as const) {
        const { status } = await world.injectWithKey(world.roleKeys[role], route.method, url, { body: bodyOf(route, entry) });
        const denied = entry.expect[role] === 'deny';
        if (denied !== (status === 403))
          failures.push(`${role}'s key ${route.method} ${route.url} → ${status}, expected ${entry.expect[role]}`);
      }
    }
    expect(failures).toEqual([]);
  });
});
