import type { Organization } from '@axon/contracts';
import type { InvalidationBus } from '../invalidation/invalidation-bus';
import type { Store } from '../store';

export interface OrgSettingsOptions {
  /** How long an organisation read from the store is trusted (default 5 s): the bound on staleness if a change's message is lost. */
  ttlMs?: number;
  /** Carries `forget` to every replica; without it only this process forgets. */
  bus?: InvalidationBus | undefined;
}

/**
 * Organisations' limits and prompt-log mode, read on every model call: kept in memory for a few
 * seconds (`ttlMs`). A change applies at once here and, through the bus, on every other replica;
 * a replica that misses the message sees it within `ttlMs`.
 */
export function createOrgSettings(store: Pick<Store, 'organizations'>, options: OrgSettingsOptions = {}) {
  const ttlMs = options.ttlMs ?? 5000;
  const cache = new Map<string, { org: Organization | undefined; until: number }>();
  // A read that started before a change must not put the old value back after it was forgotten.
  let generation = 0;
  const drop = (orgId: string | undefined) => {
    generation++;
    if (orgId === undefined) cache.clear();
    else cache.delete(orgId);
  };
  options.bus?.subscribe('org-settings', drop);
  return {
    async get(orgId: string): Promise<Organization | undefined> {
      const now = Date.now();
      const cached = cache.get(orgId);
      if (cached && cached.until > now) return cached.org;
      const started = generation;
      const org = await store.organizations.get(orgId);
      if (started === generation) cache.set(orgId, { org, until: now + ttlMs });
      return org;
    },
    /** Drops the organisation's cached settings here and on every replica (after they were changed). */
    forget(orgId: string): void {
      drop(orgId);
      options.bus?.publish('org-settings', orgId);
    },
  };
}

export type OrgSettings = ReturnType<typeof createOrgSettings>;
