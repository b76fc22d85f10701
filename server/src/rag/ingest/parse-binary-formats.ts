import mammoth from 'mammoth';
import { getDocumentProxy, getResolvedPDFJS } from 'unpdf';
import yauzl from 'yauzl';
import { parseHtml } from './parse-text-formats';
import { type DocumentBlock, type ParsedDocument, ParseError, withSections } from './parsed-document';
import { type DecodedImage, MAX_OCR_PIXELS, pixelsToPnm, recognizeText } from './recognize-text';

export interface BinaryLimits {
  maxPages: number;
  /** Largest total size of a DOCX's unpacked parts, in bytes (zip bomb guard). */
  maxDecompressedBytes: number;
  /** Whether pages without a text layer are read by OCR. */
  ocr?: boolean | undefined;
}

interface PdfTextItem {
  str: string;
  transform: number[];
  height: number;
  hasEOL?: boolean;
}

/**
 * A page's text items as paragraphs: items on one baseline form a line, and a vertical gap clearly
 * larger than the usual line spacing starts a new paragraph. Hyphenated line breaks are joined.
 */
export function pageParagraphs(items: PdfTextItem[]): string[] {
  const lines: Array<{ y: number; text: string; height: number }> = [];
  for (const item of items) {
    if (!('str' in item)) continue;
    const y = item.transform[5] ?? 0;
    const last = lines.at(-1);
    if (last && Math.abs(last.y - y) < Math.max(2, item.height * 0.5)) last.text += item.str;
    else lines.push({ y, text: item.str, height: item.height });
  }
  const gaps = lines
    .slice(1)
    .map((line, i) => Math.abs((lines[i] as { y: number }).y - line.y))
    .filter((g) => g > 0);
  const usual = gaps.length ? ([...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)] ?? 0) : 0;
  const paragraphs: string[] = [];
  let current = '';
  lines.forEach((line, i) => {
    const gap = i > 0 ? Math.abs((lines[i - 1] as { y: number }).y - line.y) : 0;
    const text = line.text.trim();
    if (i > 0 && (gap > usual * 1.4 || gap > line.height * 2.2) && current) {
      paragraphs.push(current);
      current = '';
    }
    if (!text) return;
    current = !current ? text : current.endsWith('-') && /^\p{Ll}/u.test(text) ? current.slice(0, -1) + text : `${current} ${text}`;
  });
  if (current) paragraphs.push(current);
  return paragraphs;
}

/** A page with less text than this (in characters) has no text layer of its own. */
const MIN_PAGE_CHARS = 20;
/** Images smaller than this on either side (icons, rules) are not read by OCR. */
const MIN_OCR_SIDE = 32;

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;
type PdfPage = Awaited<ReturnType<PdfDocument['getPage']>>;

/** The images a page paints, decoded by pdf.js, in painting order (the page of a scan is one or a few). */
async function pageImages(page: PdfPage): Promise<DecodedImage[]> {
  const { OPS } = await getResolvedPDFJS();
  const operators = await page.getOperatorList();
  const images: DecodedImage[] = [];
  const object = (key: string) => new Promise<unknown>((resolve) => (key.startsWith('g_') ? page.commonObjs : page.objs).get(key, resolve));
  for (let i = 0; i < operators.fnArray.length; i++) {
    const op = operators.fnArray[i];
    const args = operators.argsArray[i] as unknown[];
    let image: unknown;
    if (op === OPS.paintImageXObject) image = await object(args[0] as string);
    else if (op === OPS.paintInlineImageXObject) image = args[0];
    else if (op === OPS.paintImageMaskXObject) {
      // A stencil mask (how many scanners store a page of black and white): 1-bit data, set = unpainted,
      // kept apart under an object id.
      const mask = args[0] as { width?: number; height?: number; data?: unknown };
      const data = typeof mask.data === 'string' ? ((await object(mask.data)) as { data?: unknown } | undefined)?.data : mask.data;
      image = { width: mask.width, height: mask.height, data, kind: 1 };
    }
    const { width, height, kind, data } = (image ?? {}) as Partial<DecodedImage>;
    if (!width || !height || !data || (kind !== 1 && kind !== 2 && kind !== 3)) continue;
    if (width < MIN_OCR_SIDE || height < MIN_OCR_SIDE) continue;
    images.push({ width, height, kind, data });
  }
  return images;
}

/**
 * PDF: the text layer, page by page (page numbers kept for citations). With OCR on, pages without a
 * text layer (scanned ones) are read from the images they paint. A PDF with pages but next to no
 * text then is reported as scanned, saying whether OCR is off or found nothing.
 */
export async function parsePdf(bytes: Uint8Array, limits: BinaryLimits): Promise<ParsedDocument> {
  let pdf: PdfDocument;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, useSystemFonts: false, verbosity: 0 });
  } catch (error) {
    throw new ParseError(`This PDF cannot be read (${(error as Error).message}); it may be damaged or incomplete.`, 'corrupt');
  }
  if (pdf.numPages > limits.maxPages) {
    throw new ParseError(`This PDF has ${pdf.numPages} pages; the limit is ${limits.maxPages}.`, 'limit');
  }
  const byPage = new Map<number, string[]>();
  try {
    // Pages are requested a few at a time (pdf.js answers through message ports; overlapping the
    // requests keeps it busy) and their paragraphs kept in page order.
    const batch = 8;
    for (let first = 1; first <= pdf.numPages; first += batch) {
      const numbers = Array.from({ length: Math.min(batch, pdf.numPages - first + 1) }, (_, i) => first + i);
      const pages = await Promise.all(
        numbers.map(async (number) => {
          const page = await pdf.getPage(number);
          const content = await page.getTextContent();
          page.cleanup();
          return { number, paragraphs: pageParagraphs(content.items as PdfTextItem[]) };
        }),
      );
      for (const { number, paragraphs } of pages) byPage.set(number, paragraphs);
    }
  } catch (error) {
    throw new ParseError(`The text of this PDF cannot be read (${(error as Error).message}).`, 'corrupt');
  }
  const untexted = [...byPage].filter(([, paragraphs]) => paragraphs.join('').length < MIN_PAGE_CHARS).map(([number]) => number);
  let recognized = 0;
  if (limits.ocr) {
    // One page at a time: a scan's images are large once decoded.
    for (const number of untexted) {
      const page = await pdf.getPage(number);
      let images: DecodedImage[];
      try {
        images = await pageImages(page);
      } catch (error) {
        throw new ParseError(`The images of page ${number} of this PDF cannot be read (${(error as Error).message}).`, 'corrupt');
      }
      const paragraphs = [...(byPage.get(number) ?? [])];
      for (const image of images) {
        if (image.width * image.height > MAX_OCR_PIXELS) {
          throw new ParseError(
            `Page ${number} of this PDF holds an image of ${image.width}×${image.height} pixels; OCR reads images of up to ${MAX_OCR_PIXELS / 1_000_000} million pixels.`,
            'limit',
          );
        }
        paragraphs.push(...(await recognizeText(pixelsToPnm(image))));
      }
      page.cleanup();
      if (paragraphs.length > (byPage.get(number)?.length ?? 0)) recognized++;
      byPage.set(number, paragraphs);
    }
  }
  const blocks: DocumentBlock[] = [...byPage]
    .sort(([a], [b]) => a - b)
    .flatMap(([page, paragraphs]) => paragraphs.map((text) => ({ kind: 'paragraph' as const, text, page })));
  const chars = blocks.reduce((n, b) => n + b.text.length, 0);
  if (pdf.numPages > 0 && chars < MIN_PAGE_CHARS * pdf.numPages && chars < 200) {
    throw new ParseError(
      limits.ocr
        ? `This PDF has ${pdf.numPages} page(s) but no text layer, and OCR found no text in ${recognized === 0 ? 'them' : 'most of them'}.`
        : `This PDF has ${pdf.numPages} page(s) but no text layer: it looks scanned. Axon reads scanned pages with OCR, which is turned off on this server (the rag.ocr setting); turn it on, or run OCR on the file before uploading it.`,
      'no_text_layer',
    );
  }
  const date = await pdfDate(pdf);
  return { blocks: withSections(blocks), pages: pdf.numPages, ...(date ? { date } : {}) };
}

/** The PDF's creation date (or, failing that, its modification date) from its info dictionary, as written. */
async function pdfDate(pdf: PdfDocument): Promise<string | undefined> {
  try {
    const { info } = (await pdf.getMetadata()) as unknown as { info?: Record<string, unknown> };
    const value = info?.CreationDate ?? info?.ModDate;
    return typeof value === 'string' && value ? value : undefined;
  } catch {
    return undefined;
  }
}

/** An archive may unpack to at most this many times its own size (past {@link RATIO_FLOOR_BYTES}). */
export const MAX_ZIP_RATIO = 100;
/** Below this many unpacked bytes the ratio is not checked: small, very regular files compress well. */
const RATIO_FLOOR_BYTES = 10 * 1_048_576;
const MAX_ZIP_ENTRIES = 10_000;

/**
 * Unpacks every entry of a zip-based document (DOCX, and any other zip format Axon reads) as a
 * stream that is counted and thrown away, before any parser unpacks it in memory: the bytes
 * actually inflated are what count, not the sizes the archive declares. It stops at the first
 * entry that inflates to more than it declares (yauzl checks that as it streams), at
 * `maxBytes` in all, or at {@link MAX_ZIP_RATIO} times the archive's size.
 */
export function checkZipSize(bytes: Uint8Array, maxBytes: number, what = 'document'): Promise<void> {
  const bomb = (detail: string) => new ParseError(`This ${what} ${detail}; it may be a zip bomb.`, 'limit');
  const maxRatioBytes = Math.max(RATIO_FLOOR_BYTES, bytes.length * MAX_ZIP_RATIO);
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(Buffer.from(bytes), { lazyEntries: true, validateEntrySizes: true }, (error, zip) => {
      if (error || !zip) return reject(new ParseError(`This file is not a valid ${what} (the archive cannot be read).`, 'corrupt'));
      let total = 0;
      let entries = 0;
      let settled = false;
      const fail = (reason: ParseError) => {
        if (settled) return;
        settled = true;
        zip.close();
        reject(reason);
      };
      zip.on('entry', (entry: yauzl.Entry) => {
        if (++entries > MAX_ZIP_ENTRIES) return fail(bomb(`holds more than ${MAX_ZIP_ENTRIES} files`));
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (openError, stream) => {
          if (openError || !stream)
            return fail(new ParseError(`This file is not a valid ${what} (${openError?.message ?? 'unreadable entry'}).`, 'corrupt'));
          stream.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > maxBytes) {
              stream.destroy();
              fail(bomb(`unpacks to more than ${Math.round(maxBytes / 1_048_576)} MB, the limit`));
            } else if (total > maxRatioBytes) {
              stream.destroy();
              fail(bomb(`unpacks to more than ${MAX_ZIP_RATIO} times its size`));
            }
          });
          stream.on('error', (streamError: Error) =>
            fail(
              /too many bytes|expected/i.test(streamError.message)
                ? bomb('unpacks to more than its archive declares')
                : new ParseError(`This file is not a valid ${what} (the archive is damaged).`, 'corrupt'),
            ),
          );
          stream.on('end', () => {
            if (!settled) zip.readEntry();
          });
        });
      });
      zip.on('end', () => {
        if (settled) return;
        settled = true;
        resolve();
      });
      zip.on('error', () => fail(new ParseError(`This file is not a valid ${what} (the archive is damaged).`, 'corrupt')));
      zip.readEntry();
    });
  });
}

/** DOCX: converted to HTML by mammoth (headings and tables kept), then read like a web page. */
export async function parseDocx(bytes: Uint8Array, limits: BinaryLimits): Promise<ParsedDocument> {
  await checkZipSize(bytes, limits.maxDecompressedBytes, 'Word document');
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml({ buffer: Buffer.from(bytes) }));
  } catch (error) {
    throw new ParseError(`This Word document cannot be read (${(error as Error).message}).`, 'corrupt');
  }
  const parsed = parseHtml(`<main>${html}</main>`);
  return {
    blocks: parsed.blocks,
    ...(parsed.blocks.find((b) => b.kind === 'heading') ? { title: parsed.blocks.find((b) => b.kind === 'heading')?.text } : {}),
  };
}
