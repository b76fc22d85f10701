import { createHash, randomUUID } from 'node:crypto';
import type { CachePolicy } from '@axon/contracts';
import { Counter, type Registry } from 'prom-client';
import { extractQuestionSlots, findSlotConflict, type QuestionSlots } from './question-slots';

/**
 * The response cache of `/v1/chat/completions`: an answer given once is given again, without a
 * model call, to a request that would have produced it: the same request exactly, or (with a
 * semantic policy) a single-turn request whose question is close enough to a cached one's and
 * agrees with it on every key slot (dates, tenors, numbers, subject, document…). What
 * keeps it safe is what goes into the keys: the organisation, the caller's permissions, the model
 * version, the prompt template and a generation number for each collection the answer was grounded
 * in and for the template, so that a change to any of them makes older entries unreachable.
 */

/** One request as the cache sees it. */
export interface CacheRequest {
  /** The chat-completions body as it goes upstream (Axon's edits applied, Axon's own fields removed). */
  body: Record<string, unknown>;
  /** The immutable version that serves it: `chat-default@3`, or a catalog id. */
  modelVersion: string;
  /** The prompt template applied, `name@version`. */
  templateRef?: string | undefined;
  /** Collections passages were retrieved from (their generations are part of the key). */
  collectionIds: string[];
  orgId: string;
  /** A hash of the caller's readable collection ids and role: callers who may read different things never share an entry. */
  permissionKey: string;
  policy: CachePolicy;
  /** The single user message's text, for single-turn requests only; semantic matching needs it. */
  semanticText?: string | undefined;
  /** `Cache-Control: no-cache`: no lookup, but the answer is stored. */
  noCache?: boolean | undefined;
  /** `Cache-Control: no-store`: neither looked up nor stored. */
  noStore?: boolean | undefined;
}

export interface CachedAnswer {
  /** A `chat.completion` object. */
  completion: Record<string, unknown>;
  /** When it was stored, in ms since the epoch (for an `Age` header). */
  createdAt: number;
}

/** What a lookup found: the answer, and how it matched. */
export interface CacheHit extends CachedAnswer {
  match: 'exact' | 'semantic';
  /** Cosine similarity of the questions, for semantic hits. */
  similarity?: number | undefined;
}

/** The cache seam; one implementation in process, one in Redis that every replica shares. */
export interface ResponseCache {
  /** The cached answer for `req`, if any (never for `noCache` or `noStore` requests). */
  lookup(req: CacheRequest): Promise<CacheHit | undefined>;
  /** Remembers `answer` for `req` (not for `noStore` requests), exactly and, when eligible, semantically. */
  store(req: CacheRequest, answer: CachedAnswer): Promise<void>;
  /** Makes every entry grounded in collection `id` unreachable (its documents changed). */
  bumpCollection(id: string): Promise<void>;
  /** Makes every entry made with the organisation's template `name` (any version) unreachable. */
  bumpTemplate(orgId: string, name: string): Promise<void>;
  close(): Promise<void>;
}

/** Turns texts into vectors (an `Embedder`'s `embed`). */
export type EmbedTexts = (texts: string[]) => Promise<number[][]>;

/** Fields that do not change the answer: how it is delivered, and who is asking for the upstream's logs. */
const DELIVERY_FIELDS = new Set(['stream', 'stream_options', 'user', 'metadata', 'safety_identifier', 'prompt_cache_key']);

/** `value` with every object's keys in sorted order, so that equal JSON serialises equally. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The body without delivery fields, keys sorted recursively. */
export function normaliseBody(body: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) if (!DELIVERY_FIELDS.has(key)) kept[key] = value;
  return sortKeys(kept) as Record<string, unknown>;
}

const sha256 = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

/** The generation numbers a key is made under. */
export interface Generations {
  /** `[collection id, generation]`, sorted by id. */
  collections: Array<[string, number]>;
  template: number;
}

/** What every key holds besides the body: who may see the answer and what it was made from. */
const scope = (req: CacheRequest, gens: Generations) => ({
  org: req.orgId,
  permissions: req.permissionKey,
  model: req.modelVersion,
  template: req.templateRef ?? null,
  templateGeneration: gens.template,
  collections: gens.collections,
});

/**
 * Hashes of a request's normalised body (whole, and with the user message masked), made once per
 * request: a miss looks up and then stores under the same hashes, and the body is the large part.
 */
const bodyHashes = new WeakMap<CacheRequest, { exact?: string; masked?: string }>();
const hashesOf = (req: CacheRequest) => {
  let found = bodyHashes.get(req);
  if (!found) {
    found = {};
    bodyHashes.set(req, found);
  }
  return found;
};

/** The exact key: a hash of the scope and of the normalised body's hash. */
export function exactKey(req: CacheRequest, gens: Generations): string {
  const hashes = hashesOf(req);
  hashes.exact ??= sha256(normaliseBody(req.body));
  return sha256({ v: 2, ...scope(req, gens), body: hashes.exact });
}

type Message = { role?: unknown; content?: unknown };

/** Whether a message's content is text only (a string, or text parts): an image would not be in the question's embedding. */
const isTextOnly = (content: unknown) =>
  typeof content === 'string' ||
  (Array.isArray(content) && content.every((p) => p && typeof p === 'object' && (p as { type?: unknown }).type === 'text'));

/**
 * The semantic partition of a single-turn request (one user message, besides system or developer
 * messages, text only), or undefined for any other. The partition is a hash of the scope and of
 * everything in the body except the user message's content: system prompt (retrieved passages
 * included), parameters, tools. Only entries of the same partition are ever compared, so another
 * organisation's, another permission set's or another prompt's answers are never candidates.
 */
export function semanticPartition(req: CacheRequest, gens: Generations): string | undefined {
  if (!req.policy.semantic || !req.semanticText?.trim()) return undefined;
  const messages = req.body.messages;
  if (!Array.isArray(messages)) return undefined;
  let users = 0;
  for (const m of messages as Message[]) {
    if (m.role === 'user') {
      users++;
      if (!isTextOnly(m.content)) return undefined;
    } else if (m.role !== 'system' && m.role !== 'developer') return undefined;
  }
  if (users !== 1) return undefined;
  const hashes = hashesOf(req);
  hashes.masked ??= sha256(
    normaliseBody({ ...req.body, messages: (messages as Message[]).map((m) => (m.role === 'user' ? { role: 'user' } : m)) }),
  );
  return sha256({ v: 2, ...scope(req, gens), body: hashes.masked });
}

/** Cosine similarity of two vectors of the same length (0 when either is zero). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** A stored semantic entry's vector and question, as the backend returns them for scanning. */
export interface SemanticCandidate {
  id: string;
  vector: Float32Array;
  /** The question it answers, for the slot check; an entry without one is never a semantic hit. */
  question: string | undefined;
}

/**
 * Where a cache keeps things: in process or in Redis. Expiry times are ms since the epoch; a
 * backend never returns what expired by `now`.
 */
export interface ResponseCacheBackend {
  /** Current generation of each key (0 when never bumped). */
  generations(keys: string[]): Promise<number[]>;
  bump(key: string): Promise<void>;
  getExact(key: string, now: number): Promise<CachedAnswer | undefined>;
  setExact(key: string, answer: CachedAnswer, expiresAt: number, now: number): Promise<void>;
  /** The live entries of a partition. */
  candidates(partition: string, now: number): Promise<SemanticCandidate[]>;
  getSemantic(partition: string, id: string, now: number): Promise<CachedAnswer | undefined>;
  /** Adds an entry; the partition keeps at most `maxEntries`, the ones expiring first go. */
  addSemantic(
    partition: string,
    entry: { id: string; vector: Float32Array; question: string; answer: CachedAnswer; expiresAt: number },
    maxEntries: number,
    now: number,
  ): Promise<void>;
  close(): Promise<void>;
}

export interface ResponseCacheOptions {
  /** Embeds questions for semantic matching; without it only exact matching is done. */
  embed?: EmbedTexts | undefined;
  /** Entries one semantic partition keeps (default 256); the oldest go first. */
  semanticEntriesPerPartition?: number | undefined;
  /** Where the hit, miss and store counters go. */
  registry?: Registry | undefined;
  now?: () => number;
}

const collectionGenerationKey = (id: string) => `col:${id}`;
const templateGenerationKey = (orgId: string, name: string) => `tpl:${orgId}:${name}`;
const templateName = (ref: string | undefined) => (ref ? ref.replace(/@\d+$/, '') : undefined);

/** The cache logic on top of a backend: keys, eligibility, embedding, matching, counters. */
export function createResponseCache(backend: ResponseCacheBackend, options: ResponseCacheOptions = {}): ResponseCache {
  const now = options.now ?? Date.now;
  const perPartition = options.semanticEntriesPerPartition ?? 256;
  const registers = options.registry ? [options.registry] : [];
  const hits = new Counter({
    name: 'axon_response_cache_hits_total',
    help: 'Chat completions answered from the response cache, by match (exact, semantic)',
    labelNames: ['match'] as const,
    registers,
  });
  const misses = new Counter({
    name: 'axon_response_cache_misses_total',
    help: 'Response cache lookups that found nothing',
    registers,
  });
  const rejections = new Counter({
    name: 'axon_response_cache_semantic_rejections_total',
    help: 'Cached questions above the semantic threshold passed over because they disagree with the question on a key slot, by the first slot that differs',
    labelNames: ['slot'] as const,
    registers,
  });
  const stores = new Counter({
    name: 'axon_response_cache_stores_total',
    help: 'Answers stored in the response cache, by kind of entry (exact, semantic)',
    labelNames: ['kind'] as const,
    registers,
  });
  // The question's embedding made by a lookup, reused by the store that follows the miss.
  const embeddings = new WeakMap<CacheRequest, Float32Array>();

  const generationsOf = async (req: CacheRequest): Promise<Generations> => {
    const ids = [...new Set(req.collectionIds)].sort();
    const name = templateName(req.templateRef);
    const keys = ids.map(collectionGenerationKey);
    if (name) keys.push(templateGenerationKey(req.orgId, name));
    const values = keys.length > 0 ? await backend.generations(keys) : [];
    return {
      collections: ids.map((id, i) => [id, values[i] ?? 0]),
      template: name ? (values[ids.length] ?? 0) : 0,
    };
  };

  const embedQuestion = async (req: CacheRequest): Promise<Float32Array | undefined> => {
    if (!options.embed || !req.semanticText) return undefined;
    const known = embeddings.get(req);
    if (known) return known;
    const [vector] = await options.embed([req.semanticText]);
    if (!vector || vector.length === 0) return undefined;
    const made = Float32Array.from(vector);
    embeddings.set(req, made);
    return made;
  };

  return {
    async lookup(req) {
      if (req.noStore || req.noCache) return undefined;
      const gens = await generationsOf(req);
      const at = now();
      if (req.policy.exact) {
        const found = await backend.getExact(exactKey(req, gens), at);
        if (found) {
          hits.inc({ match: 'exact' });
          return { ...found, match: 'exact' };
        }
      }
      const partition = options.embed ? semanticPartition(req, gens) : undefined;
      const threshold = req.policy.semantic?.threshold;
      if (partition && threshold !== undefined) {
        const [question, candidates] = await Promise.all([embedQuestion(req), backend.candidates(partition, at)]);
        // Vector search, then verification: the closest candidates above the threshold, in order of
        // similarity, until one agrees with the question on every key slot.
        const ranked = question
          ? candidates
              .map((candidate) => ({ candidate, score: cosine(question, candidate.vector) }))
              .filter((c) => c.score >= threshold)
              .sort((x, y) => y.score - x.score)
          : [];
        let slots: QuestionSlots | undefined;
        for (const { candidate, score } of ranked) {
          slots ??= extractQuestionSlots(req.semanticText ?? '');
          const conflict =
            candidate.question === undefined ? 'question' : findSlotConflict(slots, extractQuestionSlots(candidate.question));
          if (conflict) {
            rejections.inc({ slot: conflict });
            continue;
          }
          const found = await backend.getSemantic(partition, candidate.id, at);
          if (found) {
            hits.inc({ match: 'semantic' });
            return { ...found, match: 'semantic', similarity: score };
          }
        }
      }
      misses.inc();
      return undefined;
    },

    async store(req, answer) {
      if (req.noStore) return;
      const gens = await generationsOf(req);
      const at = now();
      const expiresAt = at + req.policy.ttlSeconds * 1000;
      const writes: Array<Promise<void>> = [];
      if (req.policy.exact) {
        writes.push(backend.setExact(exactKey(req, gens), answer, expiresAt, at));
        stores.inc({ kind: 'exact' });
      }
      const partition = options.embed ? semanticPartition(req, gens) : undefined;
      if (partition) {
        const vector = await embedQuestion(req);
        if (vector && req.semanticText) {
          const entry = { id: randomUUID(), vector, question: req.semanticText, answer, expiresAt };
          writes.push(backend.addSemantic(partition, entry, perPartition, at));
          stores.inc({ kind: 'semantic' });
        }
      }
      await Promise.all(writes);
    },

    bumpCollection: (id) => backend.bump(collectionGenerationKey(id)),
    bumpTemplate: (orgId, name) => backend.bump(templateGenerationKey(orgId, templateName(name) ?? name)),
    close: () => backend.close(),
  };
}

/** A permission key: a hash of the collections a caller may read and their role. */
export function permissionKeyOf(readableCollectionIds: string[], role: string): string {
  return sha256({ role, collections: [...new Set(readableCollectionIds)].sort() }).slice(0, 32);
}
