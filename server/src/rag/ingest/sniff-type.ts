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

function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 8192);
  let control = 0;
  for (const byte of sample) {
    if (byte === 0) return false;
    if (byte < 9 || (byte > 13 && byte < 32)) control++;
  }
  if (control > sample.length * 0.02) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.subarray(0, Math.max(0, sample.length - 4)));
    return true;
  } catch {
    return false;
  }
}

/**
 * The real type of an upload, from its bytes; the name only decides between text formats (which
 * have no signature). A file whose bytes are PDF is a PDF whatever it is called, and a `.pdf` that
 * is not one is refused.
 */
export async function sniffType(bytes: Uint8Array, fileName: string): Promise<SupportedType> {
  if (bytes.length === 0) throw new ParseError('The file is empty.', 'empty');
  const detected = await fileTypeFromBuffer(bytes);
  const extension = fileName.toLowerCase().split('.').pop() ?? '';
  if (detected) {
    if (detected.mime === 'application/pdf') return 'application/pdf';
    if (detected.ext === 'docx') return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    if (detected.mime === 'application/zip' && extension === 'docx') {
      return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
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
  const head = new TextDecoder().decode(bytes.subarray(0, 2048)).trimStart().toLowerCase();
  if (
    head.startsWith('<!doctype html') ||
    head.startsWith('<html') ||
    (extension in TEXT_EXTENSIONS && TEXT_EXTENSIONS[extension] === 'text/html')
  )
    return 'text/html';
  if (extension === 'pdf' || extension === 'docx') {
    throw new ParseError(`This file is named .${extension} but its content is text, not ${extension.toUpperCase()}.`, 'unsupported_type');
  }
  return TEXT_EXTENSIONS[extension] ?? 'text/plain';
}
