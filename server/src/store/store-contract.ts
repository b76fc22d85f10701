import { randomBytes } from 'node:crypto';
import type { Citation, Role } from '@axon/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../observability/audit-chain';
import { type GatewayResponseRecord, HOME_ORG_ID, type Store } from './store';

/** What the contract asks of an engine: a new, empty, migrated store on each call, reading time from `now`. */
export type OpenStore = (options: { now: () => Date }) => Promise<Store>;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const day = (n: number) => new Date(Date.UTC(2030, 0, n));
/** A clock starting on 1 January 2030 that moves one second on each reading, so that rows written one after another never tie. */
function tickingClock(): () => Date {
  let at = day(1).getTime();
  return () => {
    at += 1000;
    return new Date(at);
  };
}

const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;

const buildUser = (store: Store, patch: { role?: Role; orgId?: string; email?: string } = {}) =>
  store.users.create({
    email: patch.email ?? `${unique('person')}@example.com`,
    passwordHash: 'argon2id$hash',
    role: patch.role ?? 'member',
    orgId: patch.orgId ?? HOME_ORG_ID,
  });
const buildOrg = (store: Store) => store.organizations.create({ slug: unique('org'), name: 'Acme', limits: {}, promptLogMode: null });
const buildConversation = (store: Store, userId: string, title = 'A conversation') =>
  store.conversations.create({ userId, title, model: 'sim/sim-1' });
const buildResponse = (
  owner: GatewayResponseRecord['owner'],
  patch: Partial<Omit<GatewayResponseRecord, 'createdAt'>> & { id: string },
): Omit<GatewayResponseRecord, 'createdAt'> => ({
  owner,
  kind: 'translated',
  model: 'sim/sim-1',
  connection: 'sim',
  previousId: null,
  inputItems: [{ type: 'message', role: 'user', content: `question ${patch.id}` }],
  outputItems: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `answer ${patch.id}` }] }],
  response: { id: patch.id, object: 'response', output: [{ z: 1, a: 2 }] },
  expiresAt: day(10).toISOString(),
  ...patch,
});

/**
 * The behaviour every store engine must have, repository by repository. `open` gives a new, empty
 * store: most tests share one, and those about the whole store (the first admin, the last admin,
 * the audit chain, interrupted answers) open their own.
 */
export function describeStoreContract(engine: string, open: OpenStore): void {
  describe(`the ${engine} store`, () => {
    let store: Store;
    const opened: Store[] = [];
    const fresh = async () => {
      const s = await open({ now: tickingClock() });
      opened.push(s);
      return s;
    };
    beforeAll(async () => {
      store = await fresh();
    });
    afterAll(async () => {
      for (const s of opened) await s.close();
    });

    it('answers a ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    describe('organizations', () => {
      it('creates, finds and updates organisations; a taken slug is a conflict', async () => {
        const slug = unique('org');
        const org = await store.organizations.create({
          slug,
          name: 'Acme',
          limits: { rpm: 10, dailyBudgetUsd: 2.5 },
          promptLogMode: 'redacted',
        });
        expect(org).toEqual({
          id: expect.stringMatching(/^org_/),
          slug,
          name: 'Acme',
          limits: { rpm: 10, dailyBudgetUsd: 2.5 },
          promptLogMode: 'redacted',
          createdAt: expect.stringMatching(ISO),
        });
        expect(await store.organizations.get(org.id)).toEqual(org);
        expect(await store.organizations.findBySlug(slug)).toEqual(org);
        await expect(store.organizations.create({ slug, name: 'Again', limits: {}, promptLogMode: null })).rejects.toMatchObject({
          code: 'conflict',
        });

        const renamed = await store.organizations.update(org.id, { name: 'Acme Ltd' });
        expect(renamed).toEqual({ ...org, name: 'Acme Ltd' });
        expect(await store.organizations.update(org.id, { limits: { tpm: 5 }, promptLogMode: null })).toEqual({
          ...org,
          name: 'Acme Ltd',
          limits: { tpm: 5 },
          promptLogMode: null,
        });
        expect(await store.organizations.update(org.id, {})).toMatchObject({ name: 'Acme Ltd' });
        expect(await store.organizations.update('org_missing', { name: 'x' })).toBeUndefined();
        expect(await store.organizations.get('org_missing')).toBeUndefined();
        expect(await store.organizations.findBySlug('missing-slug')).toBeUndefined();
      });

      it('lists the first organisation first, with how many accounts each has', async () => {
        const org = await buildOrg(store);
        await buildUser(store, { orgId: org.id });
        await buildUser(store, { orgId: org.id });
        const list = await store.organizations.list();
        expect(list[0]?.id).toBe(HOME_ORG_ID);
        expect(list.find((o) => o.id === org.id)).toMatchObject({ id: org.id, users: 2 });
      });
    });

    describe('users', () => {
      it('creates accounts and finds them by email and id; a taken email is a conflict', async () => {
        const email = `${unique('ann')}@example.com`;
        const before = await store.users.count();
        const user = await buildUser(store, { email, role: 'builder' });
        expect(user).toEqual({
          id: expect.any(String),
          email,
          role: 'builder',
          orgId: HOME_ORG_ID,
          createdAt: expect.stringMatching(ISO),
          passwordHash: 'argon2id$hash',
          disabledAt: null,
        });
        expect(await store.users.findByEmail(email)).toEqual(user);
        expect(await store.users.findById(user.id)).toEqual(user);
        expect(await store.users.count()).toBe(before + 1);
        await expect(buildUser(store, { email })).rejects.toMatchObject({ code: 'conflict' });
        expect(await store.users.findById('missing')).toBeUndefined();
        expect(await store.users.findByEmail('missing@example.com')).toBeUndefined();
      });

      it('lists an organisation’s accounts only, oldest first, without their secrets', async () => {
        const org = await buildOrg(store);
        const first = await buildUser(store, { orgId: org.id });
        const second = await buildUser(store, { orgId: org.id, role: 'auditor' });
        await buildUser(store);
        const accounts = await store.users.list(org.id);
        expect(accounts.map((a) => a.id)).toEqual([first.id, second.id]);
        expect(accounts[1]).toEqual({
          id: second.id,
          email: second.email,
          role: 'auditor',
          orgId: org.id,
          createdAt: second.createdAt,
          disabledAt: null,
        });
      });

      it('changes roles, organisations and passwords', async () => {
        const org = await buildOrg(store);
        const user = await buildUser(store);
        expect(await store.users.setRole(user.id, 'admin')).toBe(true);
        expect(await store.users.setOrg(user.id, org.id)).toBe(true);
        expect(await store.users.setPassword(user.id, 'argon2id$other')).toBe(true);
        expect(await store.users.findById(user.id)).toMatchObject({ role: 'admin', orgId: org.id, passwordHash: 'argon2id$other' });
        expect((await store.users.list(org.id)).map((a) => a.id)).toEqual([user.id]);
        expect(await store.users.setRole('missing', 'admin')).toBe(false);
        expect(await store.users.setOrg('missing', org.id)).toBe(false);
        expect(await store.users.setPassword('missing', 'x')).toBe(false);
      });

      it('links identities of identity providers to accounts', async () => {
        const user = await buildUser(store);
        const subject = unique('sub');
        expect(await store.users.findByIdentity('okta', subject)).toBeUndefined();
        await store.users.linkIdentity('okta', subject, user.id);
        await store.users.linkIdentity('okta', subject, user.id);
        expect((await store.users.findByIdentity('okta', subject))?.id).toBe(user.id);
        expect(await store.users.findByIdentity('google', subject)).toBeUndefined();
      });

      it('disables an account with everything it signs in with, and enables it again', async () => {
        const admin = await buildUser(store, { role: 'admin' });
        await buildUser(store, { role: 'admin' });
        const user = await buildUser(store);
        const token = unique('session');
        await store.sessions.create({ tokenHash: token, userId: user.id, csrfToken: 'csrf', expiresAt: day(10) });
        const keyHash = unique('key');
        const key = await store.apiKeys.create({
          userId: user.id,
          name: 'ci',
          prefix: 'axon_ab',
          keyHash,
          scopes: ['chat'],
          rpm: null,
          tpm: null,
          expiresAt: null,
          prompt: null,
          model: null,
        });
        const reset = unique('reset');
        await store.passwordResets.create({ tokenHash: reset, userId: user.id, createdBy: admin.id, expiresAt: day(10) });

        const other = await buildOrg(store);
        expect(await store.users.disable(user.id, other.id, day(2))).toBe('not_found');
        expect(await store.users.disable(user.id, HOME_ORG_ID, day(2))).toBe('done');
        expect((await store.users.findById(user.id))?.disabledAt).toBe(day(2).toISOString());
        expect(await store.sessions.find(token, day(3))).toBeUndefined();
        expect(await store.sessions.listForUser(user.id, day(3))).toEqual([]);
        expect(await store.apiKeys.findActiveByHash(keyHash)).toBeUndefined();
        expect((await store.apiKeys.listForUser(user.id))[0]).toMatchObject({ id: key.id, revokedAt: day(2).toISOString() });
        expect(await store.passwordResets.take(reset, day(3))).toBeUndefined();
        // Disabling again keeps the first time.
        expect(await store.users.disable(user.id, HOME_ORG_ID, day(4))).toBe('done');
        expect((await store.users.findById(user.id))?.disabledAt).toBe(day(2).toISOString());

        expect(await store.users.enable(user.id, other.id)).toBe(false);
        expect(await store.users.enable(user.id, HOME_ORG_ID)).toBe(true);
        expect((await store.users.findById(user.id))?.disabledAt).toBeNull();
        await store.sessions.create({ tokenHash: unique('session'), userId: user.id, csrfToken: 'csrf', expiresAt: day(10) });
        expect(await store.sessions.listForUser(user.id, day(3))).toHaveLength(1);
        // Its revoked key stays revoked.
        expect(await store.apiKeys.findActiveByHash(keyHash)).toBeUndefined();
      });

      it('deletes an account: its data goes, its row stays as a disabled placeholder, and its email is free again', async () => {
        const user = await buildUser(store);
        const subject = unique('sub');
        await store.users.linkIdentity('okta', subject, user.id);
        await store.sessions.create({ tokenHash: unique('session'), userId: user.id, csrfToken: 'csrf', expiresAt: day(10) });
        await store.apiKeys.create({
          userId: user.id,
          name: 'ci',
          prefix: 'axon_cd',
          keyHash: unique('key'),
          scopes: ['chat'],
          rpm: null,
          tpm: null,
          expiresAt: null,
          prompt: null,
          model: null,
        });
        const reset = unique('reset');
        await store.passwordResets.create({ tokenHash: reset, userId: user.id, createdBy: null, expiresAt: day(10) });
        const conversation = await buildConversation(store, user.id);
        await store.messages.append({ conversationId: conversation.id, role: 'user', content: 'hello', status: 'complete', model: null });
        const owner = await buildUser(store);
        const shared = await store.collections.create({ ownerId: owner.id, name: unique('handbook') });
        await store.collections.setMembers(shared.id, [{ userId: user.id, role: 'editor' }]);
        const count = await store.users.count();

        expect(await store.users.delete(user.id, (await buildOrg(store)).id, day(2))).toBe('not_found');
        expect(await store.users.delete(user.id, HOME_ORG_ID, day(2))).toBe('done');
        expect(await store.users.findById(user.id)).toBeUndefined();
        expect(await store.users.findByEmail(user.email)).toBeUndefined();
        expect((await store.users.list(HOME_ORG_ID)).some((a) => a.id === user.id)).toBe(false);
        expect(await store.users.findByIdentity('okta', subject)).toBeUndefined();
        expect(await store.sessions.listForUser(user.id, day(3))).toEqual([]);
        expect(await store.apiKeys.listForUser(user.id)).toEqual([]);
        expect(await store.passwordResets.take(reset, day(3))).toBeUndefined();
        expect(await store.conversations.get(conversation.id, user.id)).toBeUndefined();
        expect(await store.messages.listByConversation(conversation.id)).toEqual([]);
        expect(await store.collections.listMembers(shared.id)).toEqual([]);
        expect(await store.users.count()).toBe(count);
        expect(await store.users.delete(user.id, HOME_ORG_ID, day(3))).toBe('not_found');
        expect(await store.users.enable(user.id, HOME_ORG_ID)).toBe(false);
        expect(await store.users.setPassword(user.id, 'x')).toBe(false);
        expect((await buildUser(store, { email: user.email })).id).not.toBe(user.id);
      });

      it('creates the first admin once, however many ask at the same time', async () => {
        const empty = await fresh();
        // Several connections open first, so that the calls below really run at the same time.
        expect(await Promise.all(Array.from({ length: 8 }, () => empty.users.count()))).toEqual(Array(8).fill(0));
        const made = await Promise.all(
          Array.from({ length: 12 }, (_, i) => empty.users.createFirstAdmin({ email: `admin-${i}@example.com`, passwordHash: 'h' })),
        );
        const admins = made.filter((u) => u !== undefined);
        expect(admins).toHaveLength(1);
        expect(admins[0]).toMatchObject({ role: 'admin', orgId: HOME_ORG_ID, passwordHash: 'h', disabledAt: null });
        expect(await empty.users.count()).toBe(1);
        expect(await empty.users.createFirstAdmin({ email: 'late@example.com', passwordHash: 'h' })).toBeUndefined();
      });

      it('never leaves the first organisation without an active admin', async () => {
        const s = await fresh();
        const only = (await s.users.createFirstAdmin({ email: 'root@example.com', passwordHash: 'h' })) as { id: string };
        expect(await s.users.disable(only.id, HOME_ORG_ID, day(2))).toBe('last_admin');
        expect(await s.users.delete(only.id, HOME_ORG_ID, day(2))).toBe('last_admin');
        expect((await s.users.findById(only.id))?.disabledAt).toBeNull();

        // Two admins disabling (or deleting) each other at once: one of them stays, every time.
        let standing = only.id;
        for (let round = 0; round < 12; round++) {
          const newcomer = await buildUser(s, { role: 'admin' });
          const change = round % 2 === 0 ? s.users.disable : s.users.delete;
          const verdicts = await Promise.all([standing, newcomer.id].map((id) => change(id, HOME_ORG_ID, day(2))));
          expect([...verdicts].sort()).toEqual(['done', 'last_admin']);
          standing = verdicts[0] === 'last_admin' ? standing : newcomer.id;
          expect((await s.users.findById(standing))?.disabledAt).toBeNull();
        }

        // Only the first organisation is held to it.
        const org = await buildOrg(s);
        const lone = await buildUser(s, { orgId: org.id, role: 'admin' });
        expect(await s.users.disable(lone.id, org.id, day(2))).toBe('done');
      });
    });

    describe('sessions', () => {
      it('finds a live session with its user; expired ones and those of disabled accounts are not found', async () => {
        const user = await buildUser(store);
        const token = unique('session');
        await store.sessions.create({ tokenHash: token, userId: user.id, csrfToken: 'csrf-1', expiresAt: day(10) });
        expect(await store.sessions.find(token, day(5))).toEqual({
          id: expect.any(String),
          user: { id: user.id, email: user.email, role: user.role, orgId: user.orgId, createdAt: user.createdAt },
          csrfToken: 'csrf-1',
          expiresAt: day(10).toISOString(),
        });
        expect(await store.sessions.find(token, day(10))).toBeUndefined();
        expect(await store.sessions.find(unique('session'), day(5))).toBeUndefined();
        await store.sessions.delete(token);
        expect(await store.sessions.find(token, day(5))).toBeUndefined();
      });

      it('lists a user’s live sessions newest first, with where they signed in from and when last seen', async () => {
        const user = await buildUser(store);
        const other = await buildUser(store);
        const older = unique('session');
        const newer = unique('session');
        await store.sessions.create({ tokenHash: older, userId: user.id, csrfToken: 'c', expiresAt: day(10) });
        await store.sessions.create({ tokenHash: newer, userId: user.id, csrfToken: 'c', expiresAt: day(12) });
        await store.sessions.create({ tokenHash: unique('session'), userId: user.id, csrfToken: 'c', expiresAt: day(3) });
        await store.sessions.describe(newer, { ip: '203.0.113.9', userAgent: 'x'.repeat(600) });
        await store.sessions.touch(newer, day(4));
        const list = await store.sessions.listForUser(user.id, day(5));
        expect(list).toHaveLength(2);
        expect(list[0]).toEqual({
          id: expect.any(String),
          createdAt: expect.stringMatching(ISO),
          lastSeenAt: day(4).toISOString(),
          expiresAt: day(12).toISOString(),
          ip: '203.0.113.9',
          userAgent: 'x'.repeat(500),
        });
        expect(list[1]).toMatchObject({ lastSeenAt: null, ip: null, userAgent: null, expiresAt: day(10).toISOString() });
        expect((list[0]?.createdAt ?? '') > (list[1]?.createdAt ?? '')).toBe(true);

        const id = list[1]?.id as string;
        expect(await store.sessions.deleteById(id, other.id)).toBe(false);
        expect(await store.sessions.deleteById(id, user.id)).toBe(true);
        expect(await store.sessions.find(older, day(5))).toBeUndefined();
        expect(await store.sessions.deleteForUser(user.id)).toBe(2);
        expect(await store.sessions.listForUser(user.id, day(1))).toEqual([]);
      });

      it('deletes expired sessions', async () => {
        const user = await buildUser(store);
        const live = unique('session');
        await store.sessions.create({ tokenHash: unique('session'), userId: user.id, csrfToken: 'c', expiresAt: day(2) });
        await store.sessions.create({ tokenHash: live, userId: user.id, csrfToken: 'c', expiresAt: day(20) });
        expect(await store.sessions.deleteExpired(day(5))).toBeGreaterThanOrEqual(1);
        expect(await store.sessions.deleteExpired(day(5))).toBe(0);
        expect(await store.sessions.listForUser(user.id, day(1))).toHaveLength(1);
        expect(await store.sessions.find(live, day(5))).toBeDefined();
      });
    });

    describe('passwordResets and ssoLogins', () => {
      it('uses a reset link once, before it expires; a newer link replaces the older', async () => {
        const user = await buildUser(store);
        const first = unique('reset');
        const second = unique('reset');
        await store.passwordResets.create({ tokenHash: first, userId: user.id, createdBy: null, expiresAt: day(10) });
        await store.passwordResets.create({ tokenHash: second, userId: user.id, createdBy: null, expiresAt: day(10) });
        expect(await store.passwordResets.take(first, day(5))).toBeUndefined();
        expect(await store.passwordResets.take(second, day(10))).toBeUndefined();
        expect(await store.passwordResets.take(second, day(5))).toEqual({ userId: user.id });
        expect(await store.passwordResets.take(second, day(5))).toBeUndefined();
      });

      it('takes a pending sign-in once, and never after it expired', async () => {
        const state = unique('state');
        const login = { provider: 'okta', codeVerifier: 'verifier', nonce: 'nonce', returnTo: '/chat' };
        await store.ssoLogins.create(state, login, day(10));
        expect(await store.ssoLogins.take(state, day(5))).toEqual(login);
        expect(await store.ssoLogins.take(state, day(5))).toBeUndefined();
        const stale = unique('state');
        await store.ssoLogins.create(stale, login, day(3));
        expect(await store.ssoLogins.take(stale, day(5))).toBeUndefined();
        expect(await store.ssoLogins.take(stale, day(2))).toBeUndefined();
      });
    });

    describe('apiKeys', () => {
      it('stores keys by hash and finds the active ones with their owner', async () => {
        const user = await buildUser(store);
        const keyHash = unique('key');
        const key = await store.apiKeys.create({
          userId: user.id,
          name: 'ci',
          prefix: 'axon_ef',
          keyHash,
          scopes: ['chat', 'admin'],
          rpm: 60,
          tpm: 1000,
          expiresAt: day(30).toISOString(),
          prompt: 'support',
          model: 'chat-default@3',
        });
        expect(key).toEqual({
          id: expect.any(String),
          userId: user.id,
          name: 'ci',
          prefix: 'axon_ef',
          scopes: ['chat', 'admin'],
          rpm: 60,
          tpm: 1000,
          expiresAt: day(30).toISOString(),
          prompt: 'support',
          model: 'chat-default@3',
          createdAt: expect.stringMatching(ISO),
          lastUsedAt: null,
          revokedAt: null,
        });
        expect(await store.apiKeys.findActiveByHash(keyHash)).toEqual({
          key,
          user: { id: user.id, email: user.email, role: user.role, orgId: user.orgId, createdAt: user.createdAt },
        });
        expect(await store.apiKeys.findActiveByHash(unique('key'))).toBeUndefined();
        await store.apiKeys.touch(key.id, day(3));
        expect((await store.apiKeys.findActiveByHash(keyHash))?.key.lastUsedAt).toBe(day(3).toISOString());
      });

      it('lists keys newest first, by owner or organisation, and revokes them only for their owner or organisation', async () => {
        const org = await buildOrg(store);
        const user = await buildUser(store, { orgId: org.id });
        const colleague = await buildUser(store, { orgId: org.id });
        const stranger = await buildUser(store);
        const make = (userId: string, name: string) =>
          store.apiKeys.create({
            userId,
            name,
            prefix: 'axon_gh',
            keyHash: unique('key'),
            scopes: ['embeddings'],
            rpm: null,
            tpm: null,
            expiresAt: null,
            prompt: null,
            model: null,
          });
        const first = await make(user.id, 'first');
        const second = await make(user.id, 'second');
        const theirs = await make(colleague.id, 'theirs');
        await make(stranger.id, 'elsewhere');

        const mine = await store.apiKeys.listForUser(user.id);
        expect(mine.map((k) => k.name)).toEqual(['second', 'first']);
        expect(mine[0]).not.toHaveProperty('userId');
        expect((await store.apiKeys.listAll(org.id)).map((k) => [k.name, k.userId])).toEqual([
          ['theirs', colleague.id],
          ['second', user.id],
          ['first', user.id],
        ]);

        expect(await store.apiKeys.revoke(first.id, { userId: colleague.id })).toBe(false);
        expect(await store.apiKeys.revoke(first.id, { orgId: HOME_ORG_ID })).toBe(false);
        expect(await store.apiKeys.revoke(first.id, { userId: user.id })).toBe(true);
        expect(await store.apiKeys.revoke(first.id, { userId: user.id })).toBe(false);
        expect(await store.apiKeys.revoke(theirs.id, { orgId: org.id })).toBe(true);
        const after = await store.apiKeys.listAll(org.id);
        expect(after.find((k) => k.id === first.id)?.revokedAt).toMatch(ISO);
        expect(after.find((k) => k.id === second.id)?.revokedAt).toBeNull();
        expect(after.find((k) => k.id === theirs.id)?.revokedAt).toMatch(ISO);
      });
    });

    describe('conversations', () => {
      it('creates conversations with their settings and collections, for their owner only', async () => {
        const user = await buildUser(store);
        const other = await buildUser(store);
        const a = await store.collections.create({ ownerId: user.id, name: unique('a') });
        const b = await store.collections.create({ ownerId: user.id, name: unique('b') });
        const conversation = await store.conversations.create({
          userId: user.id,
          title: 'Plans',
          model: 'sim/sim-1',
          collectionIds: [b.id, a.id],
          prompt: 'support',
          systemPrompt: '',
          temperature: 0.2,
          maxTokens: 500,
        });
        expect({ ...conversation, collectionIds: [...conversation.collectionIds].sort() }).toEqual({
          id: expect.any(String),
          title: 'Plans',
          model: 'sim/sim-1',
          prompt: 'support',
          collectionIds: [a.id, b.id].sort(),
          systemPrompt: null,
          temperature: 0.2,
          maxTokens: 500,
          pinnedAt: null,
          archivedAt: null,
          folder: null,
          createdAt: expect.stringMatching(ISO),
          updatedAt: conversation.createdAt,
        });
        expect(await store.conversations.get(conversation.id, user.id)).toEqual(conversation);
        expect(await store.conversations.get(conversation.id, other.id)).toBeUndefined();

        const updated = await store.conversations.update(conversation.id, user.id, {
          collectionIds: [a.id],
          systemPrompt: 'Be brief.',
          temperature: null,
          folder: 'Work',
        });
        expect(updated).toMatchObject({
          collectionIds: [a.id],
          systemPrompt: 'Be brief.',
          temperature: null,
          maxTokens: 500,
          folder: 'Work',
        });
        expect(await store.conversations.update(conversation.id, user.id, { folder: null, systemPrompt: '' })).toMatchObject({
          folder: null,
          systemPrompt: null,
        });
        // A collection deleted is no longer searched for the conversation.
        await store.collections.delete(a.id);
        expect((await store.conversations.get(conversation.id, user.id))?.collectionIds).toEqual([]);

        expect(await store.conversations.update(conversation.id, other.id, { title: 'Mine' })).toBeUndefined();
        expect(await store.conversations.update('missing', user.id, { collectionIds: [] })).toBeUndefined();
        expect((await store.conversations.update(conversation.id, user.id, {}))?.title).toBe('Plans');
      });

      it('lists newest first with pinned ones on top; organising does not move a conversation, changing it does', async () => {
        const user = await buildUser(store);
        const a = await buildConversation(store, user.id, 'a');
        const b = await buildConversation(store, user.id, 'b');
        const c = await buildConversation(store, user.id, 'c');
        const titles = async (query: { archived?: boolean } = {}) =>
          (await store.conversations.list(user.id, { limit: 50, ...query })).items.map((i) => i.title);
        expect(await titles()).toEqual(['c', 'b', 'a']);

        const pinned = await store.conversations.update(a.id, user.id, { pinned: true });
        expect(pinned?.pinnedAt).toMatch(ISO);
        expect(pinned?.updatedAt).toBe(a.updatedAt);
        expect(await titles()).toEqual(['a', 'c', 'b']);
        const renamed = await store.conversations.update(b.id, user.id, { title: 'b2' });
        expect((renamed?.updatedAt ?? '') > b.updatedAt).toBe(true);
        expect(await titles()).toEqual(['a', 'b2', 'c']);
        await store.conversations.update(c.id, user.id, { archived: true, folder: 'Old' });
        expect(await titles()).toEqual(['a', 'b2']);
        expect(await titles({ archived: true })).toEqual(['c']);
        expect((await store.conversations.update(a.id, user.id, { pinned: false }))?.pinnedAt).toBeNull();
        expect(await titles()).toEqual(['b2', 'a']);
        expect((await store.conversations.list((await buildUser(store)).id, { limit: 50 })).items).toEqual([]);
      });

      it('pages through the list with a cursor, across the pinned ones, missing none', async () => {
        const user = await buildUser(store);
        const made = [];
        for (let i = 0; i < 7; i++) made.push(await buildConversation(store, user.id, `c${i}`));
        for (const i of [1, 4]) await store.conversations.update(made[i]?.id as string, user.id, { pinned: true });
        const all = (await store.conversations.list(user.id, { limit: 50 })).items.map((i) => i.id);
        const paged: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.conversations.list(user.id, { limit: 2, cursor });
          paged.push(...page.items.map((i) => i.id));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect(paged).toEqual(all);
        expect(all.slice(0, 2).sort()).toEqual([made[1]?.id, made[4]?.id].sort());
        await expect(store.conversations.list(user.id, { limit: 2, cursor: 'not-a-cursor' })).rejects.toMatchObject({
          code: 'validation_failed',
        });
      });

      it('searches titles and messages, archived ones too, with a snippet around the match', async () => {
        const user = await buildUser(store);
        const byTitle = await buildConversation(store, user.id, 'Quarterly Budget review');
        const byMessage = await buildConversation(store, user.id, 'Lunch');
        await store.messages.append({
          conversationId: byMessage.id,
          role: 'user',
          content: `${'filler words here '.repeat(20)}where is the BUDGET spreadsheet kept? ${'more words after '.repeat(20)}`,
          status: 'complete',
          model: null,
        });
        const percent = await buildConversation(store, user.id, 'Growth of 5% a year');
        await buildConversation(store, user.id, 'Unrelated');
        await store.conversations.update(byTitle.id, user.id, { archived: true });
        await buildConversation(store, (await buildUser(store)).id, 'Budget of someone else');

        const found = await store.conversations.list(user.id, { q: 'budget', limit: 10 });
        expect(found.items.map((i) => i.id).sort()).toEqual([byTitle.id, byMessage.id].sort());
        expect(found.items.find((i) => i.id === byTitle.id)?.snippet).toBe('Quarterly Budget review');
        const snippet = found.items.find((i) => i.id === byMessage.id)?.snippet ?? '';
        expect(snippet).toContain('BUDGET spreadsheet');
        expect(snippet.startsWith('…')).toBe(true);
        expect(snippet.length).toBeLessThan(140);
        expect((await store.conversations.list(user.id, { q: 'budget', limit: 10, archived: false })).items.map((i) => i.id)).toEqual([
          byMessage.id,
        ]);
        // LIKE's wildcards are matched as themselves.
        expect((await store.conversations.list(user.id, { q: '5%', limit: 10 })).items.map((i) => i.id)).toEqual([percent.id]);
        expect((await store.conversations.list(user.id, { q: '_', limit: 10 })).items).toEqual([]);
      });

      it('deletes a conversation of its owner with its messages', async () => {
        const user = await buildUser(store);
        const conversation = await buildConversation(store, user.id);
        await store.messages.append({ conversationId: conversation.id, role: 'user', content: 'hi', status: 'complete', model: null });
        expect(await store.conversations.delete(conversation.id, (await buildUser(store)).id)).toBe(false);
        expect(await store.conversations.delete(conversation.id, user.id)).toBe(true);
        expect(await store.conversations.delete(conversation.id, user.id)).toBe(false);
        expect(await store.messages.listByConversation(conversation.id)).toEqual([]);
      });
    });

    describe('messages', () => {
      it('appends messages as a tree, each following the branch shown, and bumps the conversation', async () => {
        const user = await buildUser(store);
        const conversation = await buildConversation(store, user.id);
        const question = await store.messages.append({
          id: unique('msg'),
          conversationId: conversation.id,
          role: 'user',
          content: 'What is 2 + 2?',
          status: 'complete',
          model: null,
        });
        expect(question).toEqual({
          id: question.id,
          conversationId: conversation.id,
          role: 'user',
          content: 'What is 2 + 2?',
          status: 'complete',
          model: null,
          usage: { inputTokens: null, outputTokens: null },
          timing: { ttftMs: null, totalMs: null },
          error: null,
          citations: [],
          agentRun: null,
          attachments: [],
          parentId: null,
          versions: [],
          feedback: null,
          createdAt: expect.stringMatching(ISO),
        });
        const answer = await store.messages.append({
          conversationId: conversation.id,
          role: 'assistant',
          content: '',
          status: 'streaming',
          model: 'sim/sim-1',
        });
        expect(answer.parentId).toBe(question.id);
        expect(await store.messages.activeLeaf(conversation.id)).toBe(answer.id);
        const bumped = await store.conversations.get(conversation.id, user.id);
        expect((bumped?.updatedAt ?? '') > conversation.updatedAt).toBe(true);

        // An edited question: a version of the first, which the conversation then shows.
        const edited = await store.messages.append({
          conversationId: conversation.id,
          role: 'user',
          content: 'What is 3 + 3?',
          status: 'complete',
          model: null,
          parentId: null,
        });
        expect(edited.parentId).toBeNull();
        expect(await store.messages.activeLeaf(conversation.id)).toBe(edited.id);
        expect((await store.messages.listByConversation(conversation.id)).map((m) => m.id)).toEqual([question.id, answer.id, edited.id]);
        await store.messages.setActiveLeaf(conversation.id, answer.id);
        expect(await store.messages.activeLeaf(conversation.id)).toBe(answer.id);

        await store.messages.delete(edited.id);
        expect((await store.messages.listByConversation(conversation.id)).map((m) => m.id)).toEqual([question.id, answer.id]);
        const empty = await buildConversation(store, user.id);
        expect(await store.messages.activeLeaf(empty.id)).toBeNull();
        expect(await store.messages.activeLeaf('missing')).toBeNull();
      });

      it("writes a turn's question and answer at once, with the conversation's title and model, and reads them back with the conversation", async () => {
        const user = await buildUser(store);
        const conversation = await buildConversation(store, user.id);
        expect(await store.conversations.getWithMessages(conversation.id, user.id)).toEqual({
          conversation,
          messages: [],
          activeLeafId: null,
        });
        expect(await store.conversations.getWithMessages(conversation.id, unique('user'))).toBeUndefined();
        const [questionId, answerId] = [unique('msg'), unique('msg')];
        const attachments = [{ documentId: 'doc-1', name: 'notes.txt' }];
        const citations: Citation[] = [
          {
            n: 1,
            documentId: 'doc-1',
            documentName: 'notes.txt',
            collectionId: 'col-1',
            chunkId: 'chunk-1',
            page: null,
            section: null,
            startOffset: 0,
            endOffset: 22,
            score: 0.5,
            text: 'Two and two make four.',
          },
        ];
        const turn = await store.messages.appendTurn({
          conversationId: conversation.id,
          messages: [
            { id: questionId, role: 'user', content: 'What is 2 + 2?', status: 'complete', model: null, parentId: null, attachments },
            { id: answerId, role: 'assistant', content: '', status: 'streaming', model: 'sim/sim-2', parentId: questionId, citations },
          ],
          title: 'Sums',
          model: 'sim/sim-2',
        });
        expect(turn.map((m) => [m.id, m.role, m.parentId, m.status])).toEqual([
          [questionId, 'user', null, 'complete'],
          [answerId, 'assistant', questionId, 'streaming'],
        ]);
        expect(turn[0]?.attachments).toEqual(attachments);
        expect(turn[1]?.citations).toEqual(citations);
        const listed = await store.conversations.getWithMessages(conversation.id, user.id);
        const changed = await store.conversations.get(conversation.id, user.id);
        expect(listed).toEqual({
          conversation: changed,
          messages: await store.messages.listByConversation(conversation.id),
          activeLeafId: answerId,
        });
        expect(listed?.messages.map((m) => m.id)).toEqual([questionId, answerId]);
        expect(changed).toMatchObject({ title: 'Sums', model: 'sim/sim-2' });
        expect((changed?.updatedAt ?? '') > conversation.updatedAt).toBe(true);

        // Answered again: one message, the title and model as they were.
        const again = unique('msg');
        await store.messages.appendTurn({
          conversationId: conversation.id,
          messages: [{ id: again, role: 'assistant', content: '', status: 'streaming', model: 'sim/sim-2', parentId: questionId }],
        });
        expect(await store.messages.activeLeaf(conversation.id)).toBe(again);
        expect(await store.conversations.get(conversation.id, user.id)).toMatchObject({ title: 'Sums', model: 'sim/sim-2' });
        // The leaf set by hand, and a conversation with messages but none set.
        await store.messages.setActiveLeaf(conversation.id, answerId);
        expect((await store.conversations.getWithMessages(conversation.id, user.id))?.activeLeafId).toBe(answerId);

        // No such conversation: nothing is written.
        const stray = unique('msg');
        await expect(
          store.messages.appendTurn({
            conversationId: 'missing',
            messages: [{ id: stray, role: 'user', content: 'lost', status: 'complete', model: null, parentId: null }],
          }),
        ).rejects.toThrow();
        expect(await store.messages.listByConversation('missing')).toEqual([]);
      });

      it('updates what an answer holds', async () => {
        const user = await buildUser(store);
        const conversation = await buildConversation(store, user.id);
        const answer = await store.messages.append({
          conversationId: conversation.id,
          role: 'assistant',
          content: '',
          status: 'streaming',
          model: 'sim/sim-1',
        });
        const citations = [
          { n: 1, documentId: 'doc_1', documentName: 'handbook.md', chunkId: 'chunk_1', text: 'Leave is 25 days.', score: 0.5, page: 3 },
        ];
        const agentRun = { steps: [], output: null };
        await store.messages.update(answer.id, {
          content: 'Twenty-five days [1].',
          status: 'complete',
          usage: { inputTokens: 12, outputTokens: 7 },
          timing: { ttftMs: 12.5, totalMs: 80 },
          error: null,
          citations: citations as never,
          agentRun: agentRun as never,
          attachments: [{ documentId: 'doc_2', name: 'notes.pdf' }],
        });
        await store.messages.update(answer.id, {});
        const [stored] = await store.messages.listByConversation(conversation.id);
        expect(stored).toMatchObject({
          content: 'Twenty-five days [1].',
          status: 'complete',
          usage: { inputTokens: 12, outputTokens: 7 },
          timing: { ttftMs: 12.5, totalMs: 80 },
          error: null,
          citations,
          agentRun,
          attachments: [{ documentId: 'doc_2', name: 'notes.pdf' }],
        });
        // Read with the conversation, the same message.
        expect((await store.conversations.getWithMessages(conversation.id, user.id))?.messages).toEqual([stored]);
        await store.messages.update(answer.id, { agentRun: null, status: 'error', error: 'upstream failed' });
        expect((await store.messages.listByConversation(conversation.id))[0]).toMatchObject({
          agentRun: null,
          status: 'error',
          error: 'upstream failed',
        });
      });

      it('marks answers left streaming as interrupted', async () => {
        const s = await fresh();
        const user = await buildUser(s);
        const conversation = await buildConversation(s, user.id);
        const done = await s.messages.append({
          conversationId: conversation.id,
          role: 'user',
          content: 'q',
          status: 'complete',
          model: null,
        });
        await s.messages.append({ conversationId: conversation.id, role: 'assistant', content: 'par', status: 'streaming', model: 'm' });
        await s.messages.append({ conversationId: conversation.id, role: 'assistant', content: '', status: 'streaming', model: 'm' });
        expect(await s.messages.markInterrupted()).toBe(2);
        expect(await s.messages.markInterrupted()).toBe(0);
        const messages = await s.messages.listByConversation(conversation.id);
        expect(messages.map((m) => m.status)).toEqual(['complete', 'error', 'error']);
        expect(messages[1]?.error).toMatch(/stopped/);
        expect(messages[1]?.content).toBe('par');
        expect(messages[0]?.id).toBe(done.id);
      });

      it('keeps heartbeats of streaming answers and marks only those whose heartbeat is old', async () => {
        const s = await fresh();
        const user = await buildUser(s);
        const conversation = await buildConversation(s, user.id);
        const append = (status: 'streaming' | 'complete') =>
          s.messages.append({ conversationId: conversation.id, role: 'assistant', content: '', status, model: 'm' });
        const alive = await append('streaming');
        const dead = await append('streaming');
        const finished = await append('streaming');
        await s.messages.update(finished.id, { content: 'final', status: 'complete' });
        // Later than every creation: the live answer's heartbeat, and one for an answer already finished.
        await s.messages.heartbeat(alive.id, 'partial text');
        await s.messages.heartbeat(finished.id, 'late');
        const justAfterCreation = new Date(Date.parse(finished.createdAt) + 1).toISOString();
        expect(await s.messages.markStale(justAfterCreation)).toEqual([{ id: dead.id, conversationId: conversation.id, content: '' }]);
        expect(await s.messages.markStale(justAfterCreation)).toEqual([]);
        const between = await s.messages.listByConversation(conversation.id);
        expect(between.map((m) => [m.status, m.content])).toEqual([
          ['streaming', 'partial text'],
          ['error', ''],
          ['complete', 'final'],
        ]);
        expect(between[1]?.error).toMatch(/server stopped/);
        expect(await s.messages.markStale(day(400).toISOString())).toEqual([
          { id: alive.id, conversationId: conversation.id, content: 'partial text' },
        ]);
        expect((await s.messages.listByConversation(conversation.id)).map((m) => m.status)).toEqual(['error', 'error', 'complete']);
      });

      it('saves many heartbeats at once: the texts given, liveness for all, nothing for answers that are not streaming', async () => {
        const s = await fresh();
        const user = await buildUser(s);
        const conversation = await buildConversation(s, user.id);
        const append = (content: string) =>
          s.messages.append({ conversationId: conversation.id, role: 'assistant', content, status: 'streaming', model: 'm' });
        const [changed, unchanged, finished, stale] = [await append(''), await append('kept'), await append(''), await append('')];
        await s.messages.update(finished.id, { content: 'final', status: 'complete' });
        await s.messages.heartbeatMany([]);
        await s.messages.heartbeatMany([
          { id: changed.id, content: 'größer – 東京 🚀 \u0000 text' },
          { id: unchanged.id },
          { id: finished.id, content: 'late' },
          { id: 'no-such-answer', content: 'x' },
        ]);
        const saved = await s.messages.listByConversation(conversation.id);
        expect(saved.map((m) => [m.status, m.content.replace('\u0000', '')])).toEqual([
          ['streaming', 'größer – 東京 🚀  text'],
          ['streaming', 'kept'],
          ['complete', 'final'],
          ['streaming', ''],
        ]);
        // Every answer in the batch counts as alive; the one left out does not.
        const justAfterCreation = new Date(Date.parse(stale.createdAt) + 1).toISOString();
        expect(await s.messages.markStale(justAfterCreation)).toEqual([{ id: stale.id, conversationId: conversation.id, content: '' }]);
        // A batch of a few thousand answers is one call too.
        const many = [];
        for (let i = 0; i < 5; i++) many.push(await append(''));
        await s.messages.heartbeatMany([
          ...Array.from({ length: 3000 }, (_, i) => ({ id: `absent-${i}`, content: 'x' })),
          ...many.map((m, i) => ({ id: m.id, content: `text ${i}` })),
          { id: changed.id },
          { id: unchanged.id },
        ]);
        const after = await s.messages.listByConversation(conversation.id);
        expect(after.slice(-5).map((m) => m.content)).toEqual(many.map((_, i) => `text ${i}`));
        expect(await s.messages.markStale(new Date(Date.parse(many.at(-1)?.createdAt ?? '') + 1).toISOString())).toEqual([]);
      });
    });

    describe('feedback and preferences', () => {
      const answerIn = async (s: Store, userId: string, model: string) => {
        const conversation = await buildConversation(s, userId);
        const question = await s.messages.append({
          conversationId: conversation.id,
          role: 'user',
          content: 'q',
          status: 'complete',
          model: null,
        });
        const answer = await s.messages.append({
          conversationId: conversation.id,
          role: 'assistant',
          content: 'a',
          status: 'complete',
          model,
        });
        return { conversation, question, answer };
      };

      it('takes feedback on answers of the person’s own conversations, and replaces or withdraws it', async () => {
        const user = await buildUser(store);
        const other = await buildUser(store);
        const { conversation, question, answer } = await answerIn(store, user.id, 'sim/a');
        const set = (messageId: string, userId: string, value: 'up' | 'down', comment: string | null = null) =>
          store.feedback.set({ messageId, userId, orgId: HOME_ORG_ID, value, comment });
        expect(await set(question.id, user.id, 'up')).toBeUndefined();
        expect(await set(answer.id, other.id, 'up')).toBeUndefined();
        expect(await set('missing', user.id, 'up')).toBeUndefined();
        const up = await set(answer.id, user.id, 'up');
        expect(up).toEqual({ value: 'up', comment: null, updatedAt: expect.stringMatching(ISO) });
        const down = await set(answer.id, user.id, 'down', 'wrong figure');
        expect(down).toMatchObject({ value: 'down', comment: 'wrong figure' });
        expect((down?.updatedAt ?? '') > (up?.updatedAt ?? '')).toBe(true);
        expect([...(await store.feedback.forConversation(conversation.id, user.id))]).toEqual([[answer.id, down]]);
        expect((await store.feedback.forConversation(conversation.id, other.id)).size).toBe(0);
        expect(await store.feedback.clear(answer.id, other.id)).toBe(false);
        expect(await store.feedback.clear(answer.id, user.id)).toBe(true);
        expect(await store.feedback.clear(answer.id, user.id)).toBe(false);
      });

      it('sums feedback per model for an organisation and exports it oldest first', async () => {
        const org = await buildOrg(store);
        const ann = await buildUser(store, { orgId: org.id });
        const bob = await buildUser(store, { orgId: org.id });
        const range = { from: day(1).toISOString(), to: day(2).toISOString(), orgId: org.id };
        const give = async (userId: string, model: string, value: 'up' | 'down') => {
          const { answer } = await answerIn(store, userId, model);
          await store.feedback.set({ messageId: answer.id, userId, orgId: org.id, value, comment: null });
          return answer.id;
        };
        const first = await give(ann.id, 'sim/a', 'up');
        await give(bob.id, 'sim/a', 'down');
        await give(ann.id, 'sim/a', 'up');
        const last = await give(bob.id, 'sim/b', 'down');
        const elsewhere = await buildUser(store);
        const { answer } = await answerIn(store, elsewhere.id, 'sim/a');
        await store.feedback.set({ messageId: answer.id, userId: elsewhere.id, orgId: HOME_ORG_ID, value: 'up', comment: null });

        const summary = await store.feedback.summary(range);
        expect(summary).toMatchObject({
          from: range.from,
          to: range.to,
          totals: { up: 2, down: 2 },
          byModel: [
            { model: 'sim/a', up: 2, down: 1 },
            { model: 'sim/b', up: 0, down: 1 },
          ],
        });
        expect(summary.recent).toHaveLength(4);
        expect(summary.recent[0]).toEqual({
          messageId: last,
          conversationId: expect.any(String),
          model: 'sim/b',
          source: 'web',
          userId: bob.id,
          userEmail: bob.email,
          orgId: org.id,
          value: 'down',
          comment: null,
          createdAt: expect.stringMatching(ISO),
          updatedAt: expect.stringMatching(ISO),
        });
        const events = [];
        for await (const event of store.feedback.events(range)) events.push(event);
        expect(events.map((e) => e.messageId)).toEqual([...summary.recent].reverse().map((e) => e.messageId));
        expect(events[0]?.messageId).toBe(first);
        expect((await store.feedback.summary({ ...range, to: range.from })).totals).toEqual({ up: 0, down: 0 });
        const everywhere = await store.feedback.summary({ ...range, orgId: null });
        expect(everywhere.totals.up).toBeGreaterThanOrEqual(3);
      });

      it('counts feedback a program gave on a response of a model alias as source api, and a web chat answer’s once', async () => {
        const org = await buildOrg(store);
        const ann = await buildUser(store, { orgId: org.id });
        const range = { from: day(1).toISOString(), to: day(9).toISOString(), orgId: org.id };
        const served = (responseId: string, source: 'web' | 'api') =>
          store.modelRegistry.recordServed({
            responseId,
            orgId: org.id,
            userId: ann.id,
            alias: 'rated',
            version: 1,
            revision: 1,
            arm: 'v1',
            source,
          });
        const responseId = `chatcmpl-${org.id}`;
        await served(responseId, 'api');
        await served(`chatcmpl-unrated-${org.id}`, 'api');
        expect(await store.modelRegistry.setServedFeedback(responseId, ann.id, 'down', 'Too vague')).toEqual({ previous: null });
        // A web chat answer of the alias is served under its message id, and its feedback kept in both places.
        const { answer } = await answerIn(store, ann.id, 'rated');
        await served(answer.id, 'web');
        await store.feedback.set({ messageId: answer.id, userId: ann.id, orgId: org.id, value: 'up', comment: null });
        await store.modelRegistry.setServedFeedback(answer.id, ann.id, 'up', null);

        const summary = await store.feedback.summary(range);
        expect(summary.totals).toEqual({ up: 1, down: 1 });
        expect(summary.byModel).toEqual([
          { model: 'rated', source: 'api', up: 0, down: 1 },
          { model: 'rated', source: 'web', up: 1, down: 0 },
        ]);
        expect(summary.recent.map((e) => e.source)).toEqual(['web', 'api']);
        expect(summary.recent[1]).toEqual({
          messageId: responseId,
          conversationId: null,
          model: 'rated',
          source: 'api',
          userId: ann.id,
          userEmail: ann.email,
          orgId: org.id,
          value: 'down',
          comment: 'Too vague',
          createdAt: expect.stringMatching(ISO),
          updatedAt: expect.stringMatching(ISO),
        });
        const events = [];
        for await (const event of store.feedback.events(range)) events.push(event);
        expect(events.map((e) => [e.source, e.messageId])).toEqual([
          ['api', responseId],
          ['web', answer.id],
        ]);
        expect((await store.feedback.summary({ ...range, orgId: HOME_ORG_ID })).recent.some((e) => e.messageId === responseId)).toBe(false);

        await store.modelRegistry.setServedFeedback(responseId, ann.id, null, null);
        expect((await store.feedback.summary(range)).byModel).toEqual([{ model: 'rated', source: 'web', up: 1, down: 0 }]);
      });

      it('counts a web chat answer of a model alias as the web’s after its conversation is deleted, a program’s as api', async () => {
        const org = await buildOrg(store);
        const ann = await buildUser(store, { orgId: org.id });
        const range = { from: day(1).toISOString(), to: day(9).toISOString(), orgId: org.id };
        const served = (responseId: string, source: 'web' | 'api') =>
          store.modelRegistry.recordServed({
            responseId,
            orgId: org.id,
            userId: ann.id,
            alias: 'kept',
            version: 1,
            revision: 1,
            arm: 'v1',
            source,
          });
        const responseId = `resp_${org.id}`;
        await served(responseId, 'api');
        await store.modelRegistry.setServedFeedback(responseId, ann.id, 'up', 'From a program');
        const { conversation, answer } = await answerIn(store, ann.id, 'kept');
        await served(answer.id, 'web');
        await store.feedback.set({ messageId: answer.id, userId: ann.id, orgId: org.id, value: 'down', comment: 'In the chat' });
        await store.modelRegistry.setServedFeedback(answer.id, ann.id, 'down', 'In the chat');
        expect(await store.modelRegistry.servedBy(answer.id)).toMatchObject({ source: 'web' });
        expect(await store.modelRegistry.servedBy(responseId)).toMatchObject({ source: 'api' });
        expect(await store.conversations.delete(conversation.id, ann.id)).toBe(true);

        const summary = await store.feedback.summary(range);
        expect(summary.byModel).toEqual([
          { model: 'kept', source: 'api', up: 1, down: 0 },
          { model: 'kept', source: 'web', up: 0, down: 1 },
        ]);
        expect(summary.recent.map((e) => [e.messageId, e.source, e.conversationId, e.value, e.comment])).toEqual([
          [answer.id, 'web', null, 'down', 'In the chat'],
          [responseId, 'api', null, 'up', 'From a program'],
        ]);
        const events = [];
        for await (const event of store.feedback.events(range)) events.push(event);
        expect(events.map((e) => [e.messageId, e.source])).toEqual([
          [responseId, 'api'],
          [answer.id, 'web'],
        ]);
      });

      it('forgets feedback on answers that are deleted', async () => {
        const user = await buildUser(store);
        const { conversation, answer } = await answerIn(store, user.id, 'sim/a');
        await store.feedback.set({ messageId: answer.id, userId: user.id, orgId: HOME_ORG_ID, value: 'up', comment: null });
        await store.conversations.delete(conversation.id, user.id);
        expect((await store.feedback.forConversation(conversation.id, user.id)).size).toBe(0);
        const ids = [];
        for await (const e of store.feedback.events({ from: day(1).toISOString(), to: day(9).toISOString(), orgId: HOME_ORG_ID }))
          ids.push(e.messageId);
        expect(ids).not.toContain(answer.id);
      });

      it('keeps each person’s instructions', async () => {
        const user = await buildUser(store);
        const other = await buildUser(store);
        expect(await store.preferences.get(user.id)).toEqual({ instructions: '' });
        expect(await store.preferences.set(user.id, { instructions: 'Answer in French.' })).toEqual({ instructions: 'Answer in French.' });
        await store.preferences.set(user.id, { instructions: 'Answer in German.' });
        expect(await store.preferences.get(user.id)).toEqual({ instructions: 'Answer in German.' });
        expect(await store.preferences.get(other.id)).toEqual({ instructions: '' });
      });
    });

    describe('audit', () => {
      it('chains events appended at the same time, and lists them newest first', async () => {
        const s = await fresh();
        expect(await verifyAuditChain(s.audit.all(), await s.audit.lastIssued())).toEqual({ ok: true, events: 0 });
        const first = await s.audit.append({
          action: 'auth.login',
          actorId: 'u1',
          actorEmail: 'ann@example.com',
          target: 'user:u1',
          ip: '127.0.0.1',
          orgId: HOME_ORG_ID,
          details: { method: 'password', nested: { b: 1, a: 2 } },
        });
        expect(first).toEqual({
          seq: 1,
          id: expect.any(String),
          at: expect.stringMatching(ISO),
          action: 'auth.login',
          actorId: 'u1',
          actorEmail: 'ann@example.com',
          target: 'user:u1',
          ip: '127.0.0.1',
          details: '{"method":"password","nested":{"b":1,"a":2}}',
          orgId: HOME_ORG_ID,
          prevHash: '0'.repeat(64),
          hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        });
        await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            s.audit.append({ action: i % 3 === 0 ? 'key.created' : 'auth.logout', orgId: i % 2 === 0 ? 'org_x' : null }),
          ),
        );
        expect(await s.audit.lastIssued()).toBe(25);
        expect(await verifyAuditChain(s.audit.all(), await s.audit.lastIssued())).toEqual({ ok: true, events: 25 });
        const all = [];
        for await (const event of s.audit.all()) all.push(event);
        expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
        expect(all[0]).toEqual(first);
        expect(all[0]?.details).toBe(first.details);
        // A chain whose last row went missing does not verify.
        expect(await verifyAuditChain(all.slice(0, -1), await s.audit.lastIssued())).toMatchObject({ ok: false, seq: 25 });

        const newest = await s.audit.list({ limit: 10 });
        expect(newest.map((e) => e.seq)).toEqual([25, 24, 23, 22, 21, 20, 19, 18, 17, 16]);
        expect((await s.audit.list({ limit: 3, before: 16 })).map((e) => e.seq)).toEqual([15, 14, 13]);
        const keys = await s.audit.list({ limit: 100, action: 'key.created' });
        expect(keys).toHaveLength(8);
        expect(keys.every((e) => e.action === 'key.created')).toBe(true);
        const scoped = await s.audit.list({ limit: 100, orgId: 'org_x' });
        expect(scoped).toHaveLength(12);
        expect(await s.audit.list({ limit: 100, orgId: 'org_x', action: 'auth.login' })).toEqual([]);
      });
    });

    describe('gatewayResponses', () => {
      const alice = { userId: 'u_alice', orgId: HOME_ORG_ID };
      const bob = { userId: 'u_bob', orgId: HOME_ORG_ID };
      const aliceElsewhere = { userId: 'u_alice', orgId: 'org_other' };

      it('reads a thread oldest first, for its owner only', async () => {
        const [a, b, c] = [unique('resp'), unique('resp'), unique('resp')];
        await store.gatewayResponses.save(buildResponse(alice, { id: a }));
        await store.gatewayResponses.save(buildResponse(alice, { id: b, previousId: a }));
        await store.gatewayResponses.save(buildResponse(alice, { id: c, previousId: b }));
        const thread = (await store.gatewayResponses.thread(c, alice, day(2))) as Array<{ content: unknown }>;
        expect(thread.map((item) => JSON.stringify(item.content))).toEqual([
          `"question ${a}"`,
          expect.stringContaining(`answer ${a}`),
          `"question ${b}"`,
          expect.stringContaining(`answer ${b}`),
          `"question ${c}"`,
          expect.stringContaining(`answer ${c}`),
        ]);
        expect(await store.gatewayResponses.thread(c, bob, day(2))).toBeUndefined();
        expect(await store.gatewayResponses.thread(c, aliceElsewhere, day(2))).toBeUndefined();
        expect(await store.gatewayResponses.get(b, bob, day(2))).toBeUndefined();
        const record = await store.gatewayResponses.get(b, alice, day(2));
        expect(record).toEqual({ ...buildResponse(alice, { id: b, previousId: a }), createdAt: expect.stringMatching(ISO) });
        // The response is kept as it was answered, members in their order.
        expect(JSON.stringify(record?.response)).toBe(`{"id":"${b}","object":"response","output":[{"z":1,"a":2}]}`);
      });

      it('never links into another owner’s responses, and keeps an id with its first owner', async () => {
        const [theirs, mine] = [unique('resp'), unique('resp')];
        await store.gatewayResponses.save(buildResponse(bob, { id: theirs }));
        await store.gatewayResponses.save(buildResponse(alice, { id: mine, previousId: theirs }));
        expect(((await store.gatewayResponses.thread(mine, alice, day(2))) ?? []).length).toBe(2);
        await store.gatewayResponses.save(buildResponse(alice, { id: theirs, kind: 'relayed' }));
        expect(await store.gatewayResponses.get(theirs, alice, day(2))).toBeUndefined();
        expect((await store.gatewayResponses.get(theirs, bob, day(2)))?.kind).toBe('translated');
      });

      it('keeps a thread until its last turn expires, then prunes it', async () => {
        const s = await fresh();
        await s.gatewayResponses.save(buildResponse(alice, { id: 'resp_old', expiresAt: day(5).toISOString() }));
        await s.gatewayResponses.save(buildResponse(alice, { id: 'resp_new', previousId: 'resp_old', expiresAt: day(20).toISOString() }));
        await s.gatewayResponses.save(buildResponse(alice, { id: 'resp_alone', expiresAt: day(5).toISOString() }));
        expect(await s.gatewayResponses.deleteExpired(day(6))).toBe(1);
        expect(await s.gatewayResponses.get('resp_alone', alice, day(6))).toBeUndefined();
        expect(await s.gatewayResponses.get('resp_old', alice, day(6))).toBeDefined();
        expect(((await s.gatewayResponses.thread('resp_new', alice, day(6))) ?? []).length).toBe(4);
        expect(await s.gatewayResponses.get('resp_new', alice, day(21))).toBeUndefined();
        expect(await s.gatewayResponses.deleteExpired(day(21))).toBe(2);
        expect(await s.gatewayResponses.delete('resp_new', alice)).toBe(false);
        await s.gatewayResponses.save(buildResponse(alice, { id: 'resp_gone' }));
        expect(await s.gatewayResponses.delete('resp_gone', bob)).toBe(false);
        expect(await s.gatewayResponses.delete('resp_gone', alice)).toBe(true);
      });
    });
  });
}
