import { AlignmentType, Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/** A real PDF with a text layer: one paragraph set per page, as `pages` gives them. */
export async function buildPdf(pages: string[][]): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  const font = await pdf.embedFont(StandardFonts.Helvetica);
  for (const paragraphs of pages) {
    const page = pdf.addPage([612, 792]);
    let y = 740;
    for (const paragraph of paragraphs) {
      // Wrap at about 90 characters a line, as a word processor would.
      const lines = paragraph.match(/.{1,90}(\s|$)/g) ?? [paragraph];
      for (const line of lines) {
        page.drawText(line.trim(), { x: 50, y, size: 11, font });
        y -= 14;
      }
      y -= 14;
    }
  }
  return pdf.save();
}

/** A PDF with pages but no text (as a scan without OCR looks). */
export async function buildScannedPdf(pageCount: number): Promise<Uint8Array> {
  const pdf = await PDFDocument.create();
  for (let i = 0; i < pageCount; i++) {
    const page = pdf.addPage([612, 792]);
    page.drawRectangle({ x: 50, y: 50, width: 500, height: 600, borderWidth: 2 });
  }
  return pdf.save();
}

/** A real DOCX with headings, paragraphs and a table. */
export async function buildDocx(): Promise<Uint8Array> {
  const doc = new Document({
    sections: [
      {
        children: [
          new Paragraph({ text: 'Monetary Policy Report', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun('The Committee decided to maintain the target range for the federal funds rate.')] }),
          new Paragraph({ text: 'Inflation', heading: HeadingLevel.HEADING_2 }),
          new Paragraph({ text: 'Inflation has eased over the past year but remains elevated.', alignment: AlignmentType.LEFT }),
          new Table({
            rows: [
              new TableRow({ children: ['Tenor', 'Yield'].map((t) => new TableCell({ children: [new Paragraph(t)] })) }),
              new TableRow({ children: ['10 Yr', '4.21'].map((t) => new TableCell({ children: [new Paragraph(t)] })) }),
            ],
          }),
        ],
      },
    ],
  });
  return new Uint8Array(await Packer.toBuffer(doc));
}

/** An HTML page whose article sits between navigation, header, sidebar and footer boilerplate. */
export const SAMPLE_HTML = `<!doctype html><html><head><title>Yield curve note</title><script>var tracking = 1;</script></head>
<body>
  <header><nav><a href="/">Home</a> <a href="/markets">Markets</a> <a href="/login">Sign in</a></nav></header>
  <aside class="sidebar">Popular: celebrity gossip, weather</aside>
  <main>
    <h1>The yield curve in July</h1>
    <p>The spread between the 10-year and 2-year Treasury yields stayed negative through July.</p>
    <h2>Why it matters</h2>
    <ul><li>An inverted curve has preceded past recessions.</li><li>Bank margins narrow when short rates exceed long rates.</li></ul>
    <table><tr><th>Tenor</th><th>Yield</th></tr><tr><td>2 Yr</td><td>4.85</td></tr></table>
  </main>
  <footer>Copyright 2025 Example Media. All rights reserved. Privacy policy.</footer>
</body></html>`;

/** Raw-deflated zeros, a megabyte at a time (so that large bombs need no buffer of their size). */
async function deflatedZeros(bytes: number): Promise<Buffer> {
  const { createDeflateRaw } = await import('node:zlib');
  const deflate = createDeflateRaw({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on('data', (part: Buffer) => parts.push(part));
  const done = new Promise((resolve, reject) => deflate.on('end', resolve).on('error', reject));
  const chunk = Buffer.alloc(1_048_576);
  for (let left = bytes; left > 0; left -= chunk.length) {
    if (!deflate.write(left >= chunk.length ? chunk : chunk.subarray(0, left))) await new Promise((r) => deflate.once('drain', r));
  }
  deflate.end();
  await done;
  return Buffer.concat(parts);
}

/**
 * A DOCX-named zip whose `word/document.xml` unpacks to `bytes` of zeros (a zip bomb), its headers
 * declaring `declaredBytes` (by default the truth; a lying archive declares a small size).
 */
export async function buildZipBomb(bytes: number, options: { declaredBytes?: number } = {}): Promise<Uint8Array> {
  const data = await deflatedZeros(bytes);
  const declared = options.declaredBytes ?? bytes;
  const name = Buffer.from('word/document.xml');
  const crc = 0; // yauzl does not check CRCs
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(declared, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(declared, 24);
  central.writeUInt16LE(name.length, 28);
  central.writeUInt32LE(0, 42);
  const centralOffset = local.length + name.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return new Uint8Array(Buffer.concat([local, name, data, central, name, end]));
}
