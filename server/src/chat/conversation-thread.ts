import type { Message } from '@axon/contracts';

/**
 * A conversation's messages form a tree: each follows its parent, and messages with the same parent
 * are versions of one another (an edited question, a regenerated answer). The conversation shows one
 * branch, from a first message down to its active leaf.
 */

/** The branch that ends at `leafId` (or at the newest message), first message first, each with its versions. */
export function threadOf(all: Message[], leafId: string | null): Message[] {
  const byId = new Map(all.map((m) => [m.id, m]));
  const thread: Message[] = [];
  let at = (leafId ? byId.get(leafId) : undefined) ?? all.at(-1);
  const seen = new Set<string>();
  while (at && !seen.has(at.id)) {
    seen.add(at.id);
    thread.push(at);
    at = at.parentId ? byId.get(at.parentId) : undefined;
  }
  thread.reverse();
  return thread.map((m) => {
    const versions = all.filter((v) => v.parentId === m.parentId && v.role === m.role).map((v) => v.id);
    return { ...m, versions: versions.length > 1 ? versions : [] };
  });
}

/** The newest leaf at or below `id`: where a branch shown by picking a version of `id` ends. */
export function newestLeafUnder(all: Message[], id: string): string {
  let at = id;
  for (;;) {
    const children = all.filter((m) => m.parentId === at);
    const newest = children.at(-1);
    if (!newest) return at;
    at = newest.id;
  }
}

/** The branch up to and including `id` (none for null). */
export function threadUpTo(all: Message[], id: string | null): Message[] {
  return id === null ? [] : threadOf(all, id);
}
