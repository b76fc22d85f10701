import { describe, expect, it } from 'vitest';
import { quantize, TextIndex, VectorIndex } from './memory-index';
import { analyzeText } from './text-analyzer';

function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('text analysis', () => {
  it('folds case and diacritics, drops function words and stems like FTS5 porter', () => {
    expect(analyzeText('The Committee RAISED rates; café économie 2024')).toEqual(['committe', 'rais', 'rate', 'cafe', 'economi', '2024']);
  });
});

describe('in-memory BM25 index', () => {
  const index = new TextIndex();
  index.add(1, 'a', 'The federal funds rate was raised to fight inflation.');
  index.add(2, 'a', 'Inflation expectations remained well anchored.');
  index.add(3, 'a', 'Crude oil prices jumped after the supply cut.');
  index.add(4, 'b', 'Inflation inflation inflation in the private collection.');

  it('ranks by BM25 among the allowed collections only', () => {
    const hits = index.search('inflation rate', ['a'], 10);
    expect(hits.map((h) => h.rowid)).toEqual([1, 2]);
    expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score as number);
    expect(index.search('inflation', ['b'], 10).map((h) => h.rowid)).toEqual([4]);
    expect(index.search('inflation', [], 10)).toEqual([]);
    expect(index.search('inflation', ['unknown'], 10)).toEqual([]);
  });

  it('replaces a chunk added again and forgets a removed one', () => {
    index.add(3, 'a', 'Payrolls grew and inflation eased.');
    expect(index.search('crude oil', ['a'], 10)).toEqual([]);
    expect(index.search('payrolls', ['a'], 10).map((h) => h.rowid)).toEqual([3]);
    index.remove(3);
    expect(index.search('payrolls', ['a'], 10)).toEqual([]);
    expect(index.size).toBe(3);
  });

  it('keeps the k best and stays correct across compaction', () => {
    const big = new TextIndex();
    for (let i = 0; i < 5000; i++) big.add(i, 'c', i % 2 === 0 ? `even word${i} shared` : `odd word${i} shared shared`);
    for (let i = 0; i < 5000; i += 2) big.remove(i); // enough removals to trigger compaction
    expect(big.size).toBe(2500);
    const hits = big.search('shared', ['c'], 5);
    expect(hits).toHaveLength(5);
    expect(hits.every((h) => h.rowid % 2 === 1)).toBe(true);
    expect(big.search('word4999', ['c'], 5).map((h) => h.rowid)).toEqual([4999]);
    expect(big.search('word4998', ['c'], 5)).toEqual([]);
  });
});

describe('in-memory int8 vector index', () => {
  const dimensions = 96;
  const next = random(11);
  const unit = () => {
    const v = Array.from({ length: dimensions }, () => next() * 2 - 1);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };

  it('quantizes symmetrically to int8', () => {
    expect([...quantize([0.5, -1, 0.25])]).toEqual([64, -127, 32]);
    expect([...quantize([0, 0])]).toEqual([0, 0]);
  });

  it('puts the exact float top 10 among its 40 candidates, per allowed collection', () => {
    const index = new VectorIndex();
    const vectors = Array.from({ length: 3000 }, unit);
    vectors.forEach((v, i) => {
      index.set(i, i < 2000 ? 'a' : 'b', v);
    });
    let found = 0;
    for (let q = 0; q < 30; q++) {
      const query = unit();
      const exact = vectors
        .slice(0, 2000)
        .map((v, i) => ({ i, s: v.reduce((sum, x, j) => sum + x * (query[j] as number), 0) }))
        .sort((x, y) => y.s - x.s)
        .slice(0, 10)
        .map((e) => e.i);
      const candidates = new Set(index.search(query, ['a'], 40).map((h) => h.rowid));
      expect([...candidates].every((rowid) => rowid < 2000)).toBe(true);
      found += exact.filter((i) => candidates.has(i)).length;
    }
    expect(found / 300).toBeGreaterThanOrEqual(0.98);
  });

  it('moves a re-set vector and drops removed ones, across compaction', () => {
    const index = new VectorIndex();
    const target = unit();
    index.set(1, 'a', target);
    for (let i = 2; i < 1000; i++) index.set(i, 'a', unit());
    expect(index.search(target, ['a'], 1)[0]?.rowid).toBe(1);
    index.set(1, 'b', target);
    expect(index.search(target, ['a'], 1)[0]?.rowid).not.toBe(1);
    expect(index.search(target, ['b'], 1)[0]?.rowid).toBe(1);
    for (let i = 2; i < 900; i++) index.remove(i);
    expect(index.size).toBe(101);
    const left = index.search(unit(), ['a'], 200).map((h) => h.rowid);
    expect(left).toHaveLength(100);
    expect(left.every((rowid) => rowid >= 900)).toBe(true);
  });
});
