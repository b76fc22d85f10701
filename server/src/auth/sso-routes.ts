import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import type { FailureAudit } from '../http/failure-audit';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import type { Store } from '../store';
import type { AuthService } from './auth-service';
import { describeSession } from './describe-session';
import type { Sso } from './oidc-sso';
import { hashToken } from './tokens';

/** Holds the state of a sign-in in flight; bound to the browser that started it. */
const STATE_COOKIE = 'axon_sso_state';
const STATE_TTL_MS = 10 * 60_000;

/**
 * Why a sign-in through a provider failed, as the web app names it on the sign-in page. The full
 * reason goes to the audit trail and the log, not into a URL.
 */
export type SsoFailure = 'cancelled' | 'state' | 'failed' | 'organization' | 'disabled' | 'unavailable';

export interface SsoRoutesDeps {
  auth: AuthService;
  store: Store;
  sso: Sso;
  /** `https://axon.example.com`; without it, the request's own address. */
  publicUrl: string | undefined;
  secure: (request: FastifyRequest) => boolean;
  setSessionCookie: (request: FastifyRequest, reply: FastifyReply, token: string) => void;
  /** Where failed callbacks are audited (within bounds: anyone can cause them). */
  failures: FailureAudit;
}

const ProviderParams = z.strictObject({ id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/) });

const OWN_ORIGIN = 'http://axon.invalid';
/**
 * A path on this site, as the browser will read it: parsed as a URL against Axon's own origin (so
 * tabs, newlines, backslashes and `//host` are read as a browser reads them), it must stay on that
 * origin; the normalised path, query and fragment are what is kept. Undefined for anything else.
 */
export function sameSitePath(value: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused here
  if (!value.startsWith('/') || /[\u0000-\u001f\u007f\\]/.test(value)) return undefined;
  let url: URL;
  try {
    url = new URL(value, OWN_ORIGIN);
  } catch {
    return undefined;
  }
  if (url.origin !== OWN_ORIGIN) return undefined;
  return `${url.pathname}${url.search}${url.hash}`;
}

const StartQuery = z.strictObject({
  returnTo: z
    .string()
    .max(500)
    .transform((value, ctx) => {
      const path = sameSitePath(value);
      if (path === undefined) ctx.addIssue({ code: 'custom', message: 'a path on this site, like /c/123' });
      return path ?? '/';
    })
    .default('/'),
});

/** Single sign-on: `GET /api/auth/sso/{id}/start` sends the browser to the provider, which sends it back to `…/callback`. */
export function registerSsoRoutes(app: FastifyInstance, deps: SsoRoutesDeps): void {
  const { auth, store, sso } = deps;
  const base = (request: FastifyRequest) => (deps.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
  const callbackPath = (id: string) => `/api/auth/sso/${id}/callback`;

  app.get('/api/auth/sso/:id/start', { config: { access: 'public' } }, async (request, reply) => {
    const { id } = parseInput(ProviderParams, request.params, 'params');
    const { returnTo } = parseInput(StartQuery, request.query, 'query');
    const challenge = await sso.start(id, `${base(request)}${callbackPath(id)}`);
    await store.ssoLogins.create(
      hashToken(challenge.state),
      { provider: id, codeVerifier: challenge.codeVerifier, nonce: challenge.nonce, returnTo },
      new Date(Date.now() + STATE_TTL_MS),
    );
    reply.setCookie(STATE_COOKIE, challenge.state, {
      path: '/api/auth/sso/',
      httpOnly: true,
      // Lax: sent when the provider redirects the browser back (a top-level GET).
      sameSite: 'lax',
      secure: deps.secure(request),
      maxAge: STATE_TTL_MS / 1000,
    });
    return reply.redirect(challenge.url.href, 302);
  });

  app.get('/api/auth/sso/:id/callback', { config: { access: 'public' } }, async (request, reply) => {
    const { id } = parseInput(ProviderParams, request.params, 'params');
    const query = request.query as Record<string, unknown>;
    const state = request.cookies[STATE_COOKIE];
    reply.clearCookie(STATE_COOKIE, { path: '/api/auth/sso/' });

    if (!sso.list().some((p) => p.id === id)) throw new AppError('not_found', { detail: `No identity provider "${id}" is configured.` });
    const fail = async (failure: SsoFailure, reason: string) => {
      request.log.warn({ provider: id, failure, reason }, 'single sign-on refused');
      await deps.failures.record(request, { action: 'auth.login_failed', details: { method: 'sso', provider: id, reason } });
      return reply.redirect(`/?sso_error=${failure}`, 302);
    };

    if (typeof query.error === 'string') return fail('cancelled', `the provider answered ${query.error.slice(0, 200)}`);
    if (!state) return fail('state', 'no sign-in was started in this browser (state cookie missing or expired)');
    // Single use: a second visit with the same state (a replayed redirect) finds nothing.
    const pending = await store.ssoLogins.take(hashToken(state), new Date());
    if (!pending || pending.provider !== id) return fail('state', 'the sign-in is unknown, expired or already used');

    let identity: Awaited<ReturnType<Sso['finish']>>;
    try {
      identity = await sso.finish(id, new URL(request.url, base(request)), {
        state,
        nonce: pending.nonce,
        codeVerifier: pending.codeVerifier,
      });
    } catch (error) {
      const reason = AppError.isInstance(error) ? (error.detail ?? error.message) : (error as Error).message;
      return fail(AppError.isInstance(error) && error.code === 'idp_unavailable' ? 'unavailable' : 'failed', reason);
    }
    let provisioned: Awaited<ReturnType<AuthService['provision']>>;
    try {
      provisioned = await auth.provision(identity);
    } catch (error) {
      if (!AppError.isInstance(error)) throw error;
      return fail(error.code === 'account_disabled' ? 'disabled' : 'organization', error.detail ?? error.message);
    }
    const { user, created } = provisioned;
    const { token, principal } = await auth.openSession(user);
    await describeSession(store, request, principal.sessionTokenHash);
    const actor = { actorId: user.id, actorEmail: user.email, orgId: user.orgId };
    if (created)
      await recordAudit(store, request, {
        ...actor,
        action: 'user.created',
        target: `user:${user.id}`,
        details: { email: user.email, role: user.role, via: id },
      });
    await recordAudit(store, request, { ...actor, action: 'auth.login', details: { method: 'sso', provider: id, role: user.role } });
    request.log.info({ userId: user.id, provider: id }, 'signed in through single sign-on');
    deps.setSessionCookie(request, reply, token);
    // Checked again on the way out: a sign-in started before the check was tightened holds what it held.
    return reply.redirect(sameSitePath(pending.returnTo) ?? '/', 302);
  });
}
