import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOME_ORG_ID, type Store } from './store';

/** The repositories the contract uses: shares, and what makes their owners and conversations. */
export type ShareStore = Pick<Store, 'users' | 'organizations' | 'conversations' | 'shares'>;

/** What the contract asks of an engine: a new, empty, migrated store, reading time from `now`, and how to close it. */
export type OpenShareStore = (options: { now: () => Date }) => Promise<{ store: ShareStore; close(): Promise<void> }>;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const unique = (prefix: string) => `${prefix}-${randomBytes(5).toString('hex')}`;
const token = () => randomBytes(18).toString('base64url');

/** The behaviour of conversations' read-only links every store engine must have. */
export function describeShareStoreContract(engine: string, open: OpenShareStore): void {
  describe(`conversation links in the ${engine} store`, () => {
    let store: ShareStore;
    let close: () => Promise<void>;
    let at = Date.UTC(2030, 0, 1);
    /** A clock that moves one second on each reading. */
    const now = () => {
      at += 1000;
      return new Date(at);
    };

    beforeAll(async () => {
      ({ store, close } = await open({ now }));
    });
    afterAll(() => close?.());

    const buildUser = (orgId = HOME_ORG_ID) =>
      store.users.create({ email: `${unique('person')}@example.com`, passwordHash: null, role: 'member', orgId });
    const buildConversation = async (userId: string) => (await store.conversations.create({ userId, title: 'Plans', model: null })).id;

    it('makes one live link per conversation, for its owner only, and gives it back on asking again', async () => {
      const owner = await buildUser();
      const other = await buildUser();
      const conversationId = await buildConversation(owner.id);
      const first = await store.shares.share({ conversationId, userId: owner.id, token: token() });
      expect(first).toEqual({
        created: true,
        share: { token: expect.any(String), conversationId, createdBy: owner.id, createdAt: expect.stringMatching(ISO), revokedAt: null },
      });
      const again = await store.shares.share({ conversationId, userId: owner.id, token: token() });
      expect(again).toEqual({ created: false, share: first?.share });
      expect(await store.shares.live(conversationId, owner.id)).toEqual(first?.share);

      expect(await store.shares.share({ conversationId, userId: other.id, token: token() })).toBeUndefined();
      expect(await store.shares.live(conversationId, other.id)).toBeUndefined();
      expect(await store.shares.share({ conversationId: 'no-such-conversation', userId: owner.id, token: token() })).toBeUndefined();
    });

    it('makes one link when the owner asks twice at once', async () => {
      const owner = await buildUser();
      const conversationId = await buildConversation(owner.id);
      const both = await Promise.all([
        store.shares.share({ conversationId, userId: owner.id, token: token() }),
        store.shares.share({ conversationId, userId: owner.id, token: token() }),
      ]);
      expect(both.map((b) => b?.created).sort()).toEqual([false, true]);
      expect(both[0]?.share.token).toBe(both[1]?.share.token);
    });

    it('opens a live link for members of the owner’s organisation only', async () => {
      const owner = await buildUser();
      const conversationId = await buildConversation(owner.id);
      const made = await store.shares.share({ conversationId, userId: owner.id, token: token() });
      const link = made?.share.token as string;
      expect(await store.shares.open(link, HOME_ORG_ID)).toEqual({ share: made?.share, ownerId: owner.id, ownerEmail: owner.email });
      const org = await store.organizations.create({ slug: unique('org'), name: 'Acme', limits: {}, promptLogMode: null });
      expect(await store.shares.open(link, org.id)).toBeUndefined();
      expect(await store.shares.open('no-such-token', HOME_ORG_ID)).toBeUndefined();

      // The link follows its owner: moved to another organisation, it opens there.
      await store.users.setOrg(owner.id, org.id);
      expect(await store.shares.open(link, HOME_ORG_ID)).toBeUndefined();
      expect((await store.shares.open(link, org.id))?.ownerId).toBe(owner.id);
    });

    it('stops opening a revoked link, and makes a new one after', async () => {
      const owner = await buildUser();
      const other = await buildUser();
      const conversationId = await buildConversation(owner.id);
      const made = await store.shares.share({ conversationId, userId: owner.id, token: token() });
      const link = made?.share.token as string;
      expect(await store.shares.revoke(conversationId, other.id, now())).toBeUndefined();
      expect(await store.shares.open(link, HOME_ORG_ID)).toBeDefined();

      const revoked = await store.shares.revoke(conversationId, owner.id, now());
      expect(revoked).toEqual({ ...made?.share, revokedAt: expect.stringMatching(ISO) });
      expect(await store.shares.open(link, HOME_ORG_ID)).toBeUndefined();
      expect(await store.shares.live(conversationId, owner.id)).toBeUndefined();
      expect(await store.shares.revoke(conversationId, owner.id, now())).toBeUndefined();

      const next = await store.shares.share({ conversationId, userId: owner.id, token: token() });
      expect(next?.created).toBe(true);
      expect(next?.share.token).not.toBe(link);
      expect(await store.shares.open(link, HOME_ORG_ID)).toBeUndefined();
      expect(await store.shares.open(next?.share.token as string, HOME_ORG_ID)).toBeDefined();
    });

    it('stops opening the links of a disabled or deleted account, and of a deleted conversation', async () => {
      const disabled = await buildUser();
      const deleted = await buildUser();
      const owner = await buildUser();
      const links: string[] = [];
      for (const user of [disabled, deleted, owner]) {
        const made = await store.shares.share({ conversationId: await buildConversation(user.id), userId: user.id, token: token() });
        links.push(made?.share.token as string);
      }
      expect(await store.users.disable(disabled.id, HOME_ORG_ID, now())).toBe('done');
      expect(await store.shares.open(links[0] as string, HOME_ORG_ID)).toBeUndefined();
      expect(await store.users.enable(disabled.id, HOME_ORG_ID)).toBe(true);
      expect(await store.shares.open(links[0] as string, HOME_ORG_ID)).toBeDefined();

      expect(await store.users.delete(deleted.id, HOME_ORG_ID, now())).toBe('done');
      expect(await store.shares.open(links[1] as string, HOME_ORG_ID)).toBeUndefined();

      const opened = await store.shares.open(links[2] as string, HOME_ORG_ID);
      expect(await store.conversations.delete(opened?.share.conversationId as string, owner.id)).toBe(true);
      expect(await store.shares.open(links[2] as string, HOME_ORG_ID)).toBeUndefined();
    });
  });
}
