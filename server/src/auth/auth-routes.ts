import { CreateApiKeySchema, CredentialsSchema, RoleSchema, type SessionInfo, SetupRequestSchema } from '@axon/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import { createFailureAudit } from '../http/failure-audit';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import type { Store } from '../store';
import type { AuthService, Principal } from './auth-service';
import { describeSession } from './describe-session';
import type { Sso } from './oidc-sso';
import { permissionsOf } from './permissions';
import { registerSsoRoutes } from './sso-routes';

export const SESSION_COOKIE = 'axon_session';

export interface AuthRoutesDeps {
  auth: AuthService;
  store: Store;
  sessionTtlMs: number;
  secureCookies: 'auto' | 'always' | 'never';
  /** Whether the organisation has a prompt template of that name (keys may be bound to one). */
  templateExists: (orgId: string, name: string) => Promise<boolean>;
  /** Resolves a model id as `/v1` would for the caller (keys may pin one); throws `model_not_found` when none is offered. */
  resolveModel: (id: string, request: FastifyRequest) => Promise<unknown>;
  /** Sign-in with email and password; off when only single sign-on is allowed. */
  localAccounts: boolean;
  /** Identity providers people may sign in through. */
  sso: Sso;
  /** Where identity providers send people back to (`publicUrl`). */
  publicUrl: string | undefined;
}

const IdParams = z.strictObject({ id: z.string().min(1).max(100) });

export function registerAuthRoutes(app: FastifyInstance, deps: AuthRoutesDeps): void {
  const { auth, store } = deps;
  // Failures anyone can cause without signing in are audited within bounds.
  const failures = createFailureAudit(store);
  app.addHook('onClose', () => failures.flush());

  const secure = (request: FastifyRequest) =>
    deps.secureCookies === 'always' || (deps.secureCookies === 'auto' && request.protocol === 'https');
  const setSessionCookie = (request: FastifyRequest, reply: FastifyReply, token: string) =>
    reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: secure(request),
      maxAge: Math.floor(deps.sessionTtlMs / 1000),
    });
  const sessionInfo = async (principal: Principal | undefined): Promise<SessionInfo> => {
    const org = principal && (await store.organizations.get(principal.user.orgId));
    return {
      user: principal?.user ?? null,
      csrfToken: principal?.csrfToken ?? null,
      needsSetup: principal || !deps.localAccounts ? false : (await store.users.count()) === 0,
      organization: org ? { id: org.id, slug: org.slug, name: org.name } : null,
      signIn: { password: deps.localAccounts, providers: deps.sso.list() },
      permissions: principal ? permissionsOf(principal.user) : [],
    };
  };
  const requireLocalAccounts = () => {
    if (!deps.localAccounts)
      throw new AppError('forbidden', { detail: 'Sign-in with a password is switched off here; use single sign-on.' });
  };

  app.get('/api/auth/session', { config: { access: 'public' } }, async (request) => sessionInfo(request.principal));
  registerSsoRoutes(app, { auth, store, sso: deps.sso, publicUrl: deps.publicUrl, secure, setSessionCookie, failures });

  app.post('/api/auth/setup', { config: { access: 'public' } }, async (request, reply) => {
    requireLocalAccounts();
    const body = parseInput(SetupRequestSchema, request.body, 'body');
    const { token, principal } = await auth.setup(body);
    await describeSession(store, request, principal.sessionTokenHash);
    request.log.info({ userId: principal.user.id }, 'first admin account created');
    await recordAudit(store, request, {
      action: 'auth.setup',
      actorId: principal.user.id,
      actorEmail: principal.user.email,
      target: `user:${principal.user.id}`,
    });
    setSessionCookie(request, reply, token);
    return reply.status(201).send(await sessionInfo(principal));
  });

  app.post('/api/auth/login', { config: { access: 'public' } }, async (request, reply) => {
    requireLocalAccounts();
    const body = parseInput(CredentialsSchema, request.body, 'body');
    try {
      const { token, principal } = await auth.login({ ...body, ip: request.ip });
      await describeSession(store, request, principal.sessionTokenHash);
      request.log.info({ userId: principal.user.id }, 'signed in');
      await recordAudit(store, request, {
        action: 'auth.login',
        actorId: principal.user.id,
        actorEmail: principal.user.email,
        details: { method: 'password' },
      });
      setSessionCookie(request, reply, token);
      return await sessionInfo(principal);
    } catch (error) {
      if (AppError.isInstance(error)) {
        request.log.warn({ code: error.code }, 'sign-in refused');
        await failures.record(request, {
          action: error.code === 'rate_limited' ? 'auth.login_throttled' : 'auth.login_failed',
          actorEmail: body.email,
          details: { reason: error.code, ...(error.extensions?.limit ? { limit: error.extensions.limit } : {}) },
        });
      }
      throw error;
    }
  });

  app.post('/api/auth/logout', { config: { access: 'signed-in' } }, async (request, reply) => {
    await auth.logout(requirePrincipal(request));
    await recordAudit(store, request, { action: 'auth.logout' });
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });

  app.get('/api/keys', { config: { access: 'signed-in' } }, async (request) => ({
    items: await store.apiKeys.listForUser(requirePrincipal(request).user.id),
  }));

  app.post('/api/keys', { config: { access: 'signed-in' } }, async (request, reply) => {
    const { name, ...options } = parseInput(CreateApiKeySchema, request.body, 'body');
    const user = requirePrincipal(request).user;
    if (options.scopes.includes('admin') && user.role !== 'admin')
      throw new AppError('forbidden', { detail: 'Only admins can create keys with the admin scope.' });
    if (options.prompt && !(await deps.templateExists(user.orgId, options.prompt)))
      throw new AppError('validation_failed', {
        detail: `No prompt template "${options.prompt}"`,
        errors: [{ path: 'body.prompt', message: 'no such template in your organisation' }],
      });
    if (options.model)
      await deps.resolveModel(options.model, request).catch((error: unknown) => {
        if (!AppError.isInstance(error) || error.code !== 'model_not_found') throw error;
        throw new AppError('validation_failed', {
          detail: error.detail ?? `No model '${options.model}' is offered here.`,
          errors: [{ path: 'body.model', message: 'no such model or alias version offered to you' }],
        });
      });
    const created = await auth.createApiKey(user.id, name, options);
    request.log.info({ apiKeyId: created.apiKey.id }, 'api key created');
    await recordAudit(store, request, {
      action: 'key.created',
      target: `key:${created.apiKey.id}`,
      details: {
        name,
        scopes: options.scopes,
        rpm: options.rpm,
        tpm: options.tpm,
        expiresAt: created.apiKey.expiresAt,
        prompt: options.prompt,
        model: options.model,
      },
    });
    return reply.status(201).send(created);
  });

  app.delete('/api/keys/:id', { config: { access: 'signed-in' } }, async (request, reply) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const revoked = await store.apiKeys.revoke(id, { userId: requirePrincipal(request).user.id });
    if (!revoked) throw new AppError('not_found', { detail: 'No such API key' });
    auth.forgetKeys();
    request.log.info({ apiKeyId: id }, 'api key revoked');
    await recordAudit(store, request, { action: 'key.revoked', target: `key:${id}` });
    return reply.status(204).send();
  });

  app.get('/api/admin/keys', { config: { access: 'users:manage' } }, async (request) => {
    const orgId = requirePrincipal(request).user.orgId;
    const emails = new Map((await store.users.list(orgId)).map((u) => [u.id, u.email]));
    return {
      items: (await store.apiKeys.listAll(orgId)).map(({ userId, ...key }) => ({ ...key, userId, userEmail: emails.get(userId) ?? null })),
    };
  });

  app.delete('/api/admin/keys/:id', { config: { access: 'users:manage' } }, async (request, reply) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    if (!(await store.apiKeys.revoke(id, { orgId: requirePrincipal(request).user.orgId })))
      throw new AppError('not_found', { detail: 'No such active API key' });
    auth.forgetKeys();
    await recordAudit(store, request, { action: 'key.revoked', target: `key:${id}`, details: { by: 'admin' } });
    return reply.status(204).send();
  });

  app.get('/api/admin/users', { config: { access: 'users:manage' } }, async (request) => ({
    items: await store.users.list(requirePrincipal(request).user.orgId),
  }));

  app.patch('/api/admin/users/:id', { config: { access: 'users:manage' } }, async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const { role } = parseInput(z.strictObject({ role: RoleSchema }), request.body, 'body');
    if (id === requirePrincipal(request).user.id && role !== 'admin') {
      throw new AppError('conflict', { detail: 'You cannot remove your own admin role.' });
    }
    const before = await store.users.findById(id);
    if (!before || before.orgId !== requirePrincipal(request).user.orgId || !(await store.users.setRole(id, role)))
      throw new AppError('not_found', { detail: 'No such user' });
    auth.forgetKeys();
    await recordAudit(store, request, {
      action: 'user.role_changed',
      target: `user:${id}`,
      details: { email: before.email, from: before.role, to: role },
    });
    const user = await store.users.findById(id);
    return user && { id: user.id, email: user.email, role: user.role, orgId: user.orgId, createdAt: user.createdAt };
  });
}
