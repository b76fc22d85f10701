import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Tesseract from 'tesseract.js';
import { ParseError, withSections } from './parsed-document';

const require = createRequire(import.meta.url);

/**
 * English as Tesseract's LSTM model (integer weights: small and quick), read from the
 * `@tesseract.js-data/eng` package. The engine comes from `tesseract.js-core`, also from
 * node_modules: nothing is fetched, and nothing is written to a cache.
 */
const LANGUAGE_DIR = join(dirname(require.resolve('@tesseract.js-data/eng/package.json')), '4.0.0_best_int');

/** Largest image OCR reads, in pixels (a 600 dpi A4 scan is 35 million). */
export const MAX_OCR_PIXELS = 40_000_000;
/** Recognised text below this mean confidence (0–100) is taken for noise and dropped: a photo, a chart. */
const MIN_CONFIDENCE = 30;
/** How long the engine stays loaded with nothing to read. */
const IDLE_MS = 30_000;

let engine: Promise<Tesseract.Worker> | undefined;
let idleTimer: NodeJS.Timeout | undefined;

function startEngine(): Promise<Tesseract.Worker> {
  engine ??= Tesseract.createWorker('eng', Tesseract.OEM.LSTM_ONLY, {
    langPath: LANGUAGE_DIR,
    gzip: true,
    cacheMethod: 'none',
    logger: () => {},
    errorHandler: () => {},
  }).catch((error: unknown) => {
    engine = undefined;
    throw error;
  });
  return engine;
}

async function stopEngine(): Promise<void> {
  const running = engine;
  engine = undefined;
  await (await running?.catch(() => undefined))?.terminate();
}

/**
 * The text in an image (PNG, JPEG, or a PNM made by {@link pixelsToPnm}), as paragraphs. The engine
 * is loaded on first use and kept for the next image a while (it runs in a thread of its own; when
 * the parse thread is stopped at its time limit, it stops with it).
 */
export async function recognizeText(image: Uint8Array): Promise<string[]> {
  clearTimeout(idleTimer);
  try {
    const worker = await startEngine();
    const { data } = await worker.recognize(Buffer.from(image.buffer, image.byteOffset, image.byteLength));
    return data.confidence < MIN_CONFIDENCE ? [] : textParagraphs(data.text);
  } catch (error) {
    await stopEngine().catch(() => undefined);
    throw new ParseError(`OCR could not read this image (${(error as Error)?.message ?? String(error)}).`, 'corrupt');
  } finally {
    idleTimer = setTimeout(() => void stopEngine(), IDLE_MS).unref();
  }
}

/** Tesseract's lines as paragraphs: a blank line ends one; a word hyphenated across lines is joined. */
export function textParagraphs(text: string): string[] {
  return text
    .split(/\n\s*\n/)
    .map((block) =>
      block
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean)
        .reduce(
          (joined, line) =>
            !joined ? line : joined.endsWith('-') && /^\p{Ll}/u.test(line) ? joined.slice(0, -1) + line : `${joined} ${line}`,
          '',
        ),
    )
    .filter((paragraph) => /[\p{L}\p{N}]/u.test(paragraph));
}

/** Pixels as pdf.js decodes an image: 1 bit (set = white, rows padded to bytes), RGB or RGBA. */
export interface DecodedImage {
  width: number;
  height: number;
  kind: 1 | 2 | 3;
  data: Uint8Array | Uint8ClampedArray;
}

/** A decoded image as a grey PNM (P5), a format the OCR engine reads without a decoder of ours. */
export function pixelsToPnm({ width, height, kind, data }: DecodedImage): Uint8Array {
  const header = new TextEncoder().encode(`P5\n${width} ${height}\n255\n`);
  const out = new Uint8Array(header.length + width * height);
  out.set(header);
  let at = header.length;
  if (kind === 1) {
    const rowBytes = (width + 7) >> 3;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) out[at++] = ((data[y * rowBytes + (x >> 3)] ?? 0) >> (7 - (x & 7))) & 1 ? 255 : 0;
  } else {
    const step = kind === 2 ? 3 : 4;
    for (let i = 0; i < width * height; i++) {
      const p = i * step;
      // Luma (BT.601); a transparent pixel is paper.
      const alpha = step === 4 ? (data[p + 3] ?? 255) / 255 : 1;
      const grey = 0.299 * (data[p] ?? 0) + 0.587 * (data[p + 1] ?? 0) + 0.114 * (data[p + 2] ?? 0);
      out[at++] = Math.round(grey * alpha + 255 * (1 - alpha));
    }
  }
  return out;
}

const ascii = (bytes: Uint8Array, at: number, text: string) => [...text].every((c, i) => bytes[at + i] === c.charCodeAt(0));

/** The size of a WebP from its first chunk (lossy `VP8 `, lossless `VP8L` or extended `VP8X`). */
function webpDimensions(bytes: Uint8Array, view: DataView): { width: number; height: number } | undefined {
  if (bytes.length < 30) return undefined;
  if (ascii(bytes, 12, 'VP8 ')) return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  if (ascii(bytes, 12, 'VP8L')) {
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (ascii(bytes, 12, 'VP8X')) return { width: (view.getUint32(24, true) & 0xffffff) + 1, height: (view.getUint32(26, true) >>> 8) + 1 };
  return undefined;
}

/** The size of a PNG, JPEG, GIF or WebP from its header, undefined when it cannot be read there. */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes.length >= 24) return { width: view.getUint32(16), height: view.getUint32(20) };
  if (ascii(bytes, 0, 'GIF8') && bytes.length >= 10) return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
  if (ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WEBP')) return webpDimensions(bytes, view);
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  // JPEG: walk the segments to the first start-of-frame marker.
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] ?? 0;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    at += 2 + view.getUint16(at + 2);
  }
  return undefined;
}

/** A PNG, JPEG, WebP or GIF as a document: its text by OCR, refused past {@link MAX_OCR_PIXELS}. */
export async function parseImage(bytes: Uint8Array, limits: { ocr?: boolean | undefined }, format: 'PNG' | 'JPEG' | 'WebP' | 'GIF') {
  if (!limits.ocr) {
    throw new ParseError(
      `This is a ${format} image: Axon reads the text in images with OCR, which is turned off on this server (the rag.ocr setting).`,
      'ocr_off',
    );
  }
  const size = imageDimensions(bytes);
  if (!size) throw new ParseError(`This ${format} image cannot be read (its header is damaged).`, 'corrupt');
  if (size.width * size.height > MAX_OCR_PIXELS) {
    throw new ParseError(
      `This image is ${size.width}×${size.height} pixels; OCR reads images of up to ${MAX_OCR_PIXELS / 1_000_000} million pixels.`,
      'limit',
    );
  }
  const paragraphs = await recognizeText(bytes);
  if (paragraphs.length === 0) throw new ParseError('OCR found no text in this image.', 'empty');
  return { blocks: withSections(paragraphs.map((text) => ({ kind: 'paragraph' as const, text }))) };
}
