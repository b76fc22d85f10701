import type { ApiKeyScope } from '@axon/contracts';
import type { RouteOptions } from 'fastify';
import { createAuthService } from '../auth/auth-service';
import { startTestServer, type TestServer } from '../testing/test-server';

/** The callers of the access matrix, in the order the matrix calls them. */
export const CALLERS = [
  'anonymous',
  /** An admin of a second organisation: objects of the first one must read as missing. */
  'otherOrgAdmin',
  'member',
  'builder',
  'auditor',
  /** An admin of the first organisation, which owns every object the matrix names. */
  'admin',
  /** The first organisation's admin's key with only the `admin` scope. */
  'adminKey',
  /** The first organisation's admin's key with only the `chat` scope. */
  'chatKey',
] as const;
export type Caller = (typeof CALLERS)[number];

/** A route as Fastify registered it. */
export interface RegisteredRoute {
  method: string;
  url: string;
  access: string;
  multipart: boolean;
}

export interface InjectOptions {
  body?: unknown;
  /** A raw payload, sent as is (with `headers['content-type']`). */
  payload?: string | Buffer;
  headers?: Record<string, string>;
  /** Session callers echo their CSRF token on writes unless this is false. */
  csrf?: boolean;
}

export interface InjectedResponse {
  status: number;
  contentType: string;
  text: string;
}

/** Objects of the first organisation, each owned by its admin, that the `:id` routes are called with. */
export interface WorldObjects {
  conversation: string;
  collection: string;
  document: string;
  prompt: string;
  /** Two keys of the admin's (one for `DELETE /api/keys/:id`, one for `DELETE /api/admin/keys/:id`). */
  ownKey: string;
  orgKey: string;
  /** A member of the first organisation, for the account routes. */
  user: string;
  /** The second organisation's id (for the routes that manage organisations). */
  otherOrg: string;
  /** A second session of the admin's (not the one the admin caller uses). */
  session: string;
  /** An agent of the first organisation. */
  agent: string;
  /** The token of the read-only link to `conversation`. */
  share: string;
}

export interface SecurityWorld {
  t: TestServer;
  routes: RegisteredRoute[];
  objects: WorldObjects;
  /** A key of the first organisation's admin with every scope. */
  fullKey: string;
  /** Keys with every scope for the member, builder and auditor: a key never gives more than its owner's role. */
  roleKeys: Record<'member' | 'builder' | 'auditor', string>;
  inject(caller: Caller, method: string, url: string, options?: InjectOptions): Promise<InjectedResponse>;
  /** Like `inject`, with the all-scopes key of a role or of the admin. */
  injectWithKey(key: string, method: string, url: string, options?: InjectOptions): Promise<InjectedResponse>;
  close(): Promise<void>;
}

interface Session {
  cookie: string;
  csrfToken: string;
}

const PASSWORD = 'a long password 1';

/**
 * A real server with two organisations: the first with an admin, a member, a builder and an auditor,
 * the second with an admin; API keys; and one object of each kind owned by the first admin.
 */
export async function startSecurityWorld(): Promise<SecurityWorld> {
  const routes: RegisteredRoute[] = [];
  const t = await startTestServer({
    onRoute: (route: RouteOptions) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const config = (route.config ?? {}) as { access?: string; multipart?: boolean };
      for (const method of methods)
        routes.push({ method, url: route.url, access: config.access ?? 'chat', multipart: config.multipart === true });
    },
  });
  const app = t.server.app;
  const sessions = new Map<Caller, Session>();
  const keys = new Map<Caller, string>();

  const send = async (method: string, url: string, headers: Record<string, string>, options: InjectOptions) => {
    const all: Record<string, string> = { ...headers, ...options.headers };
    let payload: string | Buffer | undefined = options.payload;
    if (payload === undefined && options.body !== undefined) {
      payload = JSON.stringify(options.body);
      all['content-type'] ??= 'application/json';
    }
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers: all,
      ...(payload !== undefined ? { payload } : {}),
    });
    return { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), text: response.body };
  };
  const sessionHeaders = (session: Session, method: string, csrf: boolean) => ({
    cookie: session.cookie,
    ...(csrf && method !== 'GET' ? { 'x-csrf-token': session.csrfToken } : {}),
  });

  const signIn = async (path: string, email: string): Promise<Session> => {
    const response = await app.inject({ method: 'POST', url: path, payload: { email, password: PASSWORD } });
    if (response.statusCode >= 300) throw new Error(`sign-in of ${email} failed: ${response.statusCode} ${response.body}`);
    const cookie = response.cookies.find((c) => c.name === 'axon_session');
    return { cookie: `axon_session=${cookie?.value}`, csrfToken: (response.json() as { csrfToken: string }).csrfToken };
  };
  const admin = await signIn('/api/auth/setup', 'admin@example.com');
  sessions.set('admin', admin);
  const asAdmin = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
    const response = await send(method, url, sessionHeaders(admin, method, true), { body });
    if (response.status >= 300) throw new Error(`${method} ${url} failed: ${response.status} ${response.text}`);
    return JSON.parse(response.text) as T;
  };

  await signIn('/api/auth/login', 'admin@example.com');
  const sessionList = await asAdmin<{ items: Array<{ id: string; current: boolean }> }>('GET', '/api/auth/sessions');
  const session = sessionList.items.find((item) => !item.current)?.id;
  if (!session) throw new Error(`no second session in ${JSON.stringify(sessionList)}`);

  const otherOrg = await asAdmin<{ id: string }>('POST', '/api/admin/orgs', { slug: 'acme', name: 'Acme' });
  for (const [caller, role, org] of [
    ['member', 'member', undefined],
    ['builder', 'builder', undefined],
    ['auditor', 'auditor', undefined],
    ['otherOrgAdmin', 'admin', 'acme'],
  ] as const) {
    const email = `${caller.toLowerCase()}@${org ? 'acme.test' : 'example.com'}`;
    await asAdmin('POST', '/api/admin/users', { email, password: PASSWORD, role, ...(org ? { org } : {}) });
    sessions.set(caller, await signIn('/api/auth/login', email));
  }
  const user = await asAdmin<{ id: string }>('POST', '/api/admin/users', {
    email: 'spare@example.com',
    password: PASSWORD,
    role: 'member',
  });

  const newKey = (name: string, scopes: ApiKeyScope[]) =>
    asAdmin<{ key: string; apiKey: { id: string } }>('POST', '/api/keys', { name, scopes });
  keys.set('adminKey', (await newKey('admin only', ['admin'])).key);
  keys.set('chatKey', (await newKey('chat only', ['chat'])).key);
  const fullKey = (await newKey('every scope', ['chat', 'embeddings', 'admin'])).key;
  const ownKey = (await newKey('spare', ['chat'])).apiKey.id;
  const orgKey = (await newKey('spare for admins', ['chat'])).apiKey.id;

  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const roleKeys = {} as SecurityWorld['roleKeys'];
  for (const role of ['member', 'builder', 'auditor'] as const) {
    const account = await t.server.store.users.findByEmail(`${role}@example.com`);
    roleKeys[role] = (await auth.createApiKey(account?.id as string, 'every scope', { scopes: ['chat', 'embeddings', 'admin'] })).key;
  }

  const collection = await asAdmin<{ id: string }>('POST', '/api/collections', { name: 'Handbook' });
  const library = await asAdmin<{ id: string }>('POST', '/api/collections', { name: 'Library' });
  const prompt = await asAdmin<{ id: string }>('POST', '/api/prompts', { name: 'greeting', system: 'Be brief.', message: '{{ input }}' });
  const form = new FormData();
  form.append('file', new Blob(['Holidays are booked two weeks ahead.\n'], { type: 'text/plain' }), 'holidays.txt');
  const uploaded = await fetch(`${t.url}/api/collections/${library.id}/documents`, {
    method: 'POST',
    headers: sessionHeaders(admin, 'POST', true),
    body: form,
  });
  const upload = (await uploaded.json()) as { files: Array<{ document?: { id: string } }> };
  const document = upload.files[0]?.document?.id;
  if (!document) throw new Error(`upload failed: ${uploaded.status} ${JSON.stringify(upload)}`);
  const conversation = await asAdmin<{ id: string }>('POST', '/api/conversations', { title: 'Plans', collectionIds: [library.id] });
  const share = await asAdmin<{ token: string }>('POST', `/api/conversations/${conversation.id}/share`);
  const agent = await asAdmin<{ id: string }>('POST', '/api/agents', {
    slug: 'helper',
    name: 'Helper',
    config: { tools: [{ name: 'calculator' }] },
  });

  return {
    t,
    routes,
    fullKey,
    roleKeys,
    objects: {
      conversation: conversation.id,
      collection: collection.id,
      document,
      prompt: prompt.id,
      ownKey,
      orgKey,
      user: user.id,
      otherOrg: otherOrg.id,
      session,
      agent: agent.id,
      share: share.token,
    },
    inject(caller, method, url, options = {}) {
      const session = sessions.get(caller);
      const key = keys.get(caller);
      const headers = session
        ? sessionHeaders(session, method, options.csrf !== false)
        : key
          ? { authorization: `Bearer ${key}` }
          : ({} as Record<string, string>);
      return send(method, url, headers, options);
    },
    injectWithKey(key, method, url, options = {}) {
      return send(method, url, { authorization: `Bearer ${key}` }, options);
    },
    close: () => t.close(),
  };
}
