import { encodeGenerator } from 'gpt-tokenizer';
import type { EndpointView, PrefixPicker } from '../balance/types';
import type { ReplicaMetricsSource } from './vllm-metrics';

/**
 * Prefix-aware choice among a version's self-hosted replicas (vLLM, SGLang). Each replica keeps a
 * KV cache of prompt blocks it has computed; a prompt that starts like one it was sent recently
 * is prefilled only past the shared part. So the picker remembers, per replica, the hashes of the
 * leading token blocks it sent there, and sends a prompt where its longest prefix was — unless
 * that prefix is too short to matter or that replica is much busier than the least busy one.
 *
 * The block hashes are a chain (block i's hash covers block i−1's), like vLLM's own block hashes:
 * a match of block i means the whole prompt up to block i is the same.
 *
 * This module loads the o200k tokenizer tables (about 55 MB) when imported: import it only where a
 * version balances by prefix.
 */
export interface PrefixAwarePickerOptions {
  /** Replicas' own figures; while an endpoint's are fresh, the requests it holds beyond the pool's count (other clients') add to its load. */
  metrics?: ReplicaMetricsSource | undefined;
  /** Tokens per hashed block; vLLM's default block size is 16. */
  blockTokens?: number;
  /**
   * Fewer matching blocks than this count as no match, and the least-loaded replica is chosen:
   * set it above the longest prompt prefix many conversations share (a tenant's system prompt), or
   * that prefix alone pins every conversation of the tenant to one replica. 4 by default.
   */
  minMatchBlocks?: number;
  /**
   * How much busier (requests waiting plus running, per unit of weight) the best-matching replica
   * may be than the least-loaded one before the request goes to the least-loaded instead. 4 by default.
   */
  imbalanceThreshold?: number;
  /** Leading tokens read from a prompt; the rest is neither hashed nor matched. 4,096 by default. */
  maxPromptTokens?: number;
  /** Block hashes remembered per replica (least recently sent forgotten first). 16,384 by default (256k tokens of 16). */
  maxBlocksPerReplica?: number;
  /** Turns text into token ids; gpt-tokenizer's o200k by default. Only equality of ids matters. */
  tokenize?: (text: string, maxTokens: number) => number[];
  /** Breaks ties between equally loaded replicas; Math.random by default. */
  random?: () => number;
  /** The metrics scraper's clock (`requestedAt`, `scrapedAt`); Date.now by default. */
  now?: () => number;
}

export interface PrefixAwarePicker extends PrefixPicker {
  /** Forgets what was sent to an endpoint (it restarted, or left the pool). */
  forget(endpointId: string): void;
  /** The matching leading blocks a prompt has at each endpoint, for diagnostics and tests. */
  matchBlocks(endpointId: string, promptText: string): number;
}

/** Reads tokens lazily so a long prompt is not tokenized past the cap. */
function tokenizeLeading(text: string, maxTokens: number): number[] {
  const tokens: number[] = [];
  for (const chunk of encodeGenerator(text)) {
    for (const token of chunk) {
      if (tokens.length >= maxTokens) return tokens;
      tokens.push(token);
    }
  }
  return tokens;
}

/**
 * A 53-bit hash (cyrb53) of a block's token ids, seeded with the previous block's hash so each
 * hash stands for the whole prefix. 53 bits keep collisions negligible at the sizes kept here.
 */
function hashBlock(tokens: number[], from: number, to: number, previous: number): number {
  let h1 = 0xdeadbeef ^ (previous >>> 0);
  let h2 = 0x41c6ce57 ^ Math.floor(previous / 0x100000000);
  for (let i = from; i < to; i++) {
    const t = tokens[i] as number;
    h1 = Math.imul(h1 ^ t, 2654435761);
    h2 = Math.imul(h2 ^ t, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The chained hashes of a token sequence's full leading blocks (a trailing partial block is left out, as vLLM does). */
export function hashPrefixBlocks(tokens: number[], blockTokens: number): number[] {
  const hashes: number[] = [];
  let previous = 0;
  for (let end = blockTokens; end <= tokens.length; end += blockTokens) {
    previous = hashBlock(tokens, end - blockTokens, end, previous);
    hashes.push(previous);
  }
  return hashes;
}

/** An LRU set of block hashes: a Map keeps insertion order, so re-inserting marks recent use. */
class BlockLru {
  private readonly blocks = new Map<number, true>();
  constructor(private readonly capacity: number) {}

  has(hash: number): boolean {
    return this.blocks.has(hash);
  }

  touch(hashes: number[]): void {
    for (const hash of hashes) {
      this.blocks.delete(hash);
      this.blocks.set(hash, true);
    }
    while (this.blocks.size > this.capacity) {
      const oldest = this.blocks.keys().next().value as number;
      this.blocks.delete(oldest);
    }
  }
}

export function createPrefixAwarePicker(opts: PrefixAwarePickerOptions = {}): PrefixAwarePicker {
  const blockTokens = opts.blockTokens ?? 16;
  const minMatchBlocks = opts.minMatchBlocks ?? 4;
  const imbalanceThreshold = opts.imbalanceThreshold ?? 4;
  const maxPromptTokens = opts.maxPromptTokens ?? 4096;
  const maxBlocksPerReplica = opts.maxBlocksPerReplica ?? 16_384;
  const tokenize = opts.tokenize ?? tokenizeLeading;
  const random = opts.random ?? Math.random;
  const sent = new Map<string, BlockLru>();

  const blocksOf = (promptText: string) => hashPrefixBlocks(tokenize(promptText, maxPromptTokens), blockTokens);

  /** Leading blocks of `hashes` found at the endpoint (the chain makes the first miss the end). */
  function matchLength(endpointId: string, hashes: number[]): number {
    const lru = sent.get(endpointId);
    if (!lru) return 0;
    let n = 0;
    while (n < hashes.length && lru.has(hashes[n] as number)) n++;
    return n;
  }

  const now = opts.now ?? Date.now;
  /** Per endpoint, the requests of other clients in the latest figures (see loadOf). */
  const othersAtScrape = new Map<string, { scrapedAt: number; others: number }>();
  /**
   * Per endpoint, the pool's count just after each pick (the chosen one's with its new request),
   * oldest first, from the last pick before the latest figures were asked for. Between picks the
   * count only falls, so the highest of these since the last pick before a moment bounds the
   * count at that moment.
   */
  const countsAfterPicks = new Map<string, Array<{ at: number; count: number }>>();
  const MAX_COUNTS_KEPT = 1024;

  /** The highest the pool's count can have been while the figures were taken; forgets counts no later read needs. */
  function poolCountWhileRead(endpoint: EndpointView, requestedAt: number): number {
    let highest = endpoint.outstanding;
    const counts = countsAfterPicks.get(endpoint.id);
    if (!counts) return highest;
    let from = 0;
    for (let i = counts.length - 1; i >= 0; i--)
      if ((counts[i] as { at: number }).at <= requestedAt) {
        from = i;
        break;
      }
    counts.splice(0, from);
    for (const { count } of counts) highest = Math.max(highest, count);
    return highest;
  }

  /**
   * Requests waiting plus running, per unit of weight. The pool's count is current but sees only
   * this process's requests; the replica's queue counts everyone's but is up to a scrape old (a
   * second), and balancing on it alone sends a burst to whichever replica looked idle then. So the
   * load is the pool's count now plus what the replica held beyond the pool's count when it was
   * read: the other clients' requests. The replica's figures are taken at some moment of the read,
   * not known exactly, and the pool's requests to it may have ended since: the pool's count is
   * taken at its highest during the read, or those ended requests would pass for other clients'
   * until the next read.
   */
  function loadOf(endpoint: EndpointView): number {
    const weight = endpoint.weight > 0 ? endpoint.weight : 1;
    const metrics = opts.metrics?.current(endpoint.id);
    if (!metrics) return endpoint.outstanding / weight;
    let seen = othersAtScrape.get(endpoint.id);
    if (!seen || seen.scrapedAt !== metrics.scrapedAt) {
      const others = Math.max(0, metrics.waiting + metrics.running - poolCountWhileRead(endpoint, metrics.requestedAt));
      seen = { scrapedAt: metrics.scrapedAt, others };
      othersAtScrape.set(endpoint.id, seen);
    }
    return (endpoint.outstanding + seen.others) / weight;
  }

  function notePick(pool: EndpointView[], chosen: EndpointView): void {
    if (!opts.metrics) return;
    const at = now();
    for (const c of pool) {
      let counts = countsAfterPicks.get(c.id);
      if (!counts) {
        counts = [];
        countsAfterPicks.set(c.id, counts);
      }
      counts.push({ at, count: c.outstanding + (c === chosen ? 1 : 0) });
      if (counts.length > MAX_COUNTS_KEPT) counts.shift();
    }
  }

  function leastLoaded(candidates: EndpointView[], loads: Map<EndpointView, number>): EndpointView {
    let best: EndpointView[] = [];
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const c of candidates) {
      const load = loads.get(c) as number;
      if (load < bestLoad) {
        best = [c];
        bestLoad = load;
      } else if (load === bestLoad) best.push(c);
    }
    return best[Math.floor(random() * best.length)] ?? (candidates[0] as EndpointView);
  }

  return {
    pick(candidates, hint) {
      if (candidates.length === 0) throw new Error('pick needs at least one candidate endpoint');
      const healthy = candidates.filter((c) => c.healthy);
      const pool = healthy.length > 0 ? healthy : candidates;
      const hashes = blocksOf(hint.promptText);
      const loads = new Map(pool.map((c) => [c, loadOf(c)]));
      const least = leastLoaded(pool, loads);

      // The longest match; among equal matches the least loaded (a prefix every replica holds, such
      // as a system prompt sent everywhere, then decides nothing).
      let best: EndpointView | undefined;
      let bestMatch = 0;
      for (const c of pool) {
        const match = matchLength(c.id, hashes);
        if (match > bestMatch || (match === bestMatch && best && (loads.get(c) as number) < (loads.get(best) as number))) {
          best = c;
          bestMatch = match;
        }
      }

      let chosen = least;
      if (best && bestMatch >= minMatchBlocks && bestMatch > 0) {
        const excess = (loads.get(best) as number) - (loads.get(least) as number);
        if (excess <= imbalanceThreshold) chosen = best;
      }

      let lru = sent.get(chosen.id);
      if (!lru) {
        lru = new BlockLru(maxBlocksPerReplica);
        sent.set(chosen.id, lru);
      }
      lru.touch(hashes);
      notePick(pool, chosen);
      return chosen;
    },
    forget(endpointId) {
      sent.delete(endpointId);
      othersAtScrape.delete(endpointId);
      countsAfterPicks.delete(endpointId);
    },
    matchBlocks(endpointId, promptText) {
      return matchLength(endpointId, blocksOf(promptText));
    },
  };
}
