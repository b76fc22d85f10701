import {
  type AliasInput,
  AliasInputSchema,
  AliasNameSchema,
  type DeploymentStatus,
  type ModelAlias,
  type ModelVersionInput,
  ModelVersionInputSchema,
  type RolloutState,
} from '@axon/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors';
import { parseInput } from '../../http/parse-input';
import { recordAudit } from '../../http/record-audit';
import { requirePrincipal } from '../../http/require-principal';
import type { AuditAction } from '../../observability/audit-chain';
import { HOME_ORG_ID, type Store } from '../../store';
import { missingVersions } from './versions-named-by';

/** The live figures of an alias's experiment, shadow and arms (from whatever keeps them). */
export type DescribeDeployment = (alias: ModelAlias) => Promise<Pick<DeploymentStatus, 'arms' | 'report' | 'shadow'>>;

export interface DeploymentRouteDeps {
  store: Store;
  /** Resolves when the catalog offers the model; throws `AppError('model_not_found')` otherwise. */
  checkModel: (modelId: string) => Promise<void>;
  /** Resolves a prompt template reference (`name@version`) in an organisation; throws `not_found` otherwise. */
  resolvePrompt: (orgId: string, ref: string) => Promise<unknown>;
  /** The figures of `GET /api/deployments/:alias`; none when not given. */
  describe?: DescribeDeployment | undefined;
  /** Told of every alias that changed (e.g. to announce it to the other replicas). */
  onChange?: ((alias: string) => void) | undefined;
  now?: () => Date;
}

const AliasParams = z.strictObject({ alias: AliasNameSchema });
const CreateBody = z.strictObject({ name: AliasNameSchema, description: z.string().max(300).optional(), version: ModelVersionInputSchema });
const RollbackBody = z.strictObject({ version: z.number().int().positive(), reason: z.string().max(300).optional() });
const PromoteBody = z.strictObject({ version: z.number().int().positive().optional(), reason: z.string().max(300).optional() });
const ReasonBody = z.strictObject({ reason: z.string().max(300).optional() }).default({});

const NO_FIGURES: DescribeDeployment = async () => ({ arms: [], report: null, shadow: null });

/** A validation failure at one field of the body, shaped like `parseInput`'s. */
const invalid = (path: string, message: string) =>
  new AppError('validation_failed', { detail: `${path}: ${message}`, errors: [{ path, message }] });

/**
 * Model aliases (`/api/deployments`): their immutable versions, traffic policies and rollouts.
 * `models:manage` reads them; aliases are installation-wide, so changing one also needs an account of
 * the first organisation.
 */
export function registerDeploymentRoutes(app: FastifyInstance, deps: DeploymentRouteDeps): void {
  const { store, checkModel, resolvePrompt, describe = NO_FIGURES, onChange, now = () => new Date() } = deps;
  const registry = store.modelRegistry;
  const manage = { config: { access: 'models:manage' as const } };

  /** The caller, refused unless they belong to the first organisation (checked before the input). */
  const installationAdmin = (request: FastifyRequest) => {
    const { user } = requirePrincipal(request);
    if (user.orgId !== HOME_ORG_ID)
      throw new AppError('forbidden', {
        detail: 'Model aliases serve the whole installation: changing one needs an account of the first organisation.',
      });
    return user;
  };
  const found = async (request: FastifyRequest) => {
    const { alias } = parseInput(AliasParams, request.params, 'params');
    const current = await registry.getAlias(alias);
    if (!current) throw new AppError('not_found', { detail: `No such alias: ${alias}` });
    return current;
  };
  const audit = (request: FastifyRequest, action: AuditAction, alias: string, details: Record<string, unknown>) =>
    recordAudit(store, request, { action, target: `alias:${alias}`, details });
  const changed = async (name: string) => {
    onChange?.(name);
    return (await registry.getAlias(name)) as ModelAlias;
  };

  /** A version's model must be offered and its prompt template must exist in the first organisation. */
  const checkVersion = async (input: ModelVersionInput, path: string) => {
    await checkModel(input.model);
    if (input.prompt)
      await resolvePrompt(HOME_ORG_ID, input.prompt).catch((error: unknown) => {
        if (AppError.isInstance(error) && error.code === 'not_found') throw invalid(`${path}.prompt`, error.message);
        throw error;
      });
  };
  /** The policy and the shadow may name only versions the alias has. */
  const checkNamedVersions = (alias: ModelAlias, input: AliasInput) => {
    const have = alias.versions.map((v) => v.version);
    const explain = (missing: number[]) =>
      `names version ${missing.join(', ')}, which ${alias.name} does not have (it has ${have.length}); add it first`;
    const policyMissing = missingVersions({ policy: input.policy }, have);
    if (policyMissing.length > 0) throw invalid('body.policy', explain(policyMissing));
    if (input.shadow && !have.includes(input.shadow.version)) throw invalid('body.shadow.version', explain([input.shadow.version]));
  };
  /** Makes a version the only one served (keeping description, shadow and cache), then records why. */
  const fixAt = async (alias: ModelAlias, version: number, state: Omit<RolloutState, 'step' | 'stepStartedAt' | 'winner'>) => {
    const { name: _name, source: _source, revision: _revision, state: _state, versions: _versions, updatedAt: _at, ...kept } = alias;
    const put = await registry.putAlias(alias.name, { ...kept, policy: { type: 'fixed', version } }, 'api');
    await registry.setState(alias.name, put.revision, {
      ...state,
      step: 0,
      stepStartedAt: now().toISOString(),
      winner: alias.state?.winner ?? null,
      // A configured alias keeps the verdict over restarts while its file still says the policy decided.
      decidedFrom: alias.state?.decidedFrom ?? alias.policy,
    });
    return put;
  };

  app.get('/api/deployments', manage, async () => ({ aliases: await registry.listAliases() }));

  app.get('/api/deployments/:alias', manage, async (request): Promise<DeploymentStatus> => {
    const alias = await found(request);
    return { alias, ...(await describe(alias)) };
  });

  app.post('/api/deployments', manage, async (request, reply) => {
    const user = installationAdmin(request);
    const body = parseInput(CreateBody, request.body, 'body');
    if (await registry.getAlias(body.name)) throw new AppError('conflict', { detail: `The alias ${body.name} exists already` });
    await checkVersion(body.version, 'body.version');
    await registry.putAlias(
      body.name,
      { ...(body.description === undefined ? {} : { description: body.description }), policy: { type: 'fixed', version: 1 } },
      'api',
    );
    try {
      await registry.addVersion(body.name, body.version, user.id, { ifNext: 1 });
    } catch (error) {
      // Someone created the same alias at the same time and added its first version: theirs stands.
      if (AppError.isInstance(error) && error.code === 'conflict')
        throw new AppError('conflict', { detail: `The alias ${body.name} exists already` });
      await registry.deleteAlias(body.name);
      throw error;
    }
    await audit(request, 'deployment.create', body.name, { version: 1, model: body.version.model });
    return reply.status(201).send(await changed(body.name));
  });

  app.put('/api/deployments/:alias', manage, async (request, reply: FastifyReply) => {
    installationAdmin(request);
    const { alias: name } = parseInput(AliasParams, request.params, 'params');
    const input = parseInput(AliasInputSchema, request.body, 'body');
    const current = await registry.getAlias(name);
    // A policy names versions, and only an alias that exists has any: a new one is made with POST /api/deployments.
    if (!current) throw invalid('body.policy', `the alias ${name} has no versions yet; create it with POST /api/deployments`);
    checkNamedVersions(current, input);
    const put = await registry.putAlias(name, input, 'api');
    await audit(request, 'deployment.policy', name, { from: current.revision, revision: put.revision, policy: input.policy });
    return reply.status(200).send(await changed(name));
  });

  app.post('/api/deployments/:alias/versions', manage, async (request, reply) => {
    const user = installationAdmin(request);
    const alias = await found(request);
    const input = parseInput(ModelVersionInputSchema, request.body, 'body');
    await checkVersion(input, 'body');
    const version = await registry.addVersion(alias.name, input, user.id);
    await audit(request, 'deployment.version', alias.name, { version: version.version, model: version.model });
    onChange?.(alias.name);
    return reply.status(201).send(version);
  });

  app.post('/api/deployments/:alias/rollback', manage, async (request) => {
    const user = installationAdmin(request);
    const alias = await found(request);
    const body = parseInput(RollbackBody, request.body, 'body');
    if (!alias.versions.some((v) => v.version === body.version))
      throw invalid('body.version', `${alias.name} has no version ${body.version}`);
    const put = await fixAt(alias, body.version, {
      status: 'rolled-back',
      reason: `rolled back to version ${body.version} by ${user.email}${body.reason ? `: ${body.reason}` : ''}`,
    });
    await audit(request, 'deployment.rollback', alias.name, { from: alias.policy, version: body.version, revision: put.revision });
    return changed(alias.name);
  });

  app.post('/api/deployments/:alias/promote', manage, async (request) => {
    const user = installationAdmin(request);
    const alias = await found(request);
    const body = parseInput(PromoteBody, request.body ?? {}, 'body');
    const { policy } = alias;
    const winner = policy.type === 'ab' ? policy.variants.find((v) => v.name === alias.state?.winner) : undefined;
    const version = body.version ?? (policy.type === 'canary' ? policy.candidate : winner?.version);
    if (version === undefined)
      throw new AppError('conflict', {
        detail:
          policy.type === 'ab'
            ? `The A/B test of ${alias.name} has no winner yet; name the version to promote`
            : `${alias.name} runs no canary or A/B test; name the version to promote`,
      });
    if (!alias.versions.some((v) => v.version === version)) throw invalid('body.version', `${alias.name} has no version ${version}`);
    const put = await fixAt(alias, version, {
      status: 'promoted',
      reason: `version ${version} promoted by ${user.email}${body.reason ? `: ${body.reason}` : ''}`,
    });
    await audit(request, 'deployment.promote', alias.name, { from: alias.policy, version, revision: put.revision });
    return changed(alias.name);
  });

  /** Pause and resume: a compare-and-set of the state at the revision read, so a policy put meanwhile wins. */
  const transition = (action: 'deployment.pause' | 'deployment.resume', from: RolloutState['status'], to: RolloutState['status']) =>
    async function changeState(request: FastifyRequest) {
      const user = installationAdmin(request);
      const alias = await found(request);
      const { reason } = parseInput(ReasonBody, request.body ?? {}, 'body');
      const state = alias.state;
      if (!state || state.status !== from)
        throw new AppError('conflict', {
          detail: `${alias.name} has no ${from === 'running' ? 'running' : 'paused'} rollout or experiment (it is ${state?.status ?? 'at a fixed or weighted policy'})`,
        });
      const next: RolloutState = {
        ...state,
        status: to,
        // A resumed step lasts its whole time again.
        ...(to === 'running' ? { stepStartedAt: now().toISOString() } : {}),
        reason: `${to === 'paused' ? 'paused' : 'resumed'} by ${user.email}${reason ? `: ${reason}` : ''}`,
      };
      if (!(await registry.setState(alias.name, alias.revision, next)))
        throw new AppError('conflict', { detail: `${alias.name} changed meanwhile; read it again` });
      await audit(request, action, alias.name, { revision: alias.revision, step: state.step });
      return changed(alias.name);
    };
  app.post('/api/deployments/:alias/pause', manage, transition('deployment.pause', 'running', 'paused'));
  app.post('/api/deployments/:alias/resume', manage, transition('deployment.resume', 'paused', 'running'));

  app.delete('/api/deployments/:alias', manage, async (request, reply) => {
    installationAdmin(request);
    const alias = await found(request);
    await registry.deleteAlias(alias.name);
    await audit(request, 'deployment.delete', alias.name, {
      revision: alias.revision,
      versions: alias.versions.length,
      source: alias.source,
    });
    onChange?.(alias.name);
    return reply.status(204).send();
  });
}
