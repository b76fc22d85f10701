/** About `width` characters of `text` around the first place it contains `query` (any case); undefined when it does not. */
export function snippetAround(text: string, query: string, width = 120): string | undefined {
  const at = text.toLowerCase().indexOf(query.toLowerCase());
  if (at < 0) return undefined;
  const flat = (s: string) => s.replace(/\s+/g, ' ');
  const before = Math.max(0, Math.floor((width - query.length) / 2));
  let start = Math.max(0, at - before);
  let end = Math.min(text.length, start + Math.max(width, query.length));
  start = Math.max(0, Math.min(start, end - width));
  // Whole words at both ends.
  if (start > 0) start = text.slice(start, at).search(/\s/) >= 0 ? start + text.slice(start, at).search(/\s/) + 1 : start;
  if (end < text.length) {
    const cut = text.slice(at + query.length, end).lastIndexOf(' ');
    if (cut >= 0) end = at + query.length + cut;
  }
  return `${start > 0 ? '…' : ''}${flat(text.slice(start, end)).trim()}${end < text.length ? '…' : ''}`;
}

/** A LIKE pattern (escape character `\`) matching any text that contains `text`. */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
