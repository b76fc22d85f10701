import usearch from 'usearch';
import { analyzeText } from './text-analyzer';

/**
 * In-memory search structures that mirror the store's chunks, so that a query costs a few
 * milliseconds at 100k chunks instead of tens:
 *
 * - {@link TextIndex}: an inverted index scored with BM25 term at a time over typed arrays (exact;
 *   every posting of every query term is scored).
 * - {@link VectorIndex}: per collection, every vector quantized to int8 and scanned exhaustively
 *   with SIMD (usearch's exact search); the best candidates are then re-scored by the caller
 *   against the stored float vectors, so the final order is that of exact float search.
 *
 * Both take an allow-list of collections per query: chunks of other collections are never scored
 * or returned, which is how the permission rule reaches the search.
 */

/** BM25's term-frequency saturation and length normalisation (the PostgreSQL search uses the same). */
export const K1 = 1.2;
export const B = 0.75;

/** Saturation of a term repeated in the query (Robertson's k3); large values make it nearly linear. */
const K3 = 8;

/**
 * Each distinct query term with its weight (k3 + 1)·qtf / (k3 + qtf): a term a long question
 * repeats counts for more, as in BM25 proper, instead of once however often it is asked about.
 */
export function queryTermWeights(terms: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  for (const [term, qtf] of counts) counts.set(term, ((K3 + 1) * qtf) / (K3 + qtf));
  return counts;
}

/** A growable typed array. */
class Growable<T extends Int32Array | Uint16Array | Uint8Array | Int8Array | Float64Array> {
  length = 0;
  constructor(
    public data: T,
    private readonly make: (size: number) => T,
  ) {}
  push(value: number): void {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length++] = value;
  }
  grow(min: number): void {
    if (min <= this.data.length) return;
    const next = this.make(Math.max(min, this.data.length * 2, 16));
    next.set(this.data.subarray(0, this.length) as never);
    this.data = next;
  }
}

const ints = () => new Growable(new Int32Array(4), (n) => new Int32Array(n));

interface Postings {
  docs: Growable<Int32Array>;
  tfs: Growable<Uint16Array>;
}

export interface IndexHit {
  rowid: number;
  score: number;
}

/** Keeps the k best (highest score) of a stream of hits. */
function topK(k: number) {
  const best: IndexHit[] = [];
  return {
    offer(rowid: number, score: number) {
      if (best.length === k && score <= (best[k - 1] as IndexHit).score) return;
      let i = best.length < k ? best.length : k - 1;
      while (i > 0 && (best[i - 1] as IndexHit).score < score) {
        best[i] = best[i - 1] as IndexHit;
        i--;
      }
      best[i] = { rowid, score };
      if (best.length > k) best.length = k;
    },
    hits: () => best,
  };
}

/** Interns collection ids as small numbers, for per-slot storage and per-query allow-lists. */
class CollectionIds {
  private readonly ids = new Map<string, number>();
  number(id: string): number {
    let n = this.ids.get(id);
    if (n === undefined) {
      n = this.ids.size;
      this.ids.set(id, n);
    }
    return n;
  }
  allowList(collectionIds: Iterable<string>): Uint8Array {
    const allowed = new Uint8Array(this.ids.size);
    for (const id of collectionIds) {
      const n = this.ids.get(id);
      if (n !== undefined) allowed[n] = 1;
    }
    return allowed;
  }
}

export class TextIndex {
  private readonly collections = new CollectionIds();
  private readonly postings = new Map<string, Postings>();
  private rowids = new Growable(new Float64Array(16), (n) => new Float64Array(n));
  private collectionOf = ints();
  private lengths = ints();
  private alive = new Growable(new Uint8Array(16), (n) => new Uint8Array(n));
  private readonly slotOf = new Map<number, number>();
  private liveLength = 0;
  private dead = 0;
  private scores = new Float64Array(0);

  get size(): number {
    return this.slotOf.size;
  }

  /** Adds (or replaces) one chunk. */
  add(rowid: number, collectionId: string, text: string): void {
    this.remove(rowid);
    const terms = analyzeText(text);
    const slot = this.rowids.length;
    this.rowids.push(rowid);
    this.collectionOf.push(this.collections.number(collectionId));
    this.lengths.push(terms.length);
    this.alive.push(1);
    this.slotOf.set(rowid, slot);
    this.liveLength += terms.length;
    const counts = new Map<string, number>();
    for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
    for (const [term, count] of counts) {
      let p = this.postings.get(term);
      if (!p) {
        p = { docs: ints(), tfs: new Growable(new Uint16Array(4), (n) => new Uint16Array(n)) };
        this.postings.set(term, p);
      }
      p.docs.push(slot);
      p.tfs.push(Math.min(count, 65535));
    }
  }

  remove(rowid: number): void {
    const slot = this.slotOf.get(rowid);
    if (slot === undefined) return;
    this.slotOf.delete(rowid);
    this.alive.data[slot] = 0;
    this.liveLength -= this.lengths.data[slot] as number;
    this.dead++;
    if (this.dead > 1024 && this.dead > this.slotOf.size / 4) this.compact();
  }

  /** The k best chunks by BM25 among the allowed collections (and, when given, the allowed rows only). */
  search(query: string, collectionIds: Iterable<string>, k: number, allowedRows?: Set<number>): IndexHit[] {
    const allowed = this.collections.allowList(collectionIds);
    const live = this.slotOf.size;
    if (live === 0 || k <= 0) return [];
    const avgLength = this.liveLength / live || 1;
    if (this.scores.length < this.rowids.length) this.scores = new Float64Array(this.rowids.data.length);
    const scores = this.scores;
    const touched: number[] = [];
    const alive = this.alive.data;
    const lengths = this.lengths.data;
    const collectionOf = this.collectionOf.data;
    for (const [term, weight] of queryTermWeights(analyzeText(query))) {
      const p = this.postings.get(term);
      if (!p) continue;
      const df = p.docs.length;
      const idf = weight * Math.log(1 + (live - df + 0.5) / (df + 0.5));
      const docs = p.docs.data;
      const tfs = p.tfs.data;
      for (let i = 0; i < df; i++) {
        const slot = docs[i] as number;
        if (!alive[slot] || !allowed[collectionOf[slot] as number]) continue;
        if (allowedRows && !allowedRows.has(this.rowids.data[slot] as number)) continue;
        const tf = tfs[i] as number;
        const norm = K1 * (1 - B + (B * (lengths[slot] as number)) / avgLength);
        if (scores[slot] === 0) touched.push(slot);
        scores[slot] = (scores[slot] as number) + (idf * tf * (K1 + 1)) / (tf + norm);
      }
    }
    const best = topK(k);
    for (const slot of touched) {
      best.offer(this.rowids.data[slot] as number, scores[slot] as number);
      scores[slot] = 0;
    }
    return best.hits();
  }

  /** Drops removed chunks from every structure (slots are renumbered). */
  private compact(): void {
    const remap = new Int32Array(this.rowids.length).fill(-1);
    const rowids = new Growable(new Float64Array(this.slotOf.size + 16), (n) => new Float64Array(n));
    const collectionOf = ints();
    const lengths = ints();
    const alive = new Growable(new Uint8Array(this.slotOf.size + 16), (n) => new Uint8Array(n));
    for (let slot = 0; slot < this.rowids.length; slot++) {
      if (!this.alive.data[slot]) continue;
      remap[slot] = rowids.length;
      this.slotOf.set(this.rowids.data[slot] as number, rowids.length);
      rowids.push(this.rowids.data[slot] as number);
      collectionOf.push(this.collectionOf.data[slot] as number);
      lengths.push(this.lengths.data[slot] as number);
      alive.push(1);
    }
    for (const [term, p] of this.postings) {
      const docs = ints();
      const tfs = new Growable(new Uint16Array(4), (n) => new Uint16Array(n));
      for (let i = 0; i < p.docs.length; i++) {
        const slot = remap[p.docs.data[i] as number] as number;
        if (slot < 0) continue;
        docs.push(slot);
        tfs.push(p.tfs.data[i] as number);
      }
      if (docs.length === 0) this.postings.delete(term);
      else this.postings.set(term, { docs, tfs });
    }
    this.rowids = rowids;
    this.collectionOf = collectionOf;
    this.lengths = lengths;
    this.alive = alive;
    this.dead = 0;
  }
}

/** The int8 codes of one collection's vectors of one size. */
class VectorPartition {
  codes: Growable<Int8Array>;
  rowids: number[] = [];
  readonly slotOf = new Map<number, number>();
  dead = 0;
  constructor(readonly dimensions: number) {
    this.codes = new Growable(new Int8Array(dimensions * 16), (n) => new Int8Array(n));
  }
  get count(): number {
    return this.rowids.length;
  }
}

/** Symmetric int8 quantization: cosine similarity is unchanged by the per-vector scale. */
export function quantize(vector: ArrayLike<number>): Int8Array {
  let max = 0;
  for (let i = 0; i < vector.length; i++) max = Math.max(max, Math.abs(vector[i] as number));
  const codes = new Int8Array(vector.length);
  if (max === 0) return codes;
  for (let i = 0; i < vector.length; i++) codes[i] = Math.round(((vector[i] as number) / max) * 127);
  return codes;
}

export class VectorIndex {
  private readonly partitions = new Map<string, VectorPartition>();
  private readonly where = new Map<number, string>();

  get size(): number {
    return this.where.size;
  }

  set(rowid: number, collectionId: string, vector: ArrayLike<number>): void {
    this.remove(rowid);
    const key = `${collectionId}/${vector.length}`;
    let partition = this.partitions.get(key);
    if (!partition) {
      partition = new VectorPartition(vector.length);
      this.partitions.set(key, partition);
    }
    const slot = partition.count;
    partition.codes.grow((slot + 1) * vector.length);
    partition.codes.data.set(quantize(vector), slot * vector.length);
    partition.codes.length = (slot + 1) * vector.length;
    partition.rowids.push(rowid);
    partition.slotOf.set(rowid, slot);
    this.where.set(rowid, key);
  }

  remove(rowid: number): void {
    const key = this.where.get(rowid);
    if (key === undefined) return;
    this.where.delete(rowid);
    const partition = this.partitions.get(key) as VectorPartition;
    const slot = partition.slotOf.get(rowid) as number;
    partition.slotOf.delete(rowid);
    partition.rowids[slot] = -1;
    partition.dead++;
    if (partition.dead > 256 && partition.dead > partition.slotOf.size / 4) this.compact(key, partition);
  }

  /**
   * Candidates for the k nearest chunks by cosine among the allowed collections, best first by their
   * int8 similarity; `candidates` per collection are taken (re-score them with the float vectors).
   */
  search(vector: ArrayLike<number>, collectionIds: Iterable<string>, candidates: number): IndexHit[] {
    const query = quantize(vector);
    const hits: IndexHit[] = [];
    for (const collectionId of new Set(collectionIds)) {
      const partition = this.partitions.get(`${collectionId}/${vector.length}`);
      if (!partition || partition.slotOf.size === 0) continue;
      const wanted = Math.min(partition.count, candidates + partition.dead);
      const codes = partition.codes.data.subarray(0, partition.count * partition.dimensions);
      const matches = usearch.exactSearch(codes, query, partition.dimensions, wanted, usearch.MetricKind.Cos, 0) as {
        keys: BigUint64Array;
        distances: Float32Array;
      };
      for (let i = 0; i < matches.keys.length; i++) {
        const rowid = partition.rowids[Number(matches.keys[i])] as number;
        if (rowid >= 0) hits.push({ rowid, score: 1 - (matches.distances[i] as number) });
      }
    }
    return hits.sort((a, b) => b.score - a.score).slice(0, candidates);
  }

  private compact(key: string, partition: VectorPartition): void {
    const next = new VectorPartition(partition.dimensions);
    const d = partition.dimensions;
    for (let slot = 0; slot < partition.count; slot++) {
      const rowid = partition.rowids[slot] as number;
      if (rowid < 0) continue;
      const at = next.count;
      next.codes.grow((at + 1) * d);
      next.codes.data.set(partition.codes.data.subarray(slot * d, (slot + 1) * d), at * d);
      next.codes.length = (at + 1) * d;
      next.rowids.push(rowid);
      next.slotOf.set(rowid, at);
    }
    this.partitions.set(key, next);
  }
}
