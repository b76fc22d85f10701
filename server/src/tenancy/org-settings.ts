import type { Organization } from '@axon/contracts';
import type { Store } from '../store';

/**
 * Organisations' limits and prompt-log mode, read on every model call: kept in memory for a few
 * seconds (`ttlMs`). A change through this process applies at once; other replicas see it within `ttlMs`.
 */
export function createOrgSettings(store: Store, ttlMs = 5000) {
  const cache = new Map<string, { org: Organization | undefined; until: number }>();
  return {
    async get(orgId: string): Promise<Organization | undefined> {
      const now = Date.now();
      const cached = cache.get(orgId);
      if (cached && cached.until > now) return cached.org;
      const org = await store.organizations.get(orgId);
      cache.set(orgId, { org, until: now + ttlMs });
      return org;
    },
    forget(orgId: string): void {
      cache.delete(orgId);
    },
  };
}

export type OrgSettings = ReturnType<typeof createOrgSettings>;
