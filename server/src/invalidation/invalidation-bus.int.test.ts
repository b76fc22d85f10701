import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalSignals } from '../agents/approval-gate';
import type { McpConnection } from '../agents/mcp/mcp-client';
import { createMcpTools } from '../agents/mcp/mcp-tools';
import { createAuthService } from '../auth/auth-service';
import { API_KEY_PREFIX } from '../auth/tokens';
import { until } from '../jobs/job-queue-contract';
import { HOME_ORG_ID, openSqliteStore, type Store } from '../store';
import { createOrgSettings } from '../tenancy/org-settings';
import { connectTestRedis, testRedisPrefix } from '../testing/test-redis';
import { createMemoryInvalidationBus, createRedisInvalidationBus, type InvalidationBus } from './invalidation-bus';

const connections: Redis[] = [];
const buses: InvalidationBus[] = [];

/** A replica's bus: its own publisher and subscriber connections, on the channel of `prefix`. */
async function redisBus(prefix: string, onError?: (error: unknown) => void): Promise<{ bus: InvalidationBus; subscriber: Redis }> {
  const publisher = await connectTestRedis();
  const subscriber = await connectTestRedis();
  connections.push(publisher);
  const bus = await createRedisInvalidationBus({ publisher, subscriber, channel: `${prefix}:invalidate`, ...(onError ? { onError } : {}) });
  buses.push(bus);
  return { bus, subscriber };
}

afterAll(async () => {
  await Promise.all(buses.map((b) => b.close()));
  await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
});

describe('the in-process bus', () => {
  it('calls the topic’s listeners at once, with the key, and no one else’s; unsubscribing stops them', () => {
    const bus = createMemoryInvalidationBus();
    const heard: Array<[string, string | undefined]> = [];
    const off = bus.subscribe('org-settings', (key) => heard.push(['org', key]));
    bus.subscribe('api-keys', (key) => heard.push(['keys', key]));
    bus.publish('org-settings', 'org_1');
    bus.publish('api-keys');
    off();
    bus.publish('org-settings', 'org_2');
    expect(heard).toEqual([
      ['org', 'org_1'],
      ['keys', undefined],
    ]);
  });

  it('goes on to the next listener when one throws, and reports the error', () => {
    const errors: unknown[] = [];
    const bus = createMemoryInvalidationBus({ onError: (error) => errors.push(error) });
    const heard: string[] = [];
    bus.subscribe('models', () => {
      throw new Error('broken listener');
    });
    bus.subscribe('models', () => heard.push('second'));
    bus.publish('models');
    expect(heard).toEqual(['second']);
    expect(errors).toMatchObject([{ message: 'broken listener' }]);
  });
});

describe('the Redis bus', () => {
  it('delivers a change to the other replica, and to the publisher once (at publish, not again from Redis)', async () => {
    const prefix = testRedisPrefix();
    const a = await redisBus(prefix);
    const b = await redisBus(prefix);
    const other = await redisBus(testRedisPrefix());
    const heardA: Array<string | undefined> = [];
    const heardB: Array<string | undefined> = [];
    const heardOther: Array<string | undefined> = [];
    a.bus.subscribe('org-settings', (key) => heardA.push(key));
    b.bus.subscribe('org-settings', (key) => heardB.push(key));
    other.bus.subscribe('org-settings', (key) => heardOther.push(key));
    a.bus.publish('org-settings', 'org_1');
    expect(heardA).toEqual(['org_1']);
    await until(() => heardB.length > 0, 2000, 'the other replica to hear the change');
    b.bus.publish('org-settings');
    await until(() => heardA.length > 1, 2000, 'the first replica to hear the second change');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(heardA).toEqual(['org_1', undefined]);
    expect(heardB).toEqual(['org_1', undefined]);
    // Another installation's prefix is another channel.
    expect(heardOther).toEqual([]);
  });

  it('tells every listener to drop everything after its connection to Redis was lost, then hears changes again', async () => {
    const prefix = testRedisPrefix();
    const a = await redisBus(prefix);
    const b = await redisBus(prefix);
    const heard: Array<string | undefined> = [];
    b.bus.subscribe('api-keys', (key) => heard.push(key ?? '(everything)'));
    const id = await b.subscriber.client('ID');
    const killer = await connectTestRedis();
    connections.push(killer);
    await killer.client('KILL', 'ID', String(id));
    await until(() => heard.length > 0, 5000, 'the reconnected replica to drop everything');
    expect(heard).toEqual(['(everything)']);
    // Subscribed again: a change published now arrives.
    await until(
      () => {
        a.bus.publish('api-keys', 'k1');
        return heard.includes('k1');
      },
      5000,
      'a change after the reconnect',
    );
  });
});

describe('caches on two replicas sharing a store and Redis', () => {
  let dir: string;
  let store: Store;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'axon-bus-'));
    store = openSqliteStore({ path: join(dir, 'axon.db') });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an organisation limit changed through one replica applies on the other at once, though its cache lives a minute', async () => {
    const prefix = testRedisPrefix();
    const a = createOrgSettings(store, { ttlMs: 60_000, bus: (await redisBus(prefix)).bus });
    const b = createOrgSettings(store, { ttlMs: 60_000, bus: (await redisBus(prefix)).bus });
    // Without a shared bus the change would wait for the minute: the control.
    const isolated = createOrgSettings(store, { ttlMs: 60_000, bus: createMemoryInvalidationBus() });
    expect((await b.get(HOME_ORG_ID))?.limits.rpm).toBeUndefined();
    expect((await isolated.get(HOME_ORG_ID))?.limits.rpm).toBeUndefined();
    await store.organizations.update(HOME_ORG_ID, { limits: { rpm: 7 } });
    a.forget(HOME_ORG_ID);
    await expect.poll(async () => (await b.get(HOME_ORG_ID))?.limits.rpm, { timeout: 1000, interval: 10 }).toBe(7);
    expect((await isolated.get(HOME_ORG_ID))?.limits.rpm).toBeUndefined();
  });

  it('an API key revoked, or its account disabled, through one replica is refused by the other at once', async () => {
    const prefix = testRedisPrefix();
    const options = { store, sessionTtlMs: 3_600_000, keyCacheMs: 60_000 };
    const a = createAuthService({ ...options, bus: (await redisBus(prefix)).bus });
    const b = createAuthService({ ...options, bus: (await redisBus(prefix)).bus });
    const isolated = createAuthService({ ...options, bus: createMemoryInvalidationBus() });
    const user = await a.createUser({ email: 'kim@example.com', password: 'a long password', role: 'member' });
    const first = await a.createApiKey(user.id, 'laptop');
    const second = await a.createApiKey(user.id, 'server');
    expect(first.key.startsWith(API_KEY_PREFIX)).toBe(true);
    for (const service of [b, isolated]) {
      expect((await service.authenticate({ bearer: first.key }))?.user.id).toBe(user.id);
      expect((await service.authenticate({ bearer: second.key }))?.user.id).toBe(user.id);
    }

    // Revoked through replica A, as the route does (revoke, then forget).
    expect(await store.apiKeys.revoke(first.apiKey.id, { userId: user.id })).toBe(true);
    a.forgetKeys();
    await expect
      .poll(
        () =>
          b.authenticate({ bearer: first.key }).then(
            () => 'accepted',
            (error) => error.code,
          ),
        { timeout: 1000, interval: 10 },
      )
      .toBe('unauthenticated');
    expect((await isolated.authenticate({ bearer: first.key }))?.user.id).toBe(user.id);

    // The account disabled through replica A: its other key stops on B too.
    expect(await store.users.disable(user.id, HOME_ORG_ID, new Date())).toBe('done');
    a.forgetKeys();
    await expect
      .poll(
        () =>
          b.authenticate({ bearer: second.key }).then(
            () => 'accepted',
            (error) => error.code,
          ),
        { timeout: 1000, interval: 10 },
      )
      .toBe('unauthenticated');
  });
});

describe('signals between replicas', () => {
  it('wakes the run waiting on an approval on one replica when the decision is taken on another', async () => {
    const prefix = testRedisPrefix();
    const waiting = createApprovalSignals((await redisBus(prefix)).bus);
    const deciding = createApprovalSignals((await redisBus(prefix)).bus);
    const woken: string[] = [];
    waiting.wait('approval-1', () => woken.push('approval-1'));
    waiting.wait('approval-2', () => woken.push('approval-2'));
    deciding.notify('approval-1');
    await until(() => woken.length > 0, 2000, 'the waiting run to wake');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(woken).toEqual(['approval-1']);
  });

  it('closes every replica’s connection to an MCP server changed through one of them', async () => {
    const prefix = testRedisPrefix();
    const dir = mkdtempSync(join(tmpdir(), 'axon-bus-mcp-'));
    const store = openSqliteStore({ path: join(dir, 'axon.db') });
    try {
      const server = await store.mcpServers.create({
        orgId: HOME_ORG_ID,
        name: 'notes',
        transport: 'http',
        command: null,
        args: [],
        url: 'http://127.0.0.1:9/mcp',
        secrets: {},
        createdBy: null,
      });
      // The MCP server is the network edge: a connection that records being closed.
      const closed: string[] = [];
      const connect = async (record: { id: string }): Promise<McpConnection> => ({
        listTools: async () => [],
        callTool: async () => ({ value: null, isError: false }),
        close: async () => void closed.push(record.id),
      });
      const a = createMcpTools({ store, connect, bus: (await redisBus(prefix)).bus });
      const b = createMcpTools({ store, connect, bus: (await redisBus(prefix)).bus });
      await a.refresh(server, AbortSignal.timeout(5000));
      await b.refresh(server, AbortSignal.timeout(5000));
      await a.forget(server.id);
      await until(() => closed.length === 2, 2000, 'the other replica to close its connection');
      expect(closed).toEqual([server.id, server.id]);
      await a.close();
      await b.close();
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
