/**
 * The date a document is about, found at indexing time: from its file's metadata (a PDF's creation
 * date, an HTML page's published date), else a date in its name (`20231213.txt`,
 * `report-2023-12-13.pdf`), else the first full date in its text ("December 13, 2023",
 * "13 December 2023", "2023-12-13"; for a range such as "January 26-27, 2021", its last day).
 */

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const MONTH_NAME =
  '(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\\.?';

const pad = (n: number) => String(n).padStart(2, '0');
const monthNumber = (name: string) => MONTHS.findIndex((m) => m.startsWith(name.toLowerCase().replace('.', '').slice(0, 3))) + 1;

/** `YYYY-MM-DD` when y-m-d is a real day between 1900 and 2100. */
export function calendarDate(y: number, m: number, d: number): string | undefined {
  if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1) return undefined;
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCDate() === d ? `${y}-${pad(m)}-${pad(d)}` : undefined;
}

/** A date in a file name: 8 digits `YYYYMMDD` or `YYYY-MM-DD` (with `-`, `_` or `.`), not inside a longer number. */
export function dateFromName(name: string): string | undefined {
  for (const match of name.matchAll(/(?<!\d)((?:19|20)\d\d)([-_.]?)(\d\d)\2(\d\d)(?!\d)/g)) {
    const date = calendarDate(Number(match[1]), Number(match[3]), Number(match[4]));
    if (date) return date;
  }
  return undefined;
}

/** The first full date written in the text (its first 20,000 characters). */
export function firstDateInText(text: string): string | undefined {
  const head = text.slice(0, 20_000);
  const patterns: Array<[RegExp, (m: RegExpExecArray) => string | undefined]> = [
    [
      new RegExp(`\\b${MONTH_NAME}\\s+(\\d{1,2})(?:st|nd|rd|th)?(?:\\s*[-–]\\s*(\\d{1,2}))?,?\\s+((?:19|20)\\d\\d)\\b`, 'gi'),
      (m) => calendarDate(Number(m[4]), monthNumber(m[1] as string), Number(m[3] ?? m[2])),
    ],
    [
      new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?(?:\\s*[-–]\\s*(\\d{1,2}))?\\s+${MONTH_NAME},?\\s+((?:19|20)\\d\\d)\\b`, 'gi'),
      (m) => calendarDate(Number(m[4]), monthNumber(m[3] as string), Number(m[2] ?? m[1])),
    ],
    [/\b((?:19|20)\d\d)-(\d\d)-(\d\d)\b/g, (m) => calendarDate(Number(m[1]), Number(m[2]), Number(m[3]))],
  ];
  let best: { at: number; date: string } | undefined;
  for (const [pattern, toDate] of patterns) {
    for (const match of head.matchAll(pattern)) {
      if (best && match.index >= best.at) break;
      const date = toDate(match as RegExpExecArray);
      if (date) {
        best = { at: match.index, date };
        break;
      }
    }
  }
  return best?.date;
}

/** A date in a file's own metadata: PDF dates (`D:20231213…`), ISO dates and times. */
export function dateFromMetadata(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const pdf = /^D:((?:19|20)\d\d)(\d\d)(\d\d)/.exec(value.trim());
  if (pdf) return calendarDate(Number(pdf[1]), Number(pdf[2]), Number(pdf[3]));
  const iso = /^((?:19|20)\d\d)-(\d\d)-(\d\d)/.exec(value.trim());
  if (iso) return calendarDate(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  return undefined;
}

/** The document's date and where it came from, in that order of preference; undefined when none is found. */
export function detectDocumentDate(input: {
  name: string;
  metadataDate?: string | undefined;
  text: string;
}): { value: string; source: 'metadata' | 'name' | 'text' } | undefined {
  const fromMetadata = dateFromMetadata(input.metadataDate);
  if (fromMetadata) return { value: fromMetadata, source: 'metadata' };
  const fromName = dateFromName(input.name);
  if (fromName) return { value: fromName, source: 'name' };
  const fromText = firstDateInText(input.text);
  return fromText ? { value: fromText, source: 'text' } : undefined;
}
