import type { Citation } from '@axon/contracts';
import { describe, expect, it } from 'vitest';
import { addHighlights, citedSentenceSpans, sentencesWithOffsets } from './locate-cited-sentences';

const DOCUMENT = [
  'Recent indicators suggest that growth has slowed.',
  'The Committee decided to maintain the target range for the federal funds rate at 5-1/4 to 5-1/2 percent. Inflation has eased over the past year but remains elevated.',
  'Voting for the monetary policy action were Jerome H. Powell, Chair; and Esther L. George.',
].join('\n\n');

const citation = (n: number, start: number, end: number, page: number | null = null): Citation => ({
  n,
  documentId: `doc-${n}`,
  documentName: `${n}.pdf`,
  collectionId: 'c',
  chunkId: `chunk-${n}`,
  page,
  section: null,
  startOffset: start,
  endOffset: end,
  score: 1,
  text: DOCUMENT.slice(start, end),
});

const documents = { documents: { getText: async () => DOCUMENT } } as unknown as Parameters<typeof addHighlights>[0];

describe('sentences the answer drew on', () => {
  it('splits a passage into sentences with offsets, not after initials', () => {
    const sentences = sentencesWithOffsets(DOCUMENT);
    expect(sentences.map((s) => DOCUMENT.slice(s.start, s.end))).toEqual(sentences.map((s) => s.text));
    expect(sentences.at(-1)?.text).toBe('Voting for the monetary policy action were Jerome H. Powell, Chair; and Esther L. George.');
    expect(sentences).toHaveLength(4);
  });

  it('finds the sentence an extractive answer quotes, in the passage it cites', async () => {
    const cites = [citation(1, 0, 51), citation(2, 51, DOCUMENT.length, 3)];
    const answer =
      '*Extractive answer (built-in local model): the most relevant passages, quoted as written.*\n\n> The Committee decided to maintain the target range for the federal funds rate at 5-1/4 to 5-1/2 percent. [2] (dated 2023-12-13)';
    const located = await addHighlights(documents, answer, cites);
    expect(located[0]?.highlights).toEqual([]);
    const [h] = located[1]?.highlights ?? [];
    expect(DOCUMENT.slice(h?.start, h?.end)).toBe(
      'The Committee decided to maintain the target range for the federal funds rate at 5-1/4 to 5-1/2 percent.',
    );
    // A passage never spans two pages: the highlight is on the passage's page.
    expect(h?.page).toBe(3);
  });

  it("matches a generative answer's paraphrase, with markers after the full stop too", () => {
    const cites = [citation(1, 0, DOCUMENT.length)];
    const spans = citedSentenceSpans('Inflation has come down over the past year, though it remains elevated. [1] The sky is blue.', cites);
    expect(spans.get(1)?.map((s) => s.text)).toEqual(['Inflation has eased over the past year but remains elevated.']);
  });

  it('matches against every passage when the answer cites none, and finds nothing in an unrelated answer', () => {
    const cites = [citation(1, 0, 51), citation(2, 51, DOCUMENT.length)];
    expect(citedSentenceSpans('Growth has slowed, recent indicators suggest.', cites).get(1)?.[0]?.text).toBe(
      'Recent indicators suggest that growth has slowed.',
    );
    expect(citedSentenceSpans('Apples are red and bananas yellow.', cites).size).toBe(0);
  });
});
