import { type DeploymentStatus, type ModelAlias, ModelAliasSchema, type ModelVersion, ModelVersionSchema } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthService } from '../../auth/auth-service';
import { WebClient } from '../../testing/http-client';
import { startTestServer, type TestServer } from '../../testing/test-server';

interface Problem {
  status: number;
  code: string;
  detail: string;
  errors?: Array<{ path: string; message: string }>;
}

let t: TestServer;
let builder: WebClient;
let member: WebClient;
let otherBuilder: WebClient;
let admin: WebClient;

beforeAll(async () => {
  t = await startTestServer();
  const auth = createAuthService({ store: t.server.store, sessionTtlMs: 60_000 });
  const acme = await t.server.store.organizations.create({ slug: 'acme', name: 'Acme', limits: {}, promptLogMode: null });
  const users = [
    ['builder@example.com', 'builder', undefined],
    ['member@example.com', 'member', undefined],
    ['admin@example.com', 'admin', undefined],
    ['builder@acme.example', 'builder', acme.id],
  ] as const;
  for (const [email, role, orgId] of users)
    await auth.createUser({ email, password: `${role} password 1`, role, ...(orgId ? { orgId } : {}) });
  const signIn = async (email: string, password: string) => {
    const client = new WebClient(t.url);
    await client.login(email, password);
    return client;
  };
  builder = await signIn('builder@example.com', 'builder password 1');
  member = await signIn('member@example.com', 'member password 1');
  admin = await signIn('admin@example.com', 'admin password 1');
  otherBuilder = await signIn('builder@acme.example', 'builder password 1');
  // A template of the first organisation that versions may name.
  const template = await builder.json('POST', '/api/prompts', { name: 'support', system: 'You help customers.', message: '{{ input }}' });
  expect(template.status).toBe(201);
});
afterAll(() => t?.close());

const auditActions = async (alias: string) =>
  (await t.server.store.audit.list({ limit: 200 })).filter((e) => e.target === `alias:${alias}`).map((e) => e.action);

const create = (name: string, model = 'sim/sim-1') =>
  builder.json<ModelAlias>('POST', '/api/deployments', {
    name,
    description: 'Support chat',
    version: { model, params: { temperature: 0.2 } },
  });

describe('model aliases over /api/deployments', () => {
  it('creates an alias with version 1 at a fixed policy, refuses a second of the same name, and lists it', async () => {
    const created = await create('support');
    expect(created.status).toBe(201);
    expect(ModelAliasSchema.parse(created.body)).toEqual(created.body);
    expect(created.body).toMatchObject({
      name: 'support',
      description: 'Support chat',
      policy: { type: 'fixed', version: 1 },
      source: 'api',
      revision: 1,
      state: null,
      versions: [{ alias: 'support', version: 1, model: 'sim/sim-1', params: { temperature: 0.2 }, createdBy: expect.any(String) }],
    });
    expect((await create('support')).status).toBe(409);

    const listed = await builder.json<{ aliases: ModelAlias[] }>('GET', '/api/deployments');
    expect(listed.status).toBe(200);
    expect(listed.body.aliases.map((a) => a.name)).toContain('support');
    const status = await builder.json<DeploymentStatus>('GET', '/api/deployments/support');
    expect(status.body).toEqual({ alias: created.body, arms: [], report: null, shadow: null });
    expect((await builder.json('GET', '/api/deployments/no-such-alias')).status).toBe(404);
    expect(await auditActions('support')).toEqual(['deployment.create']);
  });

  it('adds immutable versions whose model the catalog offers and whose prompt exists in the first organisation', async () => {
    const v2 = await builder.json<ModelVersion>('POST', '/api/deployments/support/versions', { model: 'sim/sim-2', prompt: 'support@1' });
    expect(v2.status).toBe(201);
    expect(ModelVersionSchema.parse(v2.body)).toMatchObject({ alias: 'support', version: 2, model: 'sim/sim-2', prompt: 'support@1' });

    const unknownModel = await builder.json<Problem>('POST', '/api/deployments/support/versions', { model: 'sim/no-such-model' });
    expect(unknownModel.status).toBe(404);
    expect(unknownModel.body.code).toBe('model_not_found');
    const unknownPrompt = await builder.json<Problem>('POST', '/api/deployments/support/versions', {
      model: 'sim/sim-1',
      prompt: 'support@9',
    });
    expect(unknownPrompt.status).toBe(400);
    expect(unknownPrompt.body.errors?.[0]?.path).toBe('body.prompt');
    const malformed = await builder.json<Problem>('POST', '/api/deployments/support/versions', { model: 'sim/sim-1', balance: 'random' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors?.[0]?.path).toBe('body.balance');
    expect((await builder.json('POST', '/api/deployments/no-such-alias/versions', { model: 'sim/sim-1' })).status).toBe(404);
    // An alias whose first version's model is not offered is not made.
    expect((await create('ghost', 'sim/no-such-model')).status).toBe(404);
    expect((await builder.json('GET', '/api/deployments/ghost')).status).toBe(404);

    const status = await builder.json<DeploymentStatus>('GET', '/api/deployments/support');
    expect(status.body.alias.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(await auditActions('support')).toEqual(['deployment.version', 'deployment.create']);
  });

  it('puts a policy naming versions that exist, bumping the revision, and refuses one naming a version it lacks', async () => {
    const missing = await builder.json<Problem>('PUT', '/api/deployments/support', {
      policy: { type: 'canary', stable: 1, candidate: 3 },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.errors?.[0]).toMatchObject({ path: 'body.policy', message: expect.stringContaining('version 3') });
    const badShadow = await builder.json<Problem>('PUT', '/api/deployments/support', {
      policy: { type: 'fixed', version: 1 },
      shadow: { version: 7, share: 0.5 },
    });
    expect(badShadow.body.errors?.[0]?.path).toBe('body.shadow.version');
    expect((await builder.json<Problem>('PUT', '/api/deployments/support', { policy: { type: 'fixed' } })).status).toBe(400);
    // A new alias has no versions for a policy to name.
    expect((await builder.json<Problem>('PUT', '/api/deployments/newcomer', { policy: { type: 'fixed', version: 1 } })).status).toBe(400);

    const put = await builder.json<ModelAlias>('PUT', '/api/deployments/support', {
      description: 'Support chat, canary of v2',
      policy: { type: 'canary', stable: 1, candidate: 2, steps: [10, 50, 100] },
      cache: { exact: true, ttlSeconds: 120 },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      revision: 2,
      description: 'Support chat, canary of v2',
      policy: { type: 'canary', stable: 1, candidate: 2, steps: [10, 50, 100], minSamples: 100 },
      cache: { exact: true, ttlSeconds: 120 },
      state: { status: 'running', step: 0 },
    });
    expect((await auditActions('support'))[0]).toBe('deployment.policy');
  });

  it('pauses and resumes a running canary, and refuses either when there is nothing to pause or resume', async () => {
    expect((await builder.json<Problem>('POST', '/api/deployments/support/resume', {})).status).toBe(409);
    const paused = await builder.json<ModelAlias>('POST', '/api/deployments/support/pause', { reason: 'looking at the logs' });
    expect(paused.status).toBe(200);
    expect(paused.body.state).toMatchObject({ status: 'paused', reason: 'paused by builder@example.com: looking at the logs' });
    expect(paused.body.revision).toBe(2);
    expect((await builder.json<Problem>('POST', '/api/deployments/support/pause')).status).toBe(409);
    const resumed = await builder.json<ModelAlias>('POST', '/api/deployments/support/resume');
    expect(resumed.status).toBe(200);
    expect(resumed.body.state?.status).toBe('running');
    expect((await auditActions('support')).slice(0, 2)).toEqual(['deployment.resume', 'deployment.pause']);
  });

  it('promotes the canary’s candidate, and rolls back to a version that exists', async () => {
    const promoted = await builder.json<ModelAlias>('POST', '/api/deployments/support/promote', {});
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({
      policy: { type: 'fixed', version: 2 },
      revision: 3,
      description: 'Support chat, canary of v2',
      cache: { exact: true, ttlSeconds: 120 },
      state: { status: 'promoted', reason: expect.stringContaining('version 2 promoted') },
    });
    // A fixed policy has nothing to promote unless a version is named.
    expect((await builder.json<Problem>('POST', '/api/deployments/support/promote', {})).status).toBe(409);
    expect((await builder.json<Problem>('POST', '/api/deployments/support/pause', {})).status).toBe(409);

    expect((await builder.json<Problem>('POST', '/api/deployments/support/rollback', { version: 9 })).status).toBe(400);
    const rolledBack = await builder.json<ModelAlias>('POST', '/api/deployments/support/rollback', { version: 1, reason: 'tone' });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body).toMatchObject({
      policy: { type: 'fixed', version: 1 },
      revision: 4,
      state: { status: 'rolled-back', reason: 'rolled back to version 1 by builder@example.com: tone' },
    });
    expect((await builder.json<ModelAlias>('POST', '/api/deployments/support/promote', { version: 2 })).body.policy).toEqual({
      type: 'fixed',
      version: 2,
    });
    expect((await auditActions('support')).slice(0, 3)).toEqual(['deployment.promote', 'deployment.rollback', 'deployment.promote']);
  });

  it('promotes an A/B test’s winner once it has one', async () => {
    await builder.json('PUT', '/api/deployments/support', {
      policy: {
        type: 'ab',
        variants: [
          { name: 'terse', version: 1 },
          { name: 'warm', version: 2 },
        ],
      },
    });
    const noWinner = await builder.json<Problem>('POST', '/api/deployments/support/promote', {});
    expect(noWinner.status).toBe(409);
    expect(noWinner.body.detail).toContain('no winner');
    const alias = (await t.server.store.modelRegistry.getAlias('support')) as ModelAlias;
    await t.server.store.modelRegistry.setState('support', alias.revision, {
      ...(alias.state as NonNullable<ModelAlias['state']>),
      status: 'stopped',
      winner: 'terse',
    });
    const promoted = await builder.json<ModelAlias>('POST', '/api/deployments/support/promote', {});
    expect(promoted.body.policy).toEqual({ type: 'fixed', version: 1 });
    expect(promoted.body.state).toMatchObject({ status: 'promoted', winner: 'terse' });
  });

  it('lets only models:manage in, and writes only to accounts of the first organisation', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/deployments', undefined],
      ['GET', '/api/deployments/support', undefined],
      ['POST', '/api/deployments/support/versions', { model: 'sim/sim-1' }],
      ['DELETE', '/api/deployments/support', undefined],
    ] as const)
      expect((await member.json(method, path, body)).status, `member ${method} ${path}`).toBe(403);

    // Another organisation's builder reads the installation's aliases but changes none.
    expect((await otherBuilder.json('GET', '/api/deployments/support')).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/deployments', { name: 'acme-chat', version: { model: 'sim/sim-1' } }],
      ['PUT', '/api/deployments/support', { policy: { type: 'fixed', version: 1 } }],
      ['POST', '/api/deployments/support/versions', { model: 'sim/sim-1' }],
      ['POST', '/api/deployments/support/rollback', { version: 1 }],
      ['POST', '/api/deployments/support/promote', { version: 1 }],
      ['POST', '/api/deployments/support/pause', {}],
      ['POST', '/api/deployments/support/resume', {}],
      ['DELETE', '/api/deployments/support', undefined],
    ] as const) {
      const refused = await otherBuilder.json<Problem>(method, path, body);
      expect(refused.status, `other organisation ${method} ${path}`).toBe(403);
      expect(refused.body.code).toBe('forbidden');
    }
    expect((await builder.json('GET', '/api/deployments/acme-chat')).status).toBe(404);
    expect((await builder.json<ModelAlias>('GET', '/api/deployments/support')).status).toBe(200);
  });

  it('deletes an alias with its versions', async () => {
    expect((await create('short-lived')).status).toBe(201);
    const deleted = await admin.request('DELETE', '/api/deployments/short-lived');
    expect(deleted.status).toBe(204);
    expect((await admin.json('GET', '/api/deployments/short-lived')).status).toBe(404);
    expect((await admin.request('DELETE', '/api/deployments/short-lived')).status).toBe(404);
    expect(await auditActions('short-lived')).toEqual(['deployment.delete', 'deployment.create']);
    const event = (await t.server.store.audit.list({ limit: 5, action: 'deployment.delete' }))[0];
    expect(event).toMatchObject({ actorEmail: 'admin@example.com', target: 'alias:short-lived' });
  });
});

describe('aliases declared in the configuration', () => {
  it('are in the store when the server starts, marked as from the file', async () => {
    const configuredServer = await startTestServer({
      overrides: {
        aliases: {
          'support-chat': {
            description: 'From the file',
            versions: [{ model: 'sim/sim-1' }, { model: 'sim/sim-2' }],
            policy: {
              type: 'weighted',
              split: [
                { version: 1, weight: 9 },
                { version: 2, weight: 1 },
              ],
            },
          },
        },
      },
    });
    try {
      const alias = await configuredServer.server.store.modelRegistry.getAlias('support-chat');
      expect(alias).toMatchObject({
        source: 'config',
        revision: 1,
        description: 'From the file',
        policy: { type: 'weighted', sticky: 'conversation' },
      });
      expect(alias?.versions.map((v) => v.model)).toEqual(['sim/sim-1', 'sim/sim-2']);
      expect(configuredServer.logs.some((line) => line.includes('model aliases synced from the configuration'))).toBe(true);
    } finally {
      await configuredServer.close();
    }
  });
});
