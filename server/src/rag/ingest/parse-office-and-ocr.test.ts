import { describe, expect, it } from 'vitest';
import { buildPptx, buildXlsx, buildZip } from '../../testing/office-documents';
import { buildDocx, buildPdf, buildZipBomb } from '../../testing/sample-documents';
import { buildScannedPdf, SCANNED_NOTE_JPEG, SCANNED_NOTE_PNG, SCANNED_NOTE_TEXT } from '../../testing/scanned-documents';
import { chunkDocument } from './chunk-document';
import { parseDocument } from './parse-document';
import { parseInWorker } from './parse-in-worker';
import { imageDimensions, pixelsToPnm, textParagraphs } from './recognize-text';
import { sniffType } from './sniff-type';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
const PPTX = 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
const LIMITS = { maxPages: 500, maxDecompressedBytes: 20 * 1024 * 1024, maxChars: 2_000_000, maxCsvRows: 10_000 };
const WITH_OCR = { ...LIMITS, ocr: true };

/** The note's two lines, as OCR reads them, in a document's text. */
const expectNoteIn = (text: string) => {
  for (const line of SCANNED_NOTE_TEXT) expect(text).toContain(line);
};

describe('spreadsheets (XLSX)', () => {
  const workbook = () =>
    buildXlsx([
      {
        name: 'Yields',
        rows: [
          ['Tenor', 'Yield', 'As of', 'Inverted'],
          ['2 Yr', 4.73, { date: '2030-03-14' }, true],
          ['10 Yr', 4.21, { date: '2030-03-14' }, false],
          [null, null, null, null],
          ['30 Yr', { formula: 'B3+0.2', result: '4.41' }, null, null],
        ],
      },
      { name: 'Scratch', hidden: true, rows: [['secret working'], ['do not index']] },
      { name: 'Notes & sources', rows: [['Source: Treasury daily par yield curve']] },
    ]);

  it('reads each visible sheet as a section, every row with its column labels; dates as dates', async () => {
    const parsed = await parseDocument(workbook(), XLSX, LIMITS);
    expect(parsed.blocks.map((b) => [b.kind, b.text, b.section])).toEqual([
      ['heading', 'Yields', 'Yields'],
      ['table-row', 'Tenor: 2 Yr; Yield: 4.73; As of: 2030-03-14; Inverted: TRUE', 'Yields'],
      ['table-row', 'Tenor: 10 Yr; Yield: 4.21; As of: 2030-03-14; Inverted: FALSE', 'Yields'],
      ['table-row', 'Tenor: 30 Yr; Yield: 4.41', 'Yields'],
      ['heading', 'Notes & sources', 'Notes & sources'],
      ['table-row', 'Source: Treasury daily par yield curve', 'Notes & sources'],
    ]);
    // Chunks carry the sheet as their section, for citations.
    const chunks = chunkDocument(parsed, { maxTokens: 100, overlapTokens: 0 });
    expect(chunks[0]?.section).toBe('Yields');
  });

  it('reads at most the row limit, over all sheets', async () => {
    const rows = [['Day', 'Close'], ...Array.from({ length: 50 }, (_, i) => [`day ${i + 1}`, i])];
    const parsed = await parseDocument(
      buildXlsx([
        { name: 'A', rows },
        { name: 'B', rows },
      ]),
      XLSX,
      { ...LIMITS, maxCsvRows: 31 },
    );
    expect(parsed.blocks.filter((b) => b.kind === 'table-row')).toHaveLength(30);
    expect(parsed.blocks.some((b) => b.section === 'B')).toBe(false);
  });

  it('refuses a zip that is no workbook, and a zip bomb named .xlsx, before unpacking it', async () => {
    await expect(parseDocument(buildZip({ 'word/document.xml': '<w/>' }), XLSX, LIMITS)).rejects.toMatchObject({
      reason: 'corrupt',
      message: expect.stringMatching(/not an Excel workbook/),
    });
    const bomb = await buildZipBomb(100 * 1024 * 1024);
    expect(await sniffType(bomb, 'figures.xlsx')).toBe(XLSX);
    await expect(parseDocument(bomb, XLSX, LIMITS)).rejects.toThrow(/zip bomb/);
    const lying = await buildZipBomb(300 * 1024 * 1024, { declaredBytes: 2048 });
    await expect(parseDocument(lying, PPTX, LIMITS)).rejects.toThrow(/zip bomb/);
  }, 60_000);
});

describe('presentations (PPTX)', () => {
  it('reads each shown slide as a section with its number as page: title, text, tables and speaker notes', async () => {
    const deck = buildPptx([
      { title: 'Rates outlook 2030', body: ['Treasury desk briefing'] },
      { title: 'Hidden draft', body: ['not for indexing'], hidden: true },
      {
        title: 'Curve',
        body: ['The curve inverted in March.', 'Short rates stay high.'],
        table: [
          ['Tenor', 'Yield'],
          ['10 Yr', '4.21'],
        ],
        notes: 'Mention the March meeting.',
      },
      { body: ['A slide with no title.'] },
    ]);
    const parsed = await parseDocument(deck, PPTX, LIMITS);
    expect(parsed.pages).toBe(4);
    expect(parsed.title).toBe('Rates outlook 2030');
    expect(parsed.blocks.map((b) => [b.kind, b.page, b.text])).toEqual([
      ['heading', 1, 'Slide 1: Rates outlook 2030'],
      ['paragraph', 1, 'Treasury desk briefing'],
      ['heading', 3, 'Slide 3: Curve'],
      ['paragraph', 3, 'The curve inverted in March.'],
      ['paragraph', 3, 'Short rates stay high.'],
      ['table-row', 3, 'Tenor | Yield'],
      ['table-row', 3, '10 Yr | 4.21'],
      ['paragraph', 3, 'Notes: Mention the March meeting.'],
      ['heading', 4, 'Slide 4'],
      ['paragraph', 4, 'A slide with no title.'],
    ]);
    expect(parsed.blocks[3]?.section).toBe('Slide 3: Curve');
  });

  it('refuses a deck over the page limit', async () => {
    const deck = buildPptx(Array.from({ length: 6 }, (_, i) => ({ title: `Slide ${i}` })));
    await expect(parseDocument(deck, PPTX, { ...LIMITS, maxPages: 5 })).rejects.toMatchObject({ reason: 'limit' });
  });
});

describe('sniffing Office files and images', () => {
  it('recognises XLSX, PPTX, PNG and JPEG by their bytes', async () => {
    const xlsx = buildXlsx([{ name: 'S', rows: [['a']] }]);
    const pptx = buildPptx([{ title: 'T' }]);
    expect(await sniffType(xlsx, 'figures.xlsx')).toBe(XLSX);
    expect(await sniffType(xlsx, 'upload')).toBe(XLSX);
    expect(await sniffType(pptx, 'deck.pptx')).toBe(PPTX);
    expect(await sniffType(SCANNED_NOTE_PNG, 'note.png')).toBe('image/png');
    expect(await sniffType(SCANNED_NOTE_JPEG, 'note.jpeg')).toBe('image/jpeg');
    expect(await sniffType(SCANNED_NOTE_JPEG, 'note.jpg')).toBe('image/jpeg');
  });

  it('refuses files whose bytes contradict their names', async () => {
    const xlsx = buildXlsx([{ name: 'S', rows: [['a']] }]);
    await expect(sniffType(xlsx, 'report.docx')).rejects.toThrow(/named \.docx but its content is XLSX/);
    await expect(sniffType(await buildDocx(), 'figures.xlsx')).rejects.toThrow(/named \.xlsx but its content is DOCX/);
    await expect(sniffType(buildPptx([{ title: 'T' }]), 'figures.xlsx')).rejects.toThrow(/content is PPTX/);
    await expect(sniffType(await buildPdf([['hello']]), 'deck.pptx')).rejects.toThrow(/named \.pptx but its content is PDF/);
    await expect(sniffType(SCANNED_NOTE_PNG, 'photo.jpg')).rejects.toThrow(/named \.jpg but its content is PNG/);
    await expect(sniffType(SCANNED_NOTE_JPEG, 'notes.txt')).rejects.toThrow(/named \.txt but its content is JPG/);
    await expect(sniffType(new TextEncoder().encode('a,b\n1,2\n'), 'figures.xlsx')).rejects.toThrow(/named \.xlsx but its content is text/);
    await expect(sniffType(new TextEncoder().encode('<svg></svg>'), 'logo.png')).rejects.toThrow(/content is text/);
  });
});

describe('OCR', () => {
  it('reads the text of a PNG and of a JPEG', async () => {
    for (const [bytes, type] of [
      [SCANNED_NOTE_PNG, 'image/png'],
      [SCANNED_NOTE_JPEG, 'image/jpeg'],
    ] as const) {
      const parsed = await parseDocument(bytes, type, WITH_OCR);
      expectNoteIn(parsed.blocks.map((b) => b.text).join('\n'));
    }
  }, 60_000);

  it('says plainly when OCR is off', async () => {
    await expect(parseDocument(SCANNED_NOTE_PNG, 'image/png', LIMITS)).rejects.toMatchObject({
      reason: 'ocr_off',
      message: expect.stringMatching(/PNG image.*OCR, which is turned off on this server \(the rag\.ocr setting\)/),
    });
    const scan = await buildScannedPdf([{ png: SCANNED_NOTE_PNG }]);
    await expect(parseDocument(scan, 'application/pdf', LIMITS)).rejects.toMatchObject({
      reason: 'no_text_layer',
      message: expect.stringMatching(/no text layer: it looks scanned\. Axon reads scanned pages with OCR, which is turned off/),
    });
  });

  it('reads a scanned PDF page by page: colour, JPEG, black-and-white and stencil-mask pages, beside a page with text', async () => {
    const scan = await buildScannedPdf([
      { png: SCANNED_NOTE_PNG },
      { text: 'This page has a text layer about the harbour lease.' },
      { jpeg: SCANNED_NOTE_JPEG },
      { bilevel: SCANNED_NOTE_PNG },
      { bilevel: SCANNED_NOTE_PNG, mask: true },
    ]);
    const parsed = await parseDocument(scan, 'application/pdf', WITH_OCR);
    expect(parsed.pages).toBe(5);
    for (const page of [1, 3, 4, 5])
      expectNoteIn(
        parsed.blocks
          .filter((b) => b.page === page)
          .map((b) => b.text)
          .join('\n'),
      );
    expect(parsed.blocks.filter((b) => b.page === 2).map((b) => b.text)).toEqual(['This page has a text layer about the harbour lease.']);
    // Pages stay in order.
    expect(parsed.blocks.map((b) => b.page)).toEqual([...parsed.blocks.map((b) => b.page ?? 0)].sort((a, b) => a - b));
  }, 90_000);

  it('reports a scan whose pages hold no picture to read', async () => {
    const blank = await buildScannedPdf([{ text: ' ' }]);
    await expect(parseDocument(blank, 'application/pdf', WITH_OCR)).rejects.toMatchObject({
      reason: 'no_text_layer',
      message: expect.stringMatching(/OCR found no text in them/),
    });
  });

  it('is bounded by the parse time limit', async () => {
    const scan = await buildScannedPdf(Array.from({ length: 6 }, () => ({ png: SCANNED_NOTE_PNG })));
    await expect(parseInWorker(scan, 'application/pdf', { ...WITH_OCR, timeoutMs: 300, maxMemoryMb: 256 })).rejects.toMatchObject({
      reason: 'timeout',
    });
    // The thread is started afresh for the next file, which OCR reads in time.
    const parsed = await parseInWorker(SCANNED_NOTE_PNG, 'image/png', { ...WITH_OCR, timeoutMs: 60_000, maxMemoryMb: 256 });
    expectNoteIn(parsed.blocks.map((b) => b.text).join('\n'));
  }, 90_000);

  it('refuses an image too large to read, by its header', async () => {
    const huge = new Uint8Array(SCANNED_NOTE_PNG);
    new DataView(huge.buffer).setUint32(16, 20_000);
    new DataView(huge.buffer).setUint32(20, 20_000);
    expect(imageDimensions(huge)).toEqual({ width: 20_000, height: 20_000 });
    await expect(parseDocument(huge, 'image/png', WITH_OCR)).rejects.toMatchObject({
      reason: 'limit',
      message: expect.stringMatching(/20000×20000 pixels/),
    });
    expect(imageDimensions(SCANNED_NOTE_JPEG)).toEqual({ width: 640, height: 200 });
  });

  it('turns decoded pixels into grey PNM and Tesseract lines into paragraphs', () => {
    const pnm = pixelsToPnm({ width: 9, height: 1, kind: 1, data: new Uint8Array([0b1010_0000, 0b1000_0000]) });
    expect(new TextDecoder().decode(pnm.subarray(0, 11))).toBe('P5\n9 1\n255\n');
    expect([...pnm.subarray(pnm.length - 9)]).toEqual([255, 0, 255, 0, 0, 0, 0, 0, 255]);
    const rgba = pixelsToPnm({ width: 2, height: 1, kind: 3, data: new Uint8Array([0, 0, 0, 255, 0, 0, 0, 0]) });
    expect([...rgba.subarray(rgba.length - 2)]).toEqual([0, 255]);
    expect(textParagraphs('Treasury yields rose in Mar-\nch after the\nmeeting.\n\n  \n\n12\n\n|||\n')).toEqual([
      'Treasury yields rose in March after the meeting.',
      '12',
    ]);
  });
});
