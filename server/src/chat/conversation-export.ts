import type { Citation, Conversation, Message } from '@axon/contracts';

/** Longest passage quoted in a citation's footnote, in characters. */
const MAX_QUOTE_CHARS = 240;

/** A citation as one line: the document, where in it, and the start of the passage. */
function describeCitation(citation: Citation): string {
  const where = [citation.documentName, citation.page !== null ? `page ${citation.page}` : null, citation.section]
    .filter(Boolean)
    .join(', ');
  const passage = citation.text.replace(/\s+/g, ' ').trim();
  const quote = passage.length > MAX_QUOTE_CHARS ? `${passage.slice(0, MAX_QUOTE_CHARS).trimEnd()}…` : passage;
  return quote ? `${where} — “${quote}”` : where;
}

/**
 * The text with its citation markers (`[1]`, not a link's `[1](…)`) turned into footnote
 * references, outside fenced code. Markers with no citation are left as they are.
 */
function withFootnoteReferences(text: string, labelOf: (n: number) => string | undefined): string {
  return text
    .split(/(^```[\s\S]*?^```[^\n]*$)/m)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(/\[(\d{1,3})\](?!\()/g, (marker, n: string) => {
            const label = labelOf(Number(n));
            return label ? `[^${label}]` : marker;
          }),
    )
    .join('');
}

/**
 * A conversation as a Markdown document: its title, each turn under a role heading, and each
 * answer's citations as footnotes (numbered through the whole document, since every answer numbers
 * its own from 1).
 */
export function conversationToMarkdown(conversation: Pick<Conversation, 'title'>, messages: Message[], exportedAt: Date): string {
  const lines: string[] = [
    `# ${conversation.title.replace(/\s+/g, ' ').trim()}`,
    '',
    `*Exported from Axon on ${exportedAt.toISOString().slice(0, 10)}.*`,
  ];
  let footnotes = 0;
  for (const message of messages) {
    const heading = message.role === 'user' ? 'You' : message.model ? `Assistant (${message.model})` : 'Assistant';
    lines.push('', `## ${heading}`, '');
    if (message.attachments.length > 0) lines.push(`*Attached: ${message.attachments.map((a) => a.name).join(', ')}*`, '');
    const labels = new Map<number, string>();
    const cited: Array<{ label: string; citation: Citation }> = [];
    for (const citation of message.citations) {
      if (labels.has(citation.n)) continue;
      const label = String(++footnotes);
      labels.set(citation.n, label);
      cited.push({ label, citation });
    }
    const text = withFootnoteReferences(message.content, (n) => labels.get(n)).trim();
    lines.push(text || '*(no text)*');
    if (message.status === 'stopped') lines.push('', '*The answer was stopped here.*');
    if (message.status === 'error') lines.push('', `*The answer ended with an error${message.error ? `: ${message.error}` : ''}.*`);
    if (cited.length > 0) lines.push('', ...cited.map(({ label, citation }) => `[^${label}]: ${describeCitation(citation)}`));
  }
  return `${lines.join('\n')}\n`;
}

/** A download's file name from a conversation's title: `treasury-yields-2030-01-01.md`. */
export function exportFileName(title: string, exportedAt: Date, extension: 'md' | 'json'): string {
  const slug =
    title
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60)
      .replace(/-+$/, '') || 'conversation';
  return `${slug}-${exportedAt.toISOString().slice(0, 10)}.${extension}`;
}
