import { type Account, type PasswordResetLink, PasswordResetRequestSchema, type SessionSummary } from '@axon/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import type { IngestionService } from '../rag/ingest/ingestion-service';
import type { AccountChange, Store, UserRecord } from '../store';
import { SESSION_COOKIE } from './auth-routes';
import type { AuthService } from './auth-service';
import { createPasswordReset, redeemPasswordReset } from './password-reset';

export interface AccountRoutesDeps {
  auth: Pick<AuthService, 'forgetKeys'>;
  store: Store;
  /** Deletes a document's stored file with it (a deleted account's private collections). */
  ingestion: Pick<IngestionService, 'deleteDocument'>;
  /** Where reset links point (`publicUrl`); without it, the request's own address. */
  publicUrl: string | undefined;
  /** Passwords at all; off when only single sign-on is allowed (no reset links then). */
  localAccounts: boolean;
  /** How long a reset link works (default one hour). */
  resetTtlMs?: number | undefined;
  now?: () => Date;
}

const IdParams = z.strictObject({ id: z.string().min(1).max(100) });

const toAccount = ({ passwordHash: _secret, ...account }: UserRecord): Account => account;

/**
 * The account lifecycle: admins disable, enable and delete accounts of their organisation and make
 * one-time password reset links; everyone lists and revokes their own sessions.
 *
 * Disabling ends the account's sessions and revokes its API keys in the store at once; sessions are
 * read from the store on every request, so they stop on every replica immediately, and a key looked
 * up by another replica in the last few seconds (`keyCacheMs`) stops when that replica's cache entry
 * expires. Deleting does the same and also removes the account's conversations, identities,
 * memberships and private collections (with their files); the row stays, emptied, so that audit
 * events, usage rows and collections shared with the organisation still name an id.
 */
export function registerAccountRoutes(app: FastifyInstance, deps: AccountRoutesDeps): void {
  const { auth, store } = deps;
  const now = deps.now ?? (() => new Date());
  const base = (request: FastifyRequest) => (deps.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');

  /** The account named in the path, if it is in the caller's organisation (else 404, as for ids that do not exist). */
  const accountOf = async (request: FastifyRequest) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const caller = requirePrincipal(request).user;
    const user = await store.users.findById(id);
    if (!user || user.orgId !== caller.orgId) throw new AppError('not_found', { detail: 'No such user' });
    return { user, caller };
  };
  const refuseOwn = (user: UserRecord, callerId: string, what: string) => {
    if (user.id === callerId) throw new AppError('conflict', { detail: `You cannot ${what} your own account.` });
  };
  const applied = (change: AccountChange) => {
    if (change === 'not_found') throw new AppError('not_found', { detail: 'No such user' });
    if (change === 'last_admin')
      throw new AppError('conflict', {
        detail: 'This is the last active admin of the first organisation. Make another account admin first.',
      });
  };
  const requireLocalAccounts = () => {
    if (!deps.localAccounts)
      throw new AppError('forbidden', { detail: 'Passwords are switched off here; people sign in with single sign-on.' });
  };

  app.post('/api/admin/users/:id/disable', { config: { access: 'users:manage' } }, async (request) => {
    const { user, caller } = await accountOf(request);
    refuseOwn(user, caller.id, 'disable');
    applied(await store.users.disable(user.id, caller.orgId, now()));
    auth.forgetKeys();
    request.log.info({ userId: user.id }, 'account disabled');
    await recordAudit(store, request, { action: 'user.disabled', target: `user:${user.id}`, details: { email: user.email } });
    const updated = await store.users.findById(user.id);
    return updated && toAccount(updated);
  });

  app.post('/api/admin/users/:id/enable', { config: { access: 'users:manage' } }, async (request) => {
    const { user, caller } = await accountOf(request);
    if (!(await store.users.enable(user.id, caller.orgId))) throw new AppError('not_found', { detail: 'No such user' });
    await recordAudit(store, request, { action: 'user.enabled', target: `user:${user.id}`, details: { email: user.email } });
    const updated = await store.users.findById(user.id);
    return updated && toAccount(updated);
  });

  app.delete('/api/admin/users/:id', { config: { access: 'users:manage' } }, async (request, reply) => {
    const { user, caller } = await accountOf(request);
    refuseOwn(user, caller.id, 'delete');
    applied(await store.users.delete(user.id, caller.orgId, now()));
    auth.forgetKeys();
    // Private collections go with the account; those shared with the organisation stay for the others.
    const owned = (await store.collections.listForUser(user.id)).filter((c) => c.access === 'owner');
    const personal = owned.filter((c) => c.visibility === 'private');
    for (const collection of personal) {
      for (const document of await store.documents.listByCollection(collection.id)) await deps.ingestion.deleteDocument(document);
      await store.collections.delete(collection.id);
    }
    request.log.info({ userId: user.id }, 'account deleted');
    await recordAudit(store, request, {
      action: 'user.deleted',
      target: `user:${user.id}`,
      details: {
        email: user.email,
        collectionsDeleted: personal.map((c) => c.id),
        collectionsKept: owned.filter((c) => c.visibility !== 'private').map((c) => c.id),
      },
    });
    return reply.status(204).send();
  });

  app.post('/api/admin/users/:id/password-reset', { config: { access: 'users:manage' } }, async (request, reply) => {
    requireLocalAccounts();
    const { user, caller } = await accountOf(request);
    if (user.disabledAt) throw new AppError('conflict', { detail: 'The account is disabled; enable it before resetting its password.' });
    const { token, expiresAt } = await createPasswordReset(store, {
      userId: user.id,
      createdBy: caller.id,
      now: now(),
      ttlMs: deps.resetTtlMs,
    });
    await recordAudit(store, request, {
      action: 'user.password_reset_created',
      target: `user:${user.id}`,
      details: { email: user.email, expiresAt: expiresAt.toISOString() },
    });
    const link: PasswordResetLink = { url: `${base(request)}/reset-password#token=${token}`, expiresAt: expiresAt.toISOString() };
    return reply.status(201).header('cache-control', 'no-store').send(link);
  });

  app.post('/api/auth/password-reset', { config: { access: 'public' } }, async (request, reply) => {
    requireLocalAccounts();
    const { token, password } = parseInput(PasswordResetRequestSchema, request.body, 'body');
    const { user, sessionsEnded } = await redeemPasswordReset(store, { token, password, now: now() });
    request.log.info({ userId: user.id }, 'password reset');
    await recordAudit(store, request, {
      action: 'user.password_reset',
      actorId: user.id,
      actorEmail: user.email,
      orgId: user.orgId,
      target: `user:${user.id}`,
      details: { sessionsEnded },
    });
    return reply.status(204).send();
  });

  app.get('/api/auth/sessions', { config: { access: 'signed-in' } }, async (request) => {
    const principal = requirePrincipal(request);
    const items: SessionSummary[] = (await store.sessions.listForUser(principal.user.id, now())).map((session) => ({
      ...session,
      current: session.id === principal.sessionId,
    }));
    return { items };
  });

  app.delete('/api/auth/sessions/:id', { config: { access: 'signed-in' } }, async (request, reply) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const principal = requirePrincipal(request);
    if (!(await store.sessions.deleteById(id, principal.user.id))) throw new AppError('not_found', { detail: 'No such session' });
    await recordAudit(store, request, { action: 'auth.session_revoked', target: `session:${id}` });
    if (id === principal.sessionId) reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.status(204).send();
  });
}
