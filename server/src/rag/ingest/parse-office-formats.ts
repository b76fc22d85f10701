import { posix } from 'node:path';
import { Parser } from 'htmlparser2';
import yauzl from 'yauzl';
import { checkZipSize } from './parse-binary-formats';
import { type DocumentBlock, type ParsedDocument, ParseError, withSections } from './parsed-document';

export interface OfficeLimits {
  /** Largest total size of the archive's unpacked parts, in bytes (zip bomb guard). */
  maxDecompressedBytes: number;
  /** Most rows read from a workbook, all sheets together. */
  maxRows: number;
}

/**
 * The archive's entries that `wanted` names, as text. Run after {@link checkZipSize}, which bounds
 * what they unpack to; `maxBytes` is counted again here all the same.
 */
function readZipEntries(
  bytes: Uint8Array,
  wanted: (name: string) => boolean,
  maxBytes: number,
  what: string,
): Promise<Map<string, string>> {
  const damaged = () => new ParseError(`This file is not a valid ${what} (the archive is damaged).`, 'corrupt');
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(Buffer.from(bytes), { lazyEntries: true, validateEntrySizes: true }, (error, zip) => {
      if (error || !zip) return reject(damaged());
      const parts = new Map<string, string>();
      let total = 0;
      let settled = false;
      const fail = (reason: ParseError) => {
        if (settled) return;
        settled = true;
        zip.close();
        reject(reason);
      };
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!wanted(entry.fileName)) return zip.readEntry();
        zip.openReadStream(entry, (openError, stream) => {
          if (openError || !stream) return fail(damaged());
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > maxBytes) {
              stream.destroy();
              fail(new ParseError(`This ${what} unpacks to more than ${Math.round(maxBytes / 1_048_576)} MB, the limit.`, 'limit'));
            } else chunks.push(chunk);
          });
          stream.on('error', () => fail(damaged()));
          stream.on('end', () => {
            if (settled) return;
            parts.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => {
        if (settled) return;
        settled = true;
        resolve(parts);
      });
      zip.on('error', () => fail(damaged()));
      zip.readEntry();
    });
  });
}

type Attributes = Record<string, string>;

/** Walks an XML document as a stream of elements (names without their namespace prefix) and text. */
function walkXml(
  xml: string,
  handlers: { open?(name: string, attributes: Attributes): void; close?(name: string): void; text?(text: string): void },
): void {
  const local = (name: string) => name.slice(name.indexOf(':') + 1);
  const parser = new Parser(
    {
      onopentag: (name, attributes) => handlers.open?.(local(name), attributes),
      onclosetag: (name) => handlers.close?.(local(name)),
      ontext: (text) => handlers.text?.(text),
    },
    { xmlMode: true, decodeEntities: true },
  );
  parser.write(xml);
  parser.end();
}

/** A package part's relationships: id → part name, resolved against the part that has them. */
function relationships(xml: string | undefined, fromPart: string): Map<string, { target: string; type: string }> {
  const map = new Map<string, { target: string; type: string }>();
  if (!xml) return map;
  const base = posix.dirname(fromPart);
  walkXml(xml, {
    open(name, a) {
      if (name !== 'Relationship' || !a.Id || !a.Target || a.TargetMode === 'External') return;
      const target = a.Target.startsWith('/') ? a.Target.slice(1) : posix.normalize(posix.join(base, a.Target));
      map.set(a.Id, { target, type: a.Type ?? '' });
    },
  });
  return map;
}

/** Where a part's relationships are kept: `xl/workbook.xml` → `xl/_rels/workbook.xml.rels`. */
const relsOf = (part: string) => posix.join(posix.dirname(part), '_rels', `${posix.basename(part)}.rels`);

// ---------------------------------------------------------------------------------------------------
// Spreadsheets

/** Built-in number formats that show dates or times (ECMA-376 §18.8.30). */
const DATE_FORMAT_IDS = new Set([14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 30, 36, 45, 46, 47, 50, 57]);

/** Whether a custom number format code shows a date or a time (its letters outside quotes, escapes and `[…]`). */
function isDateFormat(code: string): boolean {
  const bare = code.replace(/"[^"]*"|\\.|\[[^\]]*\]/g, '');
  return /[dmyhs]/i.test(bare) && !/^general$/i.test(bare.trim());
}

/** A serial date as a person reads it: `2030-01-02`, `2030-01-02 13:45` or `13:45:10`. */
function serialToText(serial: number, date1904: boolean): string {
  const ms = Math.round((serial + (date1904 ? 1462 : 0) - 25569) * 86_400_000);
  const iso = new Date(ms).toISOString();
  if (serial < 1 && serial >= 0) return iso.slice(11, 19);
  const time = iso.slice(11, 16);
  return Number.isInteger(serial) || time === '00:00' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${time}`;
}

/** `AB12` → 27 (0-based column). */
function columnIndex(reference: string | undefined): number | undefined {
  const letters = /^[A-Z]+/i.exec(reference ?? '')?.[0];
  if (!letters) return undefined;
  let n = 0;
  for (const letter of letters.toUpperCase()) n = n * 26 + (letter.charCodeAt(0) - 64);
  return n - 1;
}
const columnName = (index: number): string => {
  let name = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) name = String.fromCharCode(65 + ((n - 1) % 26)) + name;
  return name;
};

/** The shared strings of a workbook, in order (phonetic runs left out). */
function sharedStrings(xml: string | undefined): string[] {
  const strings: string[] = [];
  if (!xml) return strings;
  let current: string[] | undefined;
  let inText = false;
  let phonetic = 0;
  walkXml(xml, {
    open(name) {
      if (name === 'si') current = [];
      else if (name === 'rPh') phonetic++;
      else if (name === 't') inText = true;
    },
    close(name) {
      if (name === 'si') {
        strings.push((current ?? []).join(''));
        current = undefined;
      } else if (name === 'rPh') phonetic--;
      else if (name === 't') inText = false;
    },
    text(text) {
      if (inText && phonetic === 0) current?.push(text);
    },
  });
  return strings;
}

/** For each cell style (`s`), whether it shows a date. */
function dateStyles(xml: string | undefined): boolean[] {
  if (!xml) return [];
  const custom = new Map<number, string>();
  const styles: boolean[] = [];
  let inCellXfs = false;
  walkXml(xml, {
    open(name, a) {
      if (name === 'numFmt' && a.numFmtId) custom.set(Number(a.numFmtId), a.formatCode ?? '');
      else if (name === 'cellXfs') inCellXfs = true;
      else if (name === 'xf' && inCellXfs) {
        const id = Number(a.numFmtId ?? 0);
        const code = custom.get(id);
        styles.push(code !== undefined ? isDateFormat(code) : DATE_FORMAT_IDS.has(id));
      }
    },
    close(name) {
      if (name === 'cellXfs') inCellXfs = false;
    },
  });
  return styles;
}

interface Sheet {
  name: string;
  part: string;
}

/** The workbook's visible sheets in order, and its date system. */
function workbookSheets(parts: Map<string, string>): { sheets: Sheet[]; date1904: boolean } {
  const workbook = parts.get('xl/workbook.xml');
  if (workbook === undefined) throw new ParseError('This file is not an Excel workbook (it has no xl/workbook.xml).', 'corrupt');
  const rels = relationships(parts.get(relsOf('xl/workbook.xml')), 'xl/workbook.xml');
  const sheets: Sheet[] = [];
  let date1904 = false;
  walkXml(workbook, {
    open(name, a) {
      if (name === 'workbookPr') date1904 = a.date1904 === '1' || a.date1904 === 'true';
      if (name !== 'sheet' || a.state === 'hidden' || a.state === 'veryHidden') return;
      const id = a['r:id'] ?? Object.entries(a).find(([key]) => key.endsWith(':id'))?.[1];
      const part = id ? rels.get(id)?.target : undefined;
      if (part && a.name) sheets.push({ name: a.name, part });
    },
  });
  return { sheets, date1904 };
}

/** A sheet's rows, each as its cells' text by column; empty rows left out. */
function sheetRows(xml: string, strings: string[], dates: boolean[], date1904: boolean, maxRows: number): Array<Map<number, string>> {
  const rows: Array<Map<number, string>> = [];
  let row: Map<number, string> | undefined;
  let cell: { column: number; type: string; style: number } | undefined;
  let nextColumn = 0;
  let value = '';
  let inline = '';
  let capture: 'v' | 't' | undefined;
  walkXml(xml, {
    open(name, a) {
      if (rows.length >= maxRows) return;
      if (name === 'row') {
        row = new Map();
        nextColumn = 0;
      } else if (name === 'c' && row) {
        const column = columnIndex(a.r) ?? nextColumn;
        nextColumn = column + 1;
        cell = { column, type: a.t ?? 'n', style: Number(a.s ?? 0) };
        value = '';
        inline = '';
      } else if (cell && (name === 'v' || name === 't')) capture = name;
    },
    text(text) {
      if (capture === 'v') value += text;
      else if (capture === 't') inline += text;
    },
    close(name) {
      if (name === 'v' || name === 't') capture = undefined;
      else if (name === 'c' && cell && row) {
        const text = cellText(cell, value, inline, strings, dates, date1904).trim();
        if (text) row.set(cell.column, text);
        cell = undefined;
      } else if (name === 'row' && row) {
        if (row.size > 0 && rows.length < maxRows) rows.push(row);
        row = undefined;
      }
    },
  });
  return rows;
}

function cellText(
  cell: { type: string; style: number },
  value: string,
  inline: string,
  strings: string[],
  dates: boolean[],
  date1904: boolean,
): string {
  switch (cell.type) {
    case 's':
      return strings[Number(value)] ?? '';
    case 'inlineStr':
      return inline;
    case 'b':
      return value === '1' ? 'TRUE' : value === '0' ? 'FALSE' : value;
    case 'str':
    case 'e':
    case 'd':
      return value;
    default: {
      const number = Number(value);
      if (value === '' || !Number.isFinite(number)) return value;
      return dates[cell.style] ? serialToText(number, date1904) : String(number);
    }
  }
}

/**
 * XLSX: each visible sheet is a section (its name a heading); its first row labels the columns and
 * every later row is one block, each cell with its label ("Tenor: 10 Yr; Yield: 4.21"), as a CSV's.
 * Dates show as dates; formulas as their last computed value. At most `maxRows` rows in all.
 */
export async function parseXlsx(bytes: Uint8Array, limits: OfficeLimits): Promise<ParsedDocument> {
  await checkZipSize(bytes, limits.maxDecompressedBytes, 'spreadsheet');
  const parts = await readZipEntries(
    bytes,
    (name) => name.startsWith('xl/') && (name.endsWith('.xml') || name.endsWith('.rels')) && !name.startsWith('xl/media/'),
    limits.maxDecompressedBytes,
    'spreadsheet',
  );
  const { sheets, date1904 } = workbookSheets(parts);
  const strings = sharedStrings(parts.get('xl/sharedStrings.xml'));
  const dates = dateStyles(parts.get('xl/styles.xml'));
  const blocks: DocumentBlock[] = [];
  let budget = limits.maxRows;
  for (const sheet of sheets) {
    const xml = parts.get(sheet.part);
    if (xml === undefined || budget <= 0) continue;
    const rows = sheetRows(xml, strings, dates, date1904, budget);
    budget -= rows.length;
    if (rows.length === 0) continue;
    blocks.push({ kind: 'heading', level: 1, text: sheet.name });
    const [header, ...data] = rows as [Map<number, string>, ...Array<Map<number, string>>];
    if (data.length === 0) {
      blocks.push({
        kind: 'table-row',
        text: [...header.entries()]
          .sort(([a], [b]) => a - b)
          .map(([, text]) => text)
          .join(' | '),
      });
      continue;
    }
    for (const row of data) {
      const cells = [...row.entries()].sort(([a], [b]) => a - b);
      blocks.push({
        kind: 'table-row',
        text: cells.map(([column, text]) => `${header.get(column) ?? `column ${columnName(column)}`}: ${text}`).join('; '),
      });
    }
  }
  return { blocks: withSections(blocks) };
}

// ---------------------------------------------------------------------------------------------------
// Presentations

interface SlideText {
  title: string;
  blocks: DocumentBlock[];
}

/**
 * A slide's (or its notes') text: its title placeholder, then each paragraph of its other shapes in
 * reading order, table rows as rows. Placeholders for the slide number, date and footer are left out.
 */
function slideText(xml: string, { notes = false } = {}): SlideText & { hidden: boolean } {
  const blocks: DocumentBlock[] = [];
  const titles: string[] = [];
  let hidden = false;
  // Per shape: its placeholder type; per paragraph: its runs.
  const shapes: Array<{ placeholder: string | undefined }> = [];
  let paragraph: string[] | undefined;
  let inText = false;
  let row: string[] | undefined;
  let cellText: string[] | undefined;
  const skipped = new Set(['sldNum', 'dt', 'ftr', 'hdr', 'sldImg']);
  walkXml(xml, {
    open(name, a) {
      if (name === 'sld' && a.show === '0') hidden = true;
      else if (name === 'sp') shapes.push({ placeholder: undefined });
      else if (name === 'ph') {
        const shape = shapes.at(-1);
        if (shape) shape.placeholder = a.type ?? 'body';
      } else if (name === 'tr') row = [];
      else if (name === 'tc') cellText = [];
      else if (name === 'p') paragraph = [];
      else if (name === 't') inText = true;
      else if (name === 'br') paragraph?.push(' ');
    },
    text(text) {
      if (inText) paragraph?.push(text);
    },
    close(name) {
      if (name === 't') inText = false;
      else if (name === 'p' && paragraph) {
        const text = paragraph.join('').replace(/\s+/g, ' ').trim();
        paragraph = undefined;
        if (!text) return;
        if (cellText) {
          cellText.push(text);
          return;
        }
        const placeholder = shapes.at(-1)?.placeholder;
        if (placeholder && skipped.has(placeholder)) return;
        if (!notes && (placeholder === 'title' || placeholder === 'ctrTitle')) titles.push(text);
        else blocks.push({ kind: 'paragraph', text: notes ? `Notes: ${text}` : text });
      } else if (name === 'tc' && cellText) {
        row?.push(cellText.join(' '));
        cellText = undefined;
      } else if (name === 'tr' && row) {
        if (row.some(Boolean)) blocks.push({ kind: 'table-row', text: row.join(' | ') });
        row = undefined;
      } else if (name === 'sp') shapes.pop();
    },
  });
  return { title: titles.join(' '), blocks, hidden };
}

/**
 * PPTX: each shown slide is a section headed "Slide n: its title", with the slide number as its
 * page (citations say which slide), its text, its tables' rows and its speaker notes.
 */
export async function parsePptx(
  bytes: Uint8Array,
  limits: Pick<OfficeLimits, 'maxDecompressedBytes'> & { maxPages: number },
): Promise<ParsedDocument> {
  await checkZipSize(bytes, limits.maxDecompressedBytes, 'presentation');
  const parts = await readZipEntries(
    bytes,
    (name) => name.startsWith('ppt/') && (name.endsWith('.xml') || name.endsWith('.rels')) && !name.startsWith('ppt/media/'),
    limits.maxDecompressedBytes,
    'presentation',
  );
  const presentation = parts.get('ppt/presentation.xml');
  if (presentation === undefined)
    throw new ParseError('This file is not a PowerPoint presentation (it has no ppt/presentation.xml).', 'corrupt');
  const rels = relationships(parts.get(relsOf('ppt/presentation.xml')), 'ppt/presentation.xml');
  const slideParts: string[] = [];
  walkXml(presentation, {
    open(name, a) {
      if (name !== 'sldId') return;
      const id = a['r:id'] ?? Object.entries(a).find(([key]) => key.endsWith(':id'))?.[1];
      const part = id ? rels.get(id)?.target : undefined;
      if (part) slideParts.push(part);
    },
  });
  if (slideParts.length > limits.maxPages) {
    throw new ParseError(`This presentation has ${slideParts.length} slides; the limit is ${limits.maxPages}.`, 'limit');
  }
  const blocks: DocumentBlock[] = [];
  let title: string | undefined;
  slideParts.forEach((part, i) => {
    const xml = parts.get(part);
    if (xml === undefined) return;
    const slide = slideText(xml);
    if (slide.hidden) return;
    const number = i + 1;
    const notesPart = [...relationships(parts.get(relsOf(part)), part).values()].find((r) => r.type.endsWith('/notesSlide'))?.target;
    const notesXml = notesPart ? parts.get(notesPart) : undefined;
    const notes = notesXml ? slideText(notesXml, { notes: true }).blocks : [];
    if (slide.blocks.length === 0 && notes.length === 0 && !slide.title) return;
    title ??= slide.title || undefined;
    blocks.push({ kind: 'heading', level: 1, text: slide.title ? `Slide ${number}: ${slide.title}` : `Slide ${number}`, page: number });
    for (const block of [...slide.blocks, ...notes]) blocks.push({ ...block, page: number });
  });
  return { blocks: withSections(blocks), pages: slideParts.length, ...(title ? { title } : {}) };
}
