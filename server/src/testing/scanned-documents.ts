import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { concatTransformationMatrix, drawObject, PDFDocument, PDFName, popGraphicsState, pushGraphicsState, StandardFonts } from 'pdf-lib';
import { extractImages, getDocumentProxy } from 'unpdf';

const FIXTURES = join(import.meta.dirname, '../rag/ingest/fixtures');

/** A picture of two lines of black text on white, as a photo or a scanner would give it: "Invoice 4521 paid" and "Harbour warehouse". */
export const SCANNED_NOTE_PNG = new Uint8Array(readFileSync(join(FIXTURES, 'scanned-note.png')));
export const SCANNED_NOTE_JPEG = new Uint8Array(readFileSync(join(FIXTURES, 'scanned-note.jpg')));
/** The words OCR must find in the scanned note. */
export const SCANNED_NOTE_TEXT = ['Invoice 4521 paid', 'Harbour warehouse'];

export type ScannedPage =
  | { png: Uint8Array }
  | { jpeg: Uint8Array }
  /** The PNG turned black and white, one bit a pixel (as fax and office scanners store pages); as a stencil mask with `mask`. */
  | { bilevel: Uint8Array; mask?: boolean }
  /** A page with a text layer. */
  | { text: string };

/** The pixels of a PNG as RGB, decoded by pdf.js (no image decoder of Axon's own). */
async function rgbOf(png: Uint8Array): Promise<{ width: number; height: number; data: Uint8ClampedArray | Uint8Array }> {
  const doc = await PDFDocument.create();
  const image = await doc.embedPng(png);
  doc.addPage([image.width, image.height]).drawImage(image, { x: 0, y: 0, width: image.width, height: image.height });
  const pdf = await getDocumentProxy(await doc.save());
  const [decoded] = await extractImages(pdf, 1);
  if (decoded?.channels !== 3) throw new Error('the PNG did not decode to RGB');
  return decoded;
}

/** One bit a pixel, rows padded to bytes, 1 = white (PDF's DeviceGray, and an image mask's "not painted"). */
function bilevel({ width, height, data }: { width: number; height: number; data: ArrayLike<number> }): Uint8Array {
  const rowBytes = (width + 7) >> 3;
  const out = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      const grey = ((data[p] ?? 0) + (data[p + 1] ?? 0) + (data[p + 2] ?? 0)) / 3;
      if (grey >= 128) out[y * rowBytes + (x >> 3)] = (out[y * rowBytes + (x >> 3)] ?? 0) | (0x80 >> (x & 7));
    }
  return out;
}

/** A PDF whose pages are pictures with no text layer (a scan), or text where a page says so. */
export async function buildScannedPdf(pages: ScannedPage[]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const page of pages) {
    if ('text' in page) {
      doc.addPage([612, 792]).drawText(page.text, { x: 72, y: 700, size: 12, font });
    } else if ('bilevel' in page) {
      const { width, height, data } = await rgbOf(page.bilevel);
      const stream = doc.context.flateStream(bilevel({ width, height, data }), {
        Type: 'XObject',
        Subtype: 'Image',
        Width: width,
        Height: height,
        ...(page.mask ? { ImageMask: true } : { ColorSpace: 'DeviceGray' }),
        BitsPerComponent: 1,
      });
      const ref = doc.context.register(stream);
      const pdfPage = doc.addPage([width * 0.75, height * 0.75]);
      pdfPage.node.setXObject(PDFName.of('Scan'), ref);
      pdfPage.pushOperators(
        pushGraphicsState(),
        concatTransformationMatrix(width * 0.75, 0, 0, height * 0.75, 0, 0),
        drawObject('Scan'),
        popGraphicsState(),
      );
    } else {
      const image = 'png' in page ? await doc.embedPng(page.png) : await doc.embedJpg(page.jpeg);
      doc
        .addPage([image.width * 0.75, image.height * 0.75])
        .drawImage(image, { x: 0, y: 0, width: image.width * 0.75, height: image.height * 0.75 });
    }
  }
  return doc.save();
}
