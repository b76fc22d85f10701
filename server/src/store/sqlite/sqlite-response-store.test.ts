import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GatewayResponseRecord, Store } from '../store';
import { openSqliteStore } from './sqlite-store';

let dir: string;
let store: Store;
const alice = { userId: 'u_alice', orgId: 'org_default' };
const bob = { userId: 'u_bob', orgId: 'org_default' };
const aliceElsewhere = { userId: 'u_alice', orgId: 'org_other' };
const day = (n: number) => new Date(Date.UTC(2030, 0, n));

const buildResponse = (
  patch: Partial<Omit<GatewayResponseRecord, 'createdAt'>> & { id: string },
): Omit<GatewayResponseRecord, 'createdAt'> => ({
  owner: alice,
  kind: 'translated',
  model: 'sim/sim-1',
  connection: 'sim',
  previousId: null,
  inputItems: [{ type: 'message', role: 'user', content: `question ${patch.id}` }],
  outputItems: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${patch.id}` }] }],
  response: { id: patch.id, object: 'response' },
  expiresAt: day(10).toISOString(),
  ...patch,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'axon-responses-'));
  store = openSqliteStore({ path: join(dir, 'axon.db'), now: () => day(1) });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the SQLite response store', () => {
  it('reads a thread oldest first, for its owner only', async () => {
    await store.gatewayResponses.save(buildResponse({ id: 'resp_a' }));
    await store.gatewayResponses.save(buildResponse({ id: 'resp_b', previousId: 'resp_a' }));
    await store.gatewayResponses.save(buildResponse({ id: 'resp_c', previousId: 'resp_b' }));
    const thread = (await store.gatewayResponses.thread('resp_c', alice, day(2))) as Array<{ content: unknown }>;
    expect(thread.map((item) => JSON.stringify(item.content))).toEqual([
      '"question resp_a"',
      expect.stringContaining('answer resp_a'),
      '"question resp_b"',
      expect.stringContaining('answer resp_b'),
      '"question resp_c"',
      expect.stringContaining('answer resp_c'),
    ]);
    expect(await store.gatewayResponses.thread('resp_c', bob, day(2))).toBeUndefined();
    expect(await store.gatewayResponses.thread('resp_c', aliceElsewhere, day(2))).toBeUndefined();
    expect(await store.gatewayResponses.get('resp_b', bob, day(2))).toBeUndefined();
    expect((await store.gatewayResponses.get('resp_b', alice, day(2)))?.response).toEqual({ id: 'resp_b', object: 'response' });
  });

  it('never links into another owner’s responses, and keeps an id with its first owner', async () => {
    await store.gatewayResponses.save(buildResponse({ id: 'resp_bob', owner: bob }));
    await store.gatewayResponses.save(buildResponse({ id: 'resp_mine', previousId: 'resp_bob' }));
    expect(((await store.gatewayResponses.thread('resp_mine', alice, day(2))) ?? []).length).toBe(2);
    await store.gatewayResponses.save(buildResponse({ id: 'resp_bob', owner: alice, kind: 'relayed' }));
    expect(await store.gatewayResponses.get('resp_bob', alice, day(2))).toBeUndefined();
    expect((await store.gatewayResponses.get('resp_bob', bob, day(2)))?.kind).toBe('translated');
  });

  it('keeps a thread until its last turn expires, then prunes it', async () => {
    await store.gatewayResponses.save(buildResponse({ id: 'resp_old', expiresAt: day(5).toISOString() }));
    await store.gatewayResponses.save(buildResponse({ id: 'resp_new', previousId: 'resp_old', expiresAt: day(20).toISOString() }));
    await store.gatewayResponses.save(buildResponse({ id: 'resp_alone', expiresAt: day(5).toISOString() }));
    expect(await store.gatewayResponses.deleteExpired(day(6))).toBe(1);
    expect(await store.gatewayResponses.get('resp_alone', alice, day(6))).toBeUndefined();
    expect(await store.gatewayResponses.get('resp_old', alice, day(6))).toBeDefined();
    expect(((await store.gatewayResponses.thread('resp_new', alice, day(6))) ?? []).length).toBe(4);
    expect(await store.gatewayResponses.get('resp_new', alice, day(21))).toBeUndefined();
    expect(await store.gatewayResponses.deleteExpired(day(21))).toBe(2);
    expect(await store.gatewayResponses.delete('resp_new', alice)).toBe(false);
  });
});
