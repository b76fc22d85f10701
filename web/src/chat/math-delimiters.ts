/**
 * Readies model output for `remark-math`, outside code (fenced blocks and inline code spans):
 *
 * - `\(…\)` becomes `$…$` and `\[…\]` becomes `$$…$$`, the LaTeX delimiters models often write;
 * - a `$$…$$` or `\[…\]` standing alone on its line(s) becomes a display block (`$$`, new line,
 *   the formula, new line, `$$`), since `remark-math` only centres the fenced form;
 * - a `$` that does not open or close inline math by Pandoc's rule (the opening `$` has a non-space
 *   on its right, the closing one a non-space on its left and no digit after it) is escaped, so
 *   prices such as "$5 and $10" stay text. An unclosed `$$` (an answer still streaming) too.
 */
export function convertMathDelimiters(markdown: string): string {
  return splitOffCode(markdown)
    .map((part) => (part.code ? part.text : convertProse(part.text)))
    .join('');
}

interface Part {
  code: boolean;
  text: string;
}

const FENCE = /^[ \t]*(`{3,}|~{3,})/;

/** Cuts markdown into prose and code (fenced blocks, inline code spans), in order; joined again they are the input. */
export function splitOffCode(markdown: string): Part[] {
  const parts: Part[] = [];
  const lines = markdown.split(/(?<=\n)/);
  let prose = '';
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    const fence = FENCE.exec(line)?.[1];
    if (!fence || (fence.startsWith('`') && line.slice(line.indexOf(fence) + fence.length).includes('`'))) {
      prose += line;
      i++;
      continue;
    }
    parts.push(...splitOffCodeSpans(prose));
    prose = '';
    const closing = new RegExp(`^[ \\t]*${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*\\r?\\n?$`);
    let end = i + 1;
    while (end < lines.length && !closing.test(lines[end] as string)) end++;
    parts.push({ code: true, text: lines.slice(i, end + 1).join('') });
    i = end + 1;
  }
  parts.push(...splitOffCodeSpans(prose));
  return parts.filter((p) => p.text !== '');
}

/** Inline code spans: a run of backticks up to the next run of the same length, within a paragraph. */
function splitOffCodeSpans(text: string): Part[] {
  const parts: Part[] = [];
  const runs = /`+/g;
  let from = 0;
  for (let run = runs.exec(text); run; run = runs.exec(text)) {
    if (isEscaped(text, run.index)) continue;
    const ticks = run[0].length;
    const after = run.index + ticks;
    const close = new RegExp(`(?<!\`)\`{${ticks}}(?!\`)`, 'g');
    close.lastIndex = after;
    const end = close.exec(text);
    if (!end || /\n[ \t]*\n/.test(text.slice(after, end.index))) continue;
    parts.push({ code: false, text: text.slice(from, run.index) });
    parts.push({ code: true, text: text.slice(run.index, end.index + ticks) });
    from = end.index + ticks;
    runs.lastIndex = from;
  }
  parts.push({ code: false, text: text.slice(from) });
  return parts;
}

/** Whether the character at `at` follows an odd number of backslashes. */
function isEscaped(text: string, at: number): boolean {
  let slashes = 0;
  for (let i = at - 1; i >= 0 && text[i] === '\\'; i--) slashes++;
  return slashes % 2 === 1;
}

const BLANK_LINE = /\n[ \t]*\n/;

function convertProse(text: string): string {
  let out = '';
  let i = 0;
  /** Display math: a block when it has its line(s) to itself, else inline on one line. */
  const display = (formula: string, end: number) => {
    const lineStart = out.slice(out.lastIndexOf('\n') + 1);
    const restOfLine = text.slice(end).split('\n', 1)[0] as string;
    if (/^[ \t]*$/.test(lineStart) && /^[ \t]*\r?$/.test(restOfLine)) return `$$\n${formula.trim()}\n${lineStart}$$`;
    return `$$${formula.trim().replace(/\s*\n\s*/g, ' ')}$$`;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      if (next === '(' || next === '[') {
        const end = findUnescaped(text, next === '(' ? '\\)' : '\\]', i + 2);
        const formula = end < 0 ? '' : text.slice(i + 2, end);
        if (formula.trim() !== '' && !BLANK_LINE.test(formula)) {
          out += next === '(' ? `$${formula.trim()}$` : display(formula, end + 2);
          i = end + 2;
          continue;
        }
      }
      out += text.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (c === '$' && text[i + 1] === '$') {
      const end = findUnescaped(text, '$$', i + 2);
      const formula = end < 0 ? '' : text.slice(i + 2, end);
      if (formula.trim() !== '' && !BLANK_LINE.test(formula)) {
        out += display(formula, end + 2);
        i = end + 2;
      } else {
        out += '\\$\\$';
        i += 2;
      }
      continue;
    }
    if (c === '$') {
      const end = closingDollar(text, i);
      if (end < 0) {
        out += '\\$';
        i++;
      } else {
        out += text.slice(i, end + 1);
        i = end + 1;
      }
      continue;
    }
    out += c;
    i++;
  }
  return out;
}

/** Where `token` next occurs from `from` without a backslash before it, or -1. */
function findUnescaped(text: string, token: string, from: number): number {
  for (let at = text.indexOf(token, from); at >= 0; at = text.indexOf(token, at + 1)) {
    if (!isEscaped(text, at)) return at;
  }
  return -1;
}

/** The `$` closing inline math opened at `open` by Pandoc's rule, or -1 when `open` opens none. */
function closingDollar(text: string, open: number): number {
  const first = text[open + 1];
  if (first === undefined || /\s/.test(first)) return -1;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '\n' && /^[ \t]*\n/.test(text.slice(i + 1))) return -1;
    if (c !== '$') continue;
    const before = text[i - 1] as string;
    const after = text[i + 1];
    return !/\s/.test(before) && after !== '$' && (after === undefined || !/\d/.test(after)) ? i : -1;
  }
  return -1;
}
