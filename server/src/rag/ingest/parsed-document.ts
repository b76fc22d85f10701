/** One structural piece of a document, in reading order. */
export interface DocumentBlock {
  kind: 'heading' | 'paragraph' | 'list-item' | 'table-row' | 'code';
  text: string;
  /** 1-based page, for paginated formats (a PDF's page, a presentation's slide). */
  page?: number;
  /** The headings above this block, outermost first, joined with " › ". */
  section?: string;
  /** For headings: 1–6. */
  level?: number;
}

export interface ParsedDocument {
  blocks: DocumentBlock[];
  /** Pages, for paginated formats. */
  pages?: number;
  /** Title found in the document (HTML <title>, first heading), if any. */
  title?: string;
  /** The date its file's metadata gives (a PDF's `D:…` creation date, an HTML page's published date), as written there. */
  date?: string;
}

/** Document types Axon can parse, by MIME type. */
export const SUPPORTED_TYPES = {
  'application/pdf': 'PDF',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word (DOCX)',
  'text/html': 'HTML',
  'text/markdown': 'Markdown',
  'text/plain': 'plain text',
  'text/csv': 'CSV',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'Excel (XLSX)',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'PowerPoint (PPTX)',
  'image/png': 'PNG (read by OCR)',
  'image/jpeg': 'JPEG (read by OCR)',
  'image/webp': 'WebP (read by OCR)',
  'image/gif': 'GIF (read by OCR)',
} as const;

export type SupportedType = keyof typeof SUPPORTED_TYPES;

/** A parse failure that names the file's problem in words a person can act on. */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly reason: 'unsupported_type' | 'too_large' | 'empty' | 'corrupt' | 'no_text_layer' | 'timeout' | 'limit' | 'ocr_off',
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

/** Adds the heading path to each block and drops empty ones. */
export function withSections(blocks: DocumentBlock[]): DocumentBlock[] {
  const path: Array<{ level: number; text: string }> = [];
  const out: DocumentBlock[] = [];
  for (const block of blocks) {
    const text = block.text.replace(/[ \t\u00a0]+/g, ' ').trim();
    if (!text) continue;
    if (block.kind === 'heading') {
      const level = block.level ?? 1;
      while (path.length > 0 && (path.at(-1)?.level ?? 0) >= level) path.pop();
      path.push({ level, text });
    }
    const section = path.map((p) => p.text).join(' › ');
    out.push({ ...block, text, ...(section ? { section } : {}) });
  }
  return out;
}

/** The text a document's blocks make, blocks separated by blank lines; chunk offsets refer to it. */
export function documentText(parsed: ParsedDocument): string {
  return parsed.blocks.map((b) => b.text).join('\n\n');
}
