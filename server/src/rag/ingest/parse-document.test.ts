import { describe, expect, it } from 'vitest';
import { buildDocx, buildPdf, buildScannedPdf, buildZipBomb, SAMPLE_HTML } from '../../testing/sample-documents';
import { chunkDocument, documentText } from './chunk-document';
import { parseDocument } from './parse-document';
import { parseInWorker } from './parse-in-worker';
import { sniffType } from './sniff-type';

const LIMITS = { maxPages: 500, maxDecompressedBytes: 20 * 1024 * 1024, maxChars: 2_000_000, maxCsvRows: 10_000 };
const enc = (s: string) => new TextEncoder().encode(s);

describe('sniffing the real type', () => {
  it('recognises each format by its bytes', async () => {
    expect(await sniffType(await buildPdf([['hello']]), 'x.bin')).toBe('application/pdf');
    expect(await sniffType(await buildDocx(), 'report.docx')).toBe(
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    );
    expect(await sniffType(enc(SAMPLE_HTML), 'page.txt')).toBe('text/html');
    expect(await sniffType(enc('# Title\n\ntext'), 'notes.md')).toBe('text/markdown');
    expect(await sniffType(enc('a,b\n1,2\n'), 'data.csv')).toBe('text/csv');
    expect(await sniffType(enc('just words'), 'readme')).toBe('text/plain');
    // A short text ending in a multi-byte character is text.
    expect(await sniffType(enc('# A\n\nquotes “x”.\n'), 'a.md')).toBe('text/markdown');
  });

  it('refuses a file whose extension lies, an empty file and binary garbage', async () => {
    await expect(sniffType(enc('this is not a pdf at all'), 'fake.pdf')).rejects.toThrow(/named \.pdf but its content is text/);
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(64).fill(0)]);
    await expect(sniffType(png, 'photo.pdf')).rejects.toThrow(/image\/png/);
    await expect(sniffType(await buildPdf([['hello']]), 'report.docx')).rejects.toThrow(/named \.docx but its content is PDF/);
    await expect(sniffType(await buildDocx(), 'notes.txt')).rejects.toThrow(/named \.txt but its content is DOCX/);
    await expect(sniffType(new Uint8Array(), 'empty.txt')).rejects.toMatchObject({ reason: 'empty' });
    const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    await expect(sniffType(garbage, 'data.txt')).rejects.toMatchObject({ reason: 'unsupported_type' });
  });
});

describe('parsing', () => {
  it('reads a multi-page PDF page by page', async () => {
    const pdf = await buildPdf([
      ['The first page talks about inflation.'],
      ['The second page is about employment and wages.'],
      ['Page three: the outlook.'],
    ]);
    const parsed = await parseDocument(pdf, 'application/pdf', LIMITS);
    expect(parsed.pages).toBe(3);
    expect(parsed.blocks.map((b) => [b.page, b.text])).toEqual([
      [1, 'The first page talks about inflation.'],
      [2, 'The second page is about employment and wages.'],
      [3, 'Page three: the outlook.'],
    ]);
  });

  it('reports a scanned PDF without a text layer, and a truncated one', async () => {
    await expect(parseDocument(await buildScannedPdf(2), 'application/pdf', LIMITS)).rejects.toMatchObject({ reason: 'no_text_layer' });
    const pdf = await buildPdf([['Some text here.']]);
    await expect(parseDocument(pdf.subarray(0, Math.floor(pdf.length / 3)), 'application/pdf', LIMITS)).rejects.toMatchObject({
      reason: 'corrupt',
    });
  });

  it('reads a DOCX with headings and a table', async () => {
    const parsed = await parseDocument(
      await buildDocx(),
      'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      LIMITS,
    );
    expect(parsed.blocks.map((b) => b.kind)).toEqual(['heading', 'paragraph', 'heading', 'paragraph', 'table-row', 'table-row']);
    expect(parsed.blocks[3]).toMatchObject({
      text: 'Inflation has eased over the past year but remains elevated.',
      section: 'Monetary Policy Report › Inflation',
    });
    expect(parsed.blocks[5]?.text).toBe('10 Yr | 4.21');
  });

  it('refuses a zip bomb disguised as a DOCX before unpacking it', async () => {
    const bomb = await buildZipBomb(200 * 1024 * 1024);
    expect(bomb.length).toBeLessThan(1024 * 1024);
    await expect(parseDocument(bomb, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', LIMITS)).rejects.toThrow(
      /zip bomb/,
    );
  });

  it('keeps the main content of an HTML page and drops the boilerplate', async () => {
    const parsed = await parseDocument(enc(SAMPLE_HTML), 'text/html', LIMITS);
    const text = documentText(parsed);
    expect(parsed.title).toBe('Yield curve note');
    expect(text).toContain('stayed negative through July');
    expect(text).toContain('2 Yr | 4.85');
    for (const boilerplate of ['Sign in', 'celebrity gossip', 'All rights reserved', 'tracking']) expect(text).not.toContain(boilerplate);
    expect(parsed.blocks.find((b) => b.text.startsWith('An inverted'))).toMatchObject({
      kind: 'list-item',
      section: 'The yield curve in July › Why it matters',
    });
  });

  it('reads Markdown structure and CSV rows with their column names', async () => {
    const md = await parseDocument(
      enc('# Rates\n\nShort text.\n\n## Table\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- item one\n'),
      'text/markdown',
      LIMITS,
    );
    expect(md.blocks.map((b) => [b.kind, b.text])).toEqual([
      ['heading', 'Rates'],
      ['paragraph', 'Short text.'],
      ['heading', 'Table'],
      ['table-row', 'a | b'],
      ['table-row', '1 | 2'],
      ['list-item', 'item one'],
    ]);
    const csv = await parseDocument(enc('Date,10 Yr\n2025-07-11,4.43\n'), 'text/csv', LIMITS);
    expect(csv.blocks[0]?.text).toBe('Date: 2025-07-11; 10 Yr: 4.43');
  });

  it('enforces the page and character limits', async () => {
    await expect(parseDocument(await buildPdf([['a'], ['b'], ['c']]), 'application/pdf', { ...LIMITS, maxPages: 2 })).rejects.toThrow(
      /3 pages; the limit is 2/,
    );
    await expect(parseDocument(enc('x'.repeat(5000)), 'text/plain', { ...LIMITS, maxChars: 1000 })).rejects.toMatchObject({
      reason: 'limit',
    });
  });

  it('parses in a worker thread and stops one that takes too long', async () => {
    const parsed = await parseInWorker(enc('# Hello\n\nworld'), 'text/markdown', { ...LIMITS, timeoutMs: 20_000, maxMemoryMb: 256 });
    expect(parsed.blocks).toHaveLength(2);
    const big = await buildPdf(Array.from({ length: 40 }, (_, i) => [`Page ${i} `.repeat(60)]));
    await expect(parseInWorker(big, 'application/pdf', { ...LIMITS, timeoutMs: 1, maxMemoryMb: 256 })).rejects.toMatchObject({
      reason: 'timeout',
    });
  });
});

describe('chunking', () => {
  it('keeps chunks within the token budget, on one page, with offsets into the document text', async () => {
    const pages = [
      Array.from({ length: 12 }, (_, i) => `Paragraph ${i} on page one explains the labour market in some detail, with numbers ${i * 3}.`),
      ['Page two stands alone.'],
    ];
    const parsed = await parseDocument(await buildPdf(pages), 'application/pdf', LIMITS);
    const text = documentText(parsed);
    const chunks = chunkDocument(parsed, { maxTokens: 80, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      expect(chunk.tokenCount).toBeLessThanOrEqual(80);
      expect(text.slice(chunk.startOffset, chunk.endOffset)).toBe(chunk.text);
    }
    expect(chunks.at(-1)).toMatchObject({ text: 'Page two stands alone.', page: 2 });
    // Overlap: consecutive chunks of page one share a paragraph.
    const [a, b] = chunks;
    expect(b && a && b.startOffset < a.endOffset).toBe(true);
  });

  it('splits an over-long paragraph by sentences and starts a chunk at a top-level heading', async () => {
    const long = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
    const parsed = await parseDocument(enc(`# One\n\n${long}\n\n# Two\n\nShort.`), 'text/markdown', LIMITS);
    const chunks = chunkDocument(parsed, { maxTokens: 60, overlapTokens: 0 });
    expect(chunks.every((c) => c.tokenCount <= 60)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ text: 'Two\n\nShort.', section: 'Two' });
  });
});
