import { parseDocx, parsePdf } from './parse-binary-formats';
import { parsePptx, parseXlsx } from './parse-office-formats';
import { parseCsvText, parseHtml, parseMarkdown, parsePlainText } from './parse-text-formats';
import { type ParsedDocument, ParseError, type SupportedType } from './parsed-document';
import { parseImage } from './recognize-text';

export interface ParseLimits {
  maxPages: number;
  maxDecompressedBytes: number;
  /** Most characters of text kept from one document. */
  maxChars: number;
  /** Most rows read from a CSV or a spreadsheet. */
  maxCsvRows: number;
  /** Whether text in images (PNG, JPEG, WebP, GIF, scanned PDF pages) is read by OCR; off when not given. */
  ocr?: boolean | undefined;
}

/** Parses a document of a known type into structured blocks, within the limits. */
export async function parseDocument(bytes: Uint8Array, type: SupportedType, limits: ParseLimits): Promise<ParsedDocument> {
  const text = () => {
    const decoded = new TextDecoder('utf-8').decode(bytes).replace(/^\uFEFF/, '');
    if (decoded.length > limits.maxChars * 2) {
      throw new ParseError(
        `This file holds ${decoded.length.toLocaleString('en')} characters; the limit is ${limits.maxChars.toLocaleString('en')}.`,
        'limit',
      );
    }
    return decoded;
  };
  let parsed: ParsedDocument;
  switch (type) {
    case 'application/pdf':
      parsed = await parsePdf(bytes, limits);
      break;
    case 'application/vnd.openxmlformats-officedocument.wordprocessingml.document':
      parsed = await parseDocx(bytes, limits);
      break;
    case 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet':
      parsed = await parseXlsx(bytes, { maxDecompressedBytes: limits.maxDecompressedBytes, maxRows: limits.maxCsvRows });
      break;
    case 'application/vnd.openxmlformats-officedocument.presentationml.presentation':
      parsed = await parsePptx(bytes, limits);
      break;
    case 'image/png':
      parsed = await parseImage(bytes, limits, 'PNG');
      break;
    case 'image/jpeg':
      parsed = await parseImage(bytes, limits, 'JPEG');
      break;
    case 'image/webp':
      parsed = await parseImage(bytes, limits, 'WebP');
      break;
    case 'image/gif':
      parsed = await parseImage(bytes, limits, 'GIF');
      break;
    case 'text/html':
      parsed = parseHtml(text());
      break;
    case 'text/markdown':
      parsed = parseMarkdown(text());
      break;
    case 'text/csv':
      parsed = parseCsvText(text(), limits.maxCsvRows);
      break;
    default:
      parsed = parsePlainText(text());
  }
  const chars = parsed.blocks.reduce((n, b) => n + b.text.length, 0);
  if (chars === 0) throw new ParseError('No text was found in this file.', 'empty');
  if (chars > limits.maxChars) {
    throw new ParseError(
      `This document holds ${chars.toLocaleString('en')} characters of text; the limit is ${limits.maxChars.toLocaleString('en')}.`,
      'limit',
    );
  }
  return parsed;
}
