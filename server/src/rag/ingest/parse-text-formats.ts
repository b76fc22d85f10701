import * as cheerio from 'cheerio';
import { parse as parseCsv } from 'csv-parse/sync';
import { type DocumentBlock, type ParsedDocument, ParseError, withSections } from './parsed-document';

/** Plain text: paragraphs are separated by blank lines. */
export function parsePlainText(text: string): ParsedDocument {
  return { blocks: withSections(text.split(/\n\s*\n/).map((p) => ({ kind: 'paragraph', text: p.replace(/\s*\n\s*/g, ' ') }))) };
}

/** Markdown: headings, paragraphs, list items, table rows and code blocks. */
export function parseMarkdown(text: string): ParsedDocument {
  const blocks: DocumentBlock[] = [];
  let paragraph: string[] = [];
  let code: string[] | undefined;
  const flush = () => {
    if (paragraph.length) blocks.push({ kind: 'paragraph', text: paragraph.join(' ') });
    paragraph = [];
  };
  for (const line of text.split(/\r?\n/)) {
    if (code) {
      if (/^\s*(```|~~~)/.test(line)) {
        blocks.push({ kind: 'code', text: code.join('\n') });
        code = undefined;
      } else code.push(line);
      continue;
    }
    if (/^\s*(```|~~~)/.test(line)) {
      flush();
      code = [];
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      flush();
      blocks.push({ kind: 'heading', level: heading[1]?.length ?? 1, text: heading[2] ?? '' });
      continue;
    }
    if (/^\s*\|.*\|\s*$/.test(line)) {
      flush();
      if (/^\s*\|[\s:|-]+\|\s*$/.test(line)) continue; // the separator row
      const cells = line
        .trim()
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim());
      blocks.push({ kind: 'table-row', text: cells.join(' | ') });
      continue;
    }
    const item = /^\s*(?:[-*+]|\d+[.)])\s+(.*)$/.exec(line);
    if (item) {
      flush();
      blocks.push({ kind: 'list-item', text: item[1] ?? '' });
      continue;
    }
    if (!line.trim()) flush();
    else paragraph.push(line.trim());
  }
  flush();
  if (code) blocks.push({ kind: 'code', text: code.join('\n') });
  const parsed = withSections(blocks);
  const title = parsed.find((b) => b.kind === 'heading')?.text;
  return { blocks: parsed, ...(title ? { title } : {}) };
}

const BOILERPLATE =
  'script, style, noscript, template, nav, header, footer, aside, form, iframe, svg, [role=navigation], [role=banner], [role=contentinfo], [aria-hidden=true], .nav, .navbar, .menu, .sidebar, .footer, .header, .cookie, .breadcrumb';

/** HTML: the main content (boilerplate such as navigation, headers and footers removed), by structure. */
export function parseHtml(html: string): ParsedDocument {
  const $ = cheerio.load(html);
  const title = $('title').first().text().trim() || undefined;
  const date =
    $(
      'meta[property="article:published_time"], meta[name="date"], meta[name="dc.date"], meta[name="DC.date"], meta[itemprop="datePublished"]',
    )
      .first()
      .attr('content') ||
    $('time[datetime]').first().attr('datetime') ||
    undefined;
  $(BOILERPLATE).remove();
  const main = $('main, article, [role=main]').first();
  const root = main.length ? main : $('body').length ? $('body') : $('html');
  const blocks: DocumentBlock[] = [];
  root.find('h1, h2, h3, h4, h5, h6, p, li, tr, pre, blockquote, dt, dd, figcaption').each((_i, element) => {
    const el = $(element);
    const tag = element.tagName.toLowerCase();
    // Nested matches (a <p> inside an <li>) are read once, at the outer element.
    if (el.parents('li, pre, blockquote, tr').length > 0 && tag !== 'tr') return;
    if (tag === 'tr') {
      const cells = el
        .find('th, td')
        .map((_j, c) => $(c).text().trim())
        .get();
      if (cells.some(Boolean)) blocks.push({ kind: 'table-row', text: cells.join(' | ') });
    } else if (/^h[1-6]$/.test(tag)) blocks.push({ kind: 'heading', level: Number(tag[1]), text: el.text() });
    else if (tag === 'li') blocks.push({ kind: 'list-item', text: el.text() });
    else if (tag === 'pre') blocks.push({ kind: 'code', text: el.text() });
    else blocks.push({ kind: 'paragraph', text: el.text() });
  });
  if (blocks.length === 0) {
    // Pages that put text straight into <div>s: fall back to their text, split on line breaks.
    const text = root.text();
    return { ...parsePlainText(text.replace(/\n\s*/g, '\n\n')), ...(title ? { title } : {}), ...(date ? { date } : {}) };
  }
  return { blocks: withSections(blocks), ...(title ? { title } : {}), ...(date ? { date } : {}) };
}

/** CSV: one block a row, each cell labelled with its column ("Tenor: 10 Yr; Yield: 4.2"). */
export function parseCsvText(text: string, maxRows: number): ParsedDocument {
  let records: string[][];
  try {
    records = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, bom: true, to: maxRows + 1 }) as string[][];
  } catch (error) {
    throw new ParseError(`This CSV file cannot be read: ${(error as Error).message}`, 'corrupt');
  }
  const [header, ...rows] = records;
  if (!header) return { blocks: [] };
  const blocks: DocumentBlock[] = rows.map((row) => ({
    kind: 'table-row',
    text: row.map((cell, i) => `${header[i] ?? `column ${i + 1}`}: ${cell}`).join('; '),
  }));
  return { blocks: withSections(blocks) };
}
