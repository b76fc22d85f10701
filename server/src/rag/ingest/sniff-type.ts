import { fileTypeFromBuffer } from 'file-type';
import { ParseError, SUPPORTED_TYPES, type SupportedType } from './parsed-document';

const TEXT_EXTENSIONS: Record<string, SupportedType> = {
  md: 'text/markdown',
  markdown: 'text/markdown',
  txt: 'text/plain',
  text: 'text/plain',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
};

/** Office formats by name, for zips whose content types file-type does not recognise. */
const OFFICE_TYPES: Record<string, SupportedType> = {
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/** Formats with a signature that Axon reads, by the extension file-type gives them. */
const READABLE_TYPES: Record<string, SupportedType> = {
  pdf: 'application/pdf',
  ...OFFICE_TYPES,
  png: 'image/png',
  jpg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
};

/** Names of formats that have a signature: a file so named must carry it. */
const BINARY_EXTENSIONS = new Set(['pdf', 'docx', 'doc', 'xlsx', 'xls', 'pptx', 'ppt', 'zip', 'png', 'jpg', 'jpeg', 'gif', 'webp', 'exe']);

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 8192);
  let control = 0;
  for (const byte of sample) {
    if (byte === 0) return false;
    if (byte < 9 || (byte > 13 && byte < 32)) control++;
  }
  if (control > sample.length * 0.02) return false;
  try {
    // Streaming: a character cut by the end of the sample is not an error (the whole file may be shorter).
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: sample.length < bytes.length });
    return true;
  } catch {
    return false;
  }
}

/**
 * The real type of an upload, from its bytes; the name only decides between text formats (which
 * have no signature). Bytes that contradict the name are refused: a `.pdf` that is not a PDF (an
 * HTML page named `report.pdf`), a PDF named `.docx`, a binary named `.txt`.
 */
export async function sniffType(bytes: Uint8Array, fileName: string): Promise<SupportedType> {
  if (bytes.length === 0) throw new ParseError('The file is empty.', 'empty');
  const detected = await fileTypeFromBuffer(bytes);
  const extension = fileName.toLowerCase().split('.').pop() ?? '';
  if (detected) {
    const named = extension === 'jpeg' ? 'jpg' : extension;
    // A zip that file-type cannot tell apart (no content types it knows) named as an Office format:
    // its parts decide, and the parser refuses one that lacks them.
    const office = OFFICE_TYPES[named];
    if (detected.ext === 'zip' && office) return office;
    const readable = READABLE_TYPES[detected.ext];
    if (readable) {
      if (named !== detected.ext && (named in TEXT_EXTENSIONS || BINARY_EXTENSIONS.has(named))) {
        throw new ParseError(
          `This file is named .${extension} but its content is ${detected.ext.toUpperCase()} (${detected.mime}); rename it to .${detected.ext}.`,
          'unsupported_type',
        );
      }
      return readable;
    }
    throw new ParseError(
      `This file is ${detected.mime} (whatever its name says); Axon reads ${Object.values(SUPPORTED_TYPES).join(', ')}.`,
      'unsupported_type',
    );
  }
  if (!looksLikeText(bytes)) {
    throw new ParseError(
      `This file is binary data of no type Axon reads; Axon reads ${Object.values(SUPPORTED_TYPES).join(', ')}.`,
      'unsupported_type',
    );
  }
  // Text under a binary format's name contradicts it: refused, whatever the text is.
  if (BINARY_EXTENSIONS.has(extension)) {
    throw new ParseError(`This file is named .${extension} but its content is text, not ${extension.toUpperCase()}.`, 'unsupported_type');
  }
  // A saved web page is read as HTML (its markup is not its text) whatever its text name; its
  // original is never served to a browser as HTML.
  const head = new TextDecoder().decode(bytes.subarray(0, 2048)).trimStart().toLowerCase();
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'text/html';
  return TEXT_EXTENSIONS[extension] ?? 'text/plain';
}
