import type { Collection, CollectionAccess } from '@axon/contracts';
import { AppError } from '../errors';
import type { Store } from '../store';

const RANK: Record<CollectionAccess, number> = { viewer: 1, editor: 2, owner: 3 };

/**
 * The collection if the user has at least `needed` access. A collection they may not read answers
 * 404 (its existence is not revealed); one they may read but not change answers 403.
 */
export async function requireCollection(store: Store, id: string, userId: string, needed: CollectionAccess): Promise<Collection> {
  const collection = await store.collections.getForUser(id, userId);
  if (!collection) throw new AppError('not_found', { detail: 'No such collection' });
  if (RANK[collection.access] < RANK[needed]) {
    throw new AppError('forbidden', { detail: `This needs ${needed} access to the collection; you have ${collection.access} access.` });
  }
  return collection;
}
