import { randomBytes } from 'node:crypto';
import { type AliasInput, type ModelVersionInput, ModelVersionInputSchema, TrafficPolicySchema } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelRegistryRepository } from '../modelops/types';

/** What the contract asks of an engine: a new, empty, migrated store reading time from `now`, and how to close it. */
export type OpenModelRegistryStore = (options: {
  now: () => Date;
}) => Promise<{ store: { modelRegistry: ModelRegistryRepository }; close(): Promise<void> }>;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const uniqueAlias = (prefix = 'chat') => `${prefix}-${randomBytes(4).toString('hex')}`;
const buildVersion = (overrides: Partial<ModelVersionInput> = {}): ModelVersionInput =>
  ModelVersionInputSchema.parse({ model: 'sim/sim-1', ...overrides });
const fixed = (version: number): AliasInput => ({ policy: { type: 'fixed', version } });

/** The behaviour of the model registry (aliases, immutable versions, served responses) every store engine must have. */
export function describeModelRegistryContract(engine: string, open: OpenModelRegistryStore): void {
  describe(`the model registry in the ${engine} store`, () => {
    let registry: ModelRegistryRepository;
    let close: () => Promise<void>;
    let at = Date.UTC(2030, 0, 1);
    /** A clock that moves one second on each reading. */
    const now = () => {
      at += 1000;
      return new Date(at);
    };

    beforeAll(async () => {
      const opened = await open({ now });
      registry = opened.store.modelRegistry;
      close = opened.close;
    });
    afterAll(() => close?.());

    it('creates an alias at revision 1 and bumps the revision at every put, replacing description and policies', async () => {
      const name = uniqueAlias();
      const created = await registry.putAlias(
        name,
        { description: 'Support chat', ...fixed(1), shadow: { version: 2, share: 0.1 }, cache: { exact: true, ttlSeconds: 60 } },
        'config',
      );
      expect(created).toEqual({
        name,
        description: 'Support chat',
        policy: { type: 'fixed', version: 1 },
        shadow: { version: 2, share: 0.1 },
        cache: { exact: true, ttlSeconds: 60 },
        source: 'config',
        revision: 1,
        state: null,
        versions: [],
        updatedAt: expect.stringMatching(ISO),
      });
      const replaced = await registry.putAlias(name, fixed(2), 'api');
      expect(replaced).toEqual({
        name,
        policy: { type: 'fixed', version: 2 },
        source: 'api',
        revision: 2,
        state: null,
        versions: [],
        updatedAt: expect.any(String),
      });
      expect(replaced.updatedAt > created.updatedAt).toBe(true);
      expect(await registry.getAlias(name)).toEqual(replaced);
      expect(await registry.getAlias('no-such-alias')).toBeUndefined();
    });

    it('starts canaries and A/B tests running at their first step, and fixed policies with no state', async () => {
      const name = uniqueAlias();
      const canary = TrafficPolicySchema.parse({ type: 'canary', stable: 1, candidate: 2 });
      const put = await registry.putAlias(name, { policy: canary }, 'api');
      expect(put.policy).toEqual(canary);
      expect(put.state).toEqual({ status: 'running', step: 0, stepStartedAt: expect.stringMatching(ISO), reason: null, winner: null });
      const ab = TrafficPolicySchema.parse({
        type: 'ab',
        variants: [
          { name: 'a', version: 1 },
          { name: 'b', version: 2 },
        ],
      });
      expect((await registry.putAlias(name, { policy: ab }, 'api')).state?.status).toBe('running');
      expect((await registry.putAlias(name, fixed(1), 'api')).state).toBeNull();
    });

    it('numbers versions 1, 2, … per alias, keeps them as made, and refuses an alias that does not exist', async () => {
      const name = uniqueAlias();
      const other = uniqueAlias();
      await registry.putAlias(name, fixed(1), 'api');
      await registry.putAlias(other, fixed(1), 'api');
      const spec = buildVersion({
        params: { temperature: 0.2, stop: ['\n\n'] },
        prompt: 'support@3',
        endpoints: [{ connection: 'vllm-a', model: 'llama', weight: 2, maxConcurrent: 8 }],
        balance: 'least-outstanding',
        fallbacks: ['openai/gpt-4o-mini'],
        note: 'first',
      });
      const first = await registry.addVersion(name, spec, 'user-1');
      expect(first).toEqual({ ...spec, alias: name, version: 1, createdAt: expect.stringMatching(ISO), createdBy: 'user-1' });
      expect((await registry.addVersion(name, buildVersion({ model: 'sim/sim-2' }), null)).version).toBe(2);
      expect((await registry.addVersion(other, buildVersion(), null)).version).toBe(1);

      const alias = await registry.getAlias(name);
      expect(alias?.versions.map((v) => [v.version, v.model, v.createdBy])).toEqual([
        [1, 'sim/sim-1', 'user-1'],
        [2, 'sim/sim-2', null],
      ]);
      expect(alias?.versions[0]).toEqual(first);
      // Adding versions changes no policy: the revision stays.
      expect(alias?.revision).toBe(1);
      await expect(registry.addVersion('no-such-alias', buildVersion(), null)).rejects.toMatchObject({ code: 'not_found' });
      // `ifNext`: added only as the number the caller expects.
      await expect(registry.addVersion(name, buildVersion(), null, { ifNext: 2 })).rejects.toMatchObject({ code: 'conflict' });
      expect((await registry.addVersion(name, buildVersion({ note: 'third' }), null, { ifNext: 3 })).version).toBe(3);
      expect((await registry.getAlias(name))?.versions).toHaveLength(3);
    });

    it('gives versions added at the same time distinct numbers, none skipped', async () => {
      const name = uniqueAlias();
      await registry.putAlias(name, fixed(1), 'api');
      const added = await Promise.all(
        Array.from({ length: 8 }, (_, i) => registry.addVersion(name, buildVersion({ note: `n${i}` }), null)),
      );
      expect(added.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      const stored = (await registry.getAlias(name))?.versions ?? [];
      expect(stored.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      for (const version of added) expect(stored.find((v) => v.version === version.version)?.note).toBe(version.note);
    });

    it('sets the state only at the revision the caller read (compare-and-set)', async () => {
      const name = uniqueAlias();
      const alias = await registry.putAlias(
        name,
        { policy: TrafficPolicySchema.parse({ type: 'canary', stable: 1, candidate: 2 }) },
        'api',
      );
      const paused = { status: 'paused' as const, step: 1, stepStartedAt: '2030-01-01T00:00:00.000Z', reason: 'by hand', winner: null };
      expect(await registry.setState(name, alias.revision, paused)).toBe(true);
      expect((await registry.getAlias(name))?.state).toEqual(paused);
      expect((await registry.getAlias(name))?.revision).toBe(alias.revision);

      await registry.putAlias(name, fixed(2), 'api');
      expect(await registry.setState(name, alias.revision, { ...paused, status: 'running' })).toBe(false);
      expect((await registry.getAlias(name))?.state).toBeNull();
      expect(await registry.setState(name, alias.revision + 1, paused)).toBe(true);
      expect(await registry.setState(name, alias.revision + 1, null)).toBe(true);
      expect((await registry.getAlias(name))?.state).toBeNull();
      expect(await registry.setState('no-such-alias', 1, paused)).toBe(false);
    });

    it('lists aliases by name with their versions, and deletes an alias with its versions', async () => {
      const b = uniqueAlias('list-b');
      const a = uniqueAlias('list-a');
      await registry.putAlias(b, fixed(1), 'api');
      await registry.putAlias(a, fixed(1), 'api');
      await registry.addVersion(a, buildVersion(), null);
      const listed = (await registry.listAliases()).filter((alias) => alias.name === a || alias.name === b);
      expect(listed.map((alias) => [alias.name, alias.versions.length])).toEqual([
        [a, 1],
        [b, 0],
      ]);

      expect(await registry.deleteAlias(a)).toBe(true);
      expect(await registry.deleteAlias(a)).toBe(false);
      expect(await registry.getAlias(a)).toBeUndefined();
      // A new alias of the same name starts its versions over.
      await registry.putAlias(a, fixed(1), 'api');
      expect((await registry.addVersion(a, buildVersion(), null)).version).toBe(1);
    });

    it('remembers which version served a response (the first record wins) and forgets old ones', async () => {
      const served = {
        responseId: `resp_${randomBytes(6).toString('hex')}`,
        orgId: 'org_a',
        userId: 'user_a',
        alias: 'chat',
        version: 2,
        revision: 3,
        arm: 'candidate',
        source: 'api' as const,
      };
      await registry.recordServed(served);
      await registry.recordServed({ ...served, version: 1, arm: 'stable', source: 'web' });
      expect(await registry.servedBy(served.responseId)).toEqual(served);
      expect(await registry.servedBy('no-such-response')).toBeUndefined();

      // Feedback by the served user only, with the value it replaced.
      expect(await registry.setServedFeedback(served.responseId, 'someone-else', 'up', null)).toBeUndefined();
      expect(await registry.setServedFeedback('no-such-response', served.userId, 'up', null)).toBeUndefined();
      expect(await registry.setServedFeedback(served.responseId, served.userId, 'up', 'clear')).toEqual({ previous: null });
      expect(await registry.setServedFeedback(served.responseId, served.userId, 'down', 'wrong after all')).toEqual({ previous: 'up' });
      expect(await registry.setServedFeedback(served.responseId, served.userId, null, null)).toEqual({ previous: 'down' });
      expect(await registry.setServedFeedback(served.responseId, served.userId, 'up', null)).toEqual({ previous: null });

      const cut = new Date(at + 500);
      const later = { ...served, responseId: `msg_${randomBytes(6).toString('hex')}`, source: 'web' as const };
      await registry.recordServed(later);
      expect(await registry.pruneServed(cut)).toBe(1);
      expect(await registry.servedBy(served.responseId)).toBeUndefined();
      expect(await registry.servedBy(later.responseId)).toEqual(later);
    });
  });
}
