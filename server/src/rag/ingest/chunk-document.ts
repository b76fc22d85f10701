import { countTokens } from 'gpt-tokenizer';
import { segmentSentences } from '../../providers/extractive-ranker';
import { type DocumentBlock, documentText, type ParsedDocument } from './parsed-document';

export interface Chunk {
  ordinal: number;
  text: string;
  page?: number;
  section?: string;
  /** Character offsets of the chunk in the document's text (`documentText`). */
  startOffset: number;
  endOffset: number;
  tokenCount: number;
}

export interface ChunkOptions {
  /** Largest chunk, in tokens. */
  maxTokens: number;
  /** Tokens of the previous chunk repeated at the start of the next, within a section and page. */
  overlapTokens: number;
}

export { documentText };

interface Piece {
  text: string;
  start: number;
  tokens: number;
  block: DocumentBlock;
}

/** Splits one over-long block into sentence (or, failing that, word) pieces that fit. */
function splitBlock(block: DocumentBlock, start: number, maxTokens: number): Piece[] {
  const tokens = countTokens(block.text);
  if (tokens <= maxTokens) return [{ text: block.text, start, tokens, block }];
  // Unicode sentence boundaries (not every full stop: "0.5 percent", "Esther L. George").
  const sentences = segmentSentences(block.text).map((s) => s.segment);
  const pieces: Piece[] = [];
  let offset = start;
  for (const sentence of sentences) {
    const sentenceTokens = countTokens(sentence);
    if (sentenceTokens <= maxTokens) {
      pieces.push({
        text: sentence.trim(),
        start: offset + (sentence.length - sentence.trimStart().length),
        tokens: sentenceTokens,
        block,
      });
    } else {
      // A "sentence" longer than a chunk (a table dump, a run-on line): cut it by words.
      const words = sentence.split(/(\s+)/);
      let current = '';
      let currentStart = offset;
      let cursor = offset;
      for (const word of words) {
        if (current && countTokens(current + word) > maxTokens) {
          pieces.push({
            text: current.trim(),
            start: currentStart + (current.length - current.trimStart().length),
            tokens: countTokens(current),
            block,
          });
          current = '';
          currentStart = cursor;
        }
        current += word;
        cursor += word.length;
      }
      if (current.trim())
        pieces.push({
          text: current.trim(),
          start: currentStart + (current.length - current.trimStart().length),
          tokens: countTokens(current),
          block,
        });
    }
    offset += sentence.length;
  }
  return pieces.filter((p) => p.text);
}

/**
 * Cuts a document into chunks of at most `maxTokens`, following its structure: a chunk never spans
 * two pages or two top-level sections, blocks (paragraphs, list items, table rows) are kept whole
 * when they fit, and the tail of one chunk is repeated at the head of the next for context.
 */
export function chunkDocument(parsed: ParsedDocument, options: ChunkOptions): Chunk[] {
  const pieces: Piece[] = [];
  let offset = 0;
  for (const block of parsed.blocks) {
    pieces.push(...splitBlock(block, offset, options.maxTokens));
    offset += block.text.length + 2;
  }
  const chunks: Chunk[] = [];
  let current: Piece[] = [];
  let tokens = 0;
  const topSection = (p: Piece) => p.block.section?.split(' › ')[0];
  const emit = () => {
    if (current.length === 0) return;
    const first = current[0] as Piece;
    const last = current.at(-1) as Piece;
    const text = current.map((p) => p.text).join('\n\n');
    chunks.push({
      ordinal: chunks.length,
      text,
      ...(first.block.page !== undefined ? { page: first.block.page } : {}),
      ...(last.block.section ? { section: last.block.section } : {}),
      startOffset: first.start,
      endOffset: last.start + last.text.length,
      tokenCount: tokens,
    });
  };
  for (const piece of pieces) {
    const previous = current.at(-1);
    const boundary =
      previous !== undefined &&
      (piece.block.page !== previous.block.page ||
        (piece.block.kind === 'heading' && (piece.block.level ?? 1) <= 2) ||
        topSection(piece) !== topSection(previous));
    if (current.length > 0 && (boundary || tokens + piece.tokens > options.maxTokens)) {
      emit();
      // Overlap: carry the last pieces of the same page and section, up to overlapTokens.
      const carried: Piece[] = [];
      let carriedTokens = 0;
      if (!boundary) {
        for (let i = current.length - 1; i >= 0; i--) {
          const p = current[i] as Piece;
          if (carriedTokens + p.tokens > options.overlapTokens || carriedTokens + p.tokens + piece.tokens > options.maxTokens) break;
          carried.unshift(p);
          carriedTokens += p.tokens;
        }
      }
      current = carried;
      tokens = carriedTokens;
    }
    current.push(piece);
    tokens += piece.tokens;
  }
  emit();
  return chunks;
}
