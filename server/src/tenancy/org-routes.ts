import {
  CreateOrganizationSchema,
  EmailSchema,
  OrgSlugSchema,
  PasswordSchema,
  PromptLogModeSchema,
  RoleSchema,
  UpdateOrganizationSchema,
} from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuthService } from '../auth/auth-service';
import { can } from '../auth/permissions';
import type { Config } from '../config';
import { AppError } from '../errors';
import { parseInput } from '../http/parse-input';
import { recordAudit } from '../http/record-audit';
import { requirePrincipal } from '../http/require-principal';
import type { Store } from '../store';
import type { OrgSettings } from './org-settings';

const IdParams = z.strictObject({ id: z.string().min(1).max(100) });
const NewUserBody = z.strictObject({
  email: EmailSchema,
  password: PasswordSchema,
  role: RoleSchema.default('member'),
  /** Another organisation's slug (with `orgs:manage`); default: the caller's. */
  org: OrgSlugSchema.optional(),
});

export interface OrgRoutesDeps {
  store: Store;
  auth: AuthService;
  orgs: OrgSettings;
  /** The server's own per-user limits and prompt-log mode, shown beside the organisation's. */
  config: Pick<Config, 'limits' | 'promptLog'>;
}

/**
 * Organisations (tenants). Admins of the first organisation (`orgs:manage`) create them, set their
 * limits and budgets, and move accounts between them; an organisation's admins read its limits,
 * choose its prompt-log mode and add accounts to it.
 */
export function registerOrgRoutes(app: FastifyInstance, deps: OrgRoutesDeps): void {
  const { store, orgs } = deps;
  const found = async (id: string) => {
    const org = await store.organizations.get(id);
    if (!org) throw new AppError('not_found', { detail: 'No such organisation' });
    return org;
  };

  /** The caller's organisation, its limits, and the server's per-user limits. */
  app.get('/api/org', { config: { access: 'signed-in' } }, async (request) => {
    const org = await found(requirePrincipal(request).user.orgId);
    return { ...org, userLimits: deps.config.limits, defaultPromptLogMode: deps.config.promptLog.mode };
  });

  app.patch('/api/org', { config: { access: 'users:manage' } }, async (request) => {
    const { promptLogMode } = parseInput(z.strictObject({ promptLogMode: PromptLogModeSchema.nullable() }), request.body, 'body');
    const orgId = requirePrincipal(request).user.orgId;
    const before = await found(orgId);
    const updated = await store.organizations.update(orgId, { promptLogMode });
    orgs.forget(orgId);
    await recordAudit(store, request, {
      action: 'org.updated',
      target: `org:${orgId}`,
      details: { promptLogMode: { from: before.promptLogMode, to: promptLogMode } },
    });
    return updated;
  });

  app.get('/api/admin/orgs', { config: { access: 'orgs:manage' } }, async () => ({ items: await store.organizations.list() }));

  app.post('/api/admin/orgs', { config: { access: 'orgs:manage' } }, async (request, reply) => {
    const body = parseInput(CreateOrganizationSchema, request.body, 'body');
    const created = await store.organizations.create(body);
    await recordAudit(store, request, {
      action: 'org.created',
      target: `org:${created.id}`,
      details: { slug: created.slug, name: created.name },
    });
    return reply.status(201).send(created);
  });

  app.patch('/api/admin/orgs/:id', { config: { access: 'orgs:manage' } }, async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const patch = parseInput(UpdateOrganizationSchema, request.body, 'body');
    const before = await found(id);
    const updated = await store.organizations.update(id, patch);
    orgs.forget(id);
    if (patch.limits !== undefined)
      await recordAudit(store, request, {
        action: 'limits.changed',
        target: `org:${id}`,
        details: { from: before.limits, to: patch.limits },
      });
    if (patch.name !== undefined || patch.promptLogMode !== undefined)
      await recordAudit(store, request, {
        action: 'org.updated',
        target: `org:${id}`,
        details: { name: patch.name, promptLogMode: patch.promptLogMode },
      });
    return updated;
  });

  app.get('/api/admin/orgs/:id/users', { config: { access: 'orgs:manage' } }, async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    await found(id);
    return { items: await store.users.list(id) };
  });

  /** Moves an account to another organisation (its sessions and keys follow it; its collections stay). */
  app.put('/api/admin/users/:id/org', { config: { access: 'orgs:manage' } }, async (request) => {
    const { id } = parseInput(IdParams, request.params, 'params');
    const { org } = parseInput(z.strictObject({ org: OrgSlugSchema }), request.body, 'body');
    const target = await store.organizations.findBySlug(org);
    if (!target) throw new AppError('not_found', { detail: `No organisation "${org}"` });
    const user = await store.users.findById(id);
    if (!user) throw new AppError('not_found', { detail: 'No such user' });
    if (id === requirePrincipal(request).user.id) throw new AppError('conflict', { detail: 'You cannot move your own account.' });
    await store.users.setOrg(id, target.id);
    deps.auth.forgetKeys();
    await recordAudit(store, request, {
      action: 'user.org_changed',
      target: `user:${id}`,
      details: { email: user.email, from: user.orgId, to: target.id },
    });
    return { ...user, passwordHash: undefined, orgId: target.id };
  });

  /** A local account in the caller's organisation (or, with `orgs:manage`, in the one named). */
  app.post('/api/admin/users', { config: { access: 'users:manage' } }, async (request, reply) => {
    const body = parseInput(NewUserBody, request.body, 'body');
    const caller = requirePrincipal(request).user;
    let orgId = caller.orgId;
    if (body.org) {
      const target = await store.organizations.findBySlug(body.org);
      if (!target || (target.id !== caller.orgId && !can(caller, 'orgs:manage')))
        throw new AppError('not_found', { detail: `No organisation "${body.org}"` });
      orgId = target.id;
    }
    const created = await deps.auth.createUser({ email: body.email, password: body.password, role: body.role, orgId });
    await recordAudit(store, request, {
      action: 'user.created',
      target: `user:${created.id}`,
      orgId,
      details: { email: created.email, role: created.role },
    });
    return reply.status(201).send(created);
  });
}
