import {
  type CachedAnswer,
  createResponseCache,
  type ResponseCache,
  type ResponseCacheBackend,
  type ResponseCacheOptions,
  type SemanticCandidate,
} from './response-cache';

interface Stored {
  answer: CachedAnswer;
  expiresAt: number;
}

interface Partition {
  /** By id, in insertion order (the oldest first). */
  entries: Map<string, Stored & { vector: Float32Array; question: string }>;
}

/**
 * The response cache of one process (embedded mode). Exact entries and semantic partitions share
 * one bound, `maxEntries`: the least recently used exact entry, or the oldest partition, goes first.
 */
export function createMemoryResponseCache(options: ResponseCacheOptions & { maxEntries?: number } = {}): ResponseCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const generations = new Map<string, number>();
  const exact = new Map<string, Stored>();
  const partitions = new Map<string, Partition>();
  let semanticCount = 0;

  const evict = () => {
    while (exact.size + semanticCount > maxEntries) {
      const oldestExact = exact.keys().next();
      if (!oldestExact.done && (exact.size >= semanticCount || partitions.size === 0)) {
        exact.delete(oldestExact.value);
        continue;
      }
      const oldestPartition = partitions.entries().next();
      if (oldestPartition.done) break;
      const [key, partition] = oldestPartition.value;
      const first = partition.entries.keys().next();
      if (first.done) {
        partitions.delete(key);
        continue;
      }
      partition.entries.delete(first.value);
      semanticCount--;
      if (partition.entries.size === 0) partitions.delete(key);
    }
  };

  const prune = (partition: Partition, now: number) => {
    for (const [id, entry] of partition.entries)
      if (entry.expiresAt <= now) {
        partition.entries.delete(id);
        semanticCount--;
      }
  };

  const backend: ResponseCacheBackend = {
    async generations(keys) {
      return keys.map((k) => generations.get(k) ?? 0);
    },
    async bump(key) {
      generations.set(key, (generations.get(key) ?? 0) + 1);
    },
    async getExact(key, now) {
      const found = exact.get(key);
      if (!found) return undefined;
      exact.delete(key);
      if (found.expiresAt <= now) return undefined;
      exact.set(key, found);
      return found.answer;
    },
    async setExact(key, answer, expiresAt) {
      exact.delete(key);
      exact.set(key, { answer, expiresAt });
      evict();
    },
    async candidates(key, now) {
      const partition = partitions.get(key);
      if (!partition) return [];
      prune(partition, now);
      const out: SemanticCandidate[] = [];
      for (const [id, entry] of partition.entries) out.push({ id, vector: entry.vector, question: entry.question });
      return out;
    },
    async getSemantic(key, id, now) {
      const entry = partitions.get(key)?.entries.get(id);
      return entry && entry.expiresAt > now ? entry.answer : undefined;
    },
    async addSemantic(key, entry, perPartition, now) {
      let partition = partitions.get(key);
      if (partition) partitions.delete(key);
      else partition = { entries: new Map() };
      // Most recently written partitions last, so that eviction takes the stalest first.
      partitions.set(key, partition);
      prune(partition, now);
      partition.entries.set(entry.id, { answer: entry.answer, expiresAt: entry.expiresAt, vector: entry.vector, question: entry.question });
      semanticCount++;
      while (partition.entries.size > perPartition) {
        const first = partition.entries.keys().next();
        if (first.done) break;
        partition.entries.delete(first.value);
        semanticCount--;
      }
      evict();
    },
    async close() {
      exact.clear();
      partitions.clear();
      semanticCount = 0;
    },
  };
  return createResponseCache(backend, options);
}
