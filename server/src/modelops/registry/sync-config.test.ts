import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config';
import type { ConfiguredAlias } from '../../config/config-schema';
import { openSqliteStore } from '../../store/sqlite/sqlite-store';
import { syncConfiguredAliases } from './sync-config';

const dir = mkdtempSync(join(tmpdir(), 'axon-alias-sync-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let store: ReturnType<typeof openSqliteStore>;
let opened = 0;
beforeEach(() => {
  store?.close();
  store = openSqliteStore({ path: join(dir, `axon-${++opened}.db`) });
});
afterAll(() => store?.close());

/** The `aliases` section as `loadConfig` parses it from the file (defaults filled in). */
function configured(aliases: Record<string, unknown>): Record<string, ConfiguredAlias> {
  return loadConfig({ env: {}, cwd: dir, overrides: { dataDir: dir, aliases } }).aliases;
}

const V1 = { model: 'sim/sim-1', params: { temperature: 0.2 } };
const V2 = { model: 'sim/sim-2', note: 'longer answers' };
const actions = async () => (await store.audit.list({ limit: 100 })).map((e) => [e.action, e.target]);

describe('syncing the configuration’s aliases at start', () => {
  it('creates an alias with its versions and policy, and a restart changes nothing (same revision, no events)', async () => {
    const aliases = configured({ support: { description: 'Support chat', versions: [V1, V2], policy: { type: 'fixed', version: 2 } } });
    expect(await syncConfiguredAliases(store, aliases, store.audit)).toEqual({
      created: ['support'],
      versionsAdded: [
        { alias: 'support', version: 1 },
        { alias: 'support', version: 2 },
      ],
      policiesPut: [],
    });
    const alias = await store.modelRegistry.getAlias('support');
    expect(alias).toMatchObject({ source: 'config', revision: 1, description: 'Support chat', policy: { type: 'fixed', version: 2 } });
    expect(alias?.versions.map((v) => [v.version, v.model, v.createdBy])).toEqual([
      [1, 'sim/sim-1', null],
      [2, 'sim/sim-2', null],
    ]);
    expect(await actions()).toEqual([
      ['deployment.version', 'alias:support'],
      ['deployment.version', 'alias:support'],
      ['deployment.create', 'alias:support'],
    ]);

    expect(await syncConfiguredAliases(store, aliases, store.audit)).toEqual({ created: [], versionsAdded: [], policiesPut: [] });
    expect((await store.modelRegistry.getAlias('support'))?.revision).toBe(1);
    expect(await actions()).toHaveLength(3);
  });

  it('adds appended versions and puts a changed policy; the file wins over a change made through the API', async () => {
    await syncConfiguredAliases(store, configured({ support: { versions: [V1], policy: { type: 'fixed', version: 1 } } }), store.audit);
    const canary = { type: 'canary', stable: 1, candidate: 2 };
    const result = await syncConfiguredAliases(store, configured({ support: { versions: [V1, V2], policy: canary } }), store.audit);
    expect(result).toEqual({ created: [], versionsAdded: [{ alias: 'support', version: 2 }], policiesPut: ['support'] });
    expect(await store.modelRegistry.getAlias('support')).toMatchObject({
      revision: 2,
      policy: { ...canary, steps: [5, 25, 50, 100] },
      state: { status: 'running', step: 0 },
    });

    // Through the API: a version 3 and a fixed policy. At the next start the file's canary wins
    // again, and version 3, which the file does not declare, stays.
    await store.modelRegistry.addVersion('support', { ...V1, params: {}, endpoints: [], balance: 'weighted', fallbacks: [] }, 'user-1');
    await store.modelRegistry.putAlias('support', { policy: { type: 'fixed', version: 3 } }, 'api');
    const again = await syncConfiguredAliases(store, configured({ support: { versions: [V1, V2], policy: canary } }), store.audit);
    expect(again).toEqual({ created: [], versionsAdded: [], policiesPut: ['support'] });
    const alias = await store.modelRegistry.getAlias('support');
    expect(alias).toMatchObject({ source: 'config', revision: 4, policy: { type: 'canary' } });
    expect(alias?.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect((await actions()).map(([action]) => action)).toContain('deployment.policy');
  });

  it('keeps a verdict on the configured rollout over restarts, until the file says something else', async () => {
    const canary = { type: 'canary', stable: 1, candidate: 2 };
    const file = configured({ support: { versions: [V1, V2], policy: canary } });
    await syncConfiguredAliases(store, file, store.audit);
    const running = await store.modelRegistry.getAlias('support');
    if (!running) throw new Error('no alias');
    // The controller rolled the canary back: the policy is fixed at the stable version.
    const put = await store.modelRegistry.putAlias('support', { policy: { type: 'fixed', version: 1 } }, 'config');
    await store.modelRegistry.setState('support', put.revision, {
      status: 'rolled-back',
      step: 0,
      stepStartedAt: new Date().toISOString(),
      reason: 'error rate 12 % > 5 %',
      winner: null,
      decidedFrom: running.policy,
    });
    expect(await syncConfiguredAliases(store, file, store.audit)).toEqual({ created: [], versionsAdded: [], policiesPut: [] });
    expect(await store.modelRegistry.getAlias('support')).toMatchObject({
      policy: { type: 'fixed', version: 1 },
      state: { status: 'rolled-back' },
    });
    // A new rollout in the file starts.
    const next = configured({ support: { versions: [V1, V2], policy: { ...canary, steps: [10, 100] } } });
    expect((await syncConfiguredAliases(store, next, store.audit)).policiesPut).toEqual(['support']);
    expect(await store.modelRegistry.getAlias('support')).toMatchObject({
      policy: { type: 'canary', steps: [10, 100] },
      state: { status: 'running' },
    });
  });

  it('refuses to start when a deployed version was edited in the file, naming the alias and version, and writes nothing', async () => {
    await syncConfiguredAliases(store, configured({ support: { versions: [V1, V2], policy: { type: 'fixed', version: 1 } } }), store.audit);
    const edited = configured({
      support: { versions: [V1, { ...V2, params: { temperature: 0.9 } }, V1], policy: { type: 'fixed', version: 3 } },
    });
    const error = await syncConfiguredAliases(store, edited, store.audit).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([expect.stringContaining('version 2 of support')]);
    expect((error as ConfigError).message).toContain('versions are immutable; add a new one');
    const alias = await store.modelRegistry.getAlias('support');
    expect(alias?.versions).toHaveLength(2);
    expect(alias?.policy).toEqual({ type: 'fixed', version: 1 });
  });

  it('adds each version once when two replicas sync the same file at the same time', async () => {
    const aliases = configured({ support: { versions: [V1, V2, V1], policy: { type: 'fixed', version: 3 } } });
    await Promise.all([syncConfiguredAliases(store, aliases, store.audit), syncConfiguredAliases(store, aliases, store.audit)]);
    const alias = await store.modelRegistry.getAlias('support');
    expect(alias?.versions.map((v) => [v.version, v.model])).toEqual([
      [1, 'sim/sim-1'],
      [2, 'sim/sim-2'],
      [3, 'sim/sim-1'],
    ]);
  });

  it('refuses a configuration whose policy or shadow names a version the alias does not declare', () => {
    expect(() => configured({ support: { versions: [V1], policy: { type: 'canary', stable: 1, candidate: 2 } } })).toThrow(
      /aliases\.support\.policy.*names version 2, but the alias declares 1/,
    );
    expect(() =>
      configured({ support: { versions: [V1], policy: { type: 'fixed', version: 1 }, shadow: { version: 4, share: 0.1 } } }),
    ).toThrow(/names version 4/);
    expect(() => configured({ 'Bad Name': { versions: [V1], policy: { type: 'fixed', version: 1 } } })).toThrow(ConfigError);
    expect(() => configured({ support: { versions: [], policy: { type: 'fixed', version: 1 } } })).toThrow(ConfigError);
  });
});
