/**
 * Reads what a question says about time, so that retrieval can honour it: a date range ("in
 * December 2023", "since 2022", "before March 2020", "between 2019 and 2021", "today", "last
 * month", "in the past 90 days") becomes a filter on the documents' dates, and words asking for the
 * newest ("latest", "most recent", "the last meeting", "current") ask for a recency order.
 */

export interface TimeInQuestion {
  /** The range of document dates the question names (either end may be open). */
  range?: { dateFrom?: string; dateTo?: string };
  /** The question asks for the newest documents. */
  recency: boolean;
  /** The question without the words that said when, for ranking by content. */
  text: string;
}

interface Span {
  start: string;
  end: string;
}

const MONTHS: Record<string, number> = {
  jan: 1,
  january: 1,
  feb: 2,
  february: 2,
  mar: 3,
  march: 3,
  apr: 4,
  april: 4,
  may: 5,
  jun: 6,
  june: 6,
  jul: 7,
  july: 7,
  aug: 8,
  august: 8,
  sep: 9,
  sept: 9,
  september: 9,
  oct: 10,
  october: 10,
  nov: 11,
  november: 11,
  dec: 12,
  december: 12,
};
const MONTH =
  '(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\\.?';
const YEAR = '((?:19|20)\\d\\d)';
const DAY = '(\\d{1,2})(?:st|nd|rd|th)?';
const QUARTERS: Record<string, number> = { first: 1, second: 2, third: 3, fourth: 4, q1: 1, q2: 2, q3: 3, q4: 4 };

const pad = (n: number) => String(n).padStart(2, '0');
const ymd = (d: Date) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
const utc = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d));
const addDays = (date: string, days: number) => ymd(new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000));
const validDay = (y: number, m: number, d: number) => m >= 1 && m <= 12 && d >= 1 && utc(y, m, d).getUTCDate() === d;
const daySpan = (y: number, m: number, d: number): Span | undefined =>
  validDay(y, m, d) ? { start: ymd(utc(y, m, d)), end: ymd(utc(y, m, d)) } : undefined;
const monthSpan = (y: number, m: number): Span => ({ start: ymd(utc(y, m, 1)), end: ymd(utc(y, m + 1, 0)) });
const yearSpan = (y: number): Span => ({ start: `${y}-01-01`, end: `${y}-12-31` });

/** One date expression at the start of `text` (already lower-cased): its span and its length. */
function readDateAt(text: string, now: Date): { span: Span; length: number } | undefined {
  const patterns: Array<[RegExp, (m: RegExpExecArray) => Span | undefined]> = [
    [
      new RegExp(`^${MONTH}\\s+${DAY}(?:\\s*[-–]\\s*(\\d{1,2}))?,?\\s+${YEAR}\\b`),
      (m) => {
        const month = MONTHS[m[1] as string] as number;
        const first = daySpan(Number(m[4]), month, Number(m[2]));
        const last = m[3] ? daySpan(Number(m[4]), month, Number(m[3])) : first;
        return first && last ? { start: first.start, end: last.end } : undefined;
      },
    ],
    [
      new RegExp(`^${DAY}\\s+(?:of\\s+)?${MONTH},?\\s+${YEAR}\\b`),
      (m) => daySpan(Number(m[3]), MONTHS[m[2] as string] as number, Number(m[1])),
    ],
    [/^((?:19|20)\d\d)-(\d\d)-(\d\d)\b/, (m) => daySpan(Number(m[1]), Number(m[2]), Number(m[3]))],
    [/^((?:19|20)\d\d)(\d\d)(\d\d)\b/, (m) => daySpan(Number(m[1]), Number(m[2]), Number(m[3]))],
    [/^(\d{1,2})\/(\d{1,2})\/((?:19|20)\d\d)\b/, (m) => daySpan(Number(m[3]), Number(m[1]), Number(m[2]))],
    [new RegExp(`^${MONTH},?\\s+(?:of\\s+)?${YEAR}\\b`), (m) => monthSpan(Number(m[2]), MONTHS[m[1] as string] as number)],
    [
      /^((?:19|20)\d\d)-(\d\d)\b(?!-)/,
      (m) => (Number(m[2]) >= 1 && Number(m[2]) <= 12 ? monthSpan(Number(m[1]), Number(m[2])) : undefined),
    ],
    [
      new RegExp(`^(?:the\\s+)?(first|second|third|fourth|q[1-4])\\s+(?:quarter\\s+)?(?:of\\s+)?${YEAR}\\b`),
      (m) => {
        const q = QUARTERS[m[1] as string] as number;
        return { start: monthSpan(Number(m[2]), q * 3 - 2).start, end: monthSpan(Number(m[2]), q * 3).end };
      },
    ],
    [
      new RegExp(
        `^(?:the\\s+year\\s+)?${YEAR}\\b(?!\\d|[.,]\\d|\\s*(?:percent|%|basis|bps|points|billion|million|thousand|units?|people|dollars|euros|times|words|pages|tokens|items|rows|km|kg|mg|ml)\\b)`,
      ),
      (m) => yearSpan(Number(m[1])),
    ],
    [/^today\b/, () => ({ start: ymd(now), end: ymd(now) })],
    [/^yesterday\b/, () => ({ start: addDays(ymd(now), -1), end: addDays(ymd(now), -1) })],
    [/^this\s+year\b/, () => ({ start: `${now.getUTCFullYear()}-01-01`, end: ymd(now) })],
    [/^this\s+month\b/, () => ({ start: monthSpan(now.getUTCFullYear(), now.getUTCMonth() + 1).start, end: ymd(now) })],
    [/^this\s+week\b/, () => ({ start: addDays(ymd(now), -((now.getUTCDay() + 6) % 7)), end: ymd(now) })],
    [/^last\s+year\b/, () => yearSpan(now.getUTCFullYear() - 1)],
    [
      /^last\s+month\b/,
      () =>
        monthSpan(
          now.getUTCMonth() === 0 ? now.getUTCFullYear() - 1 : now.getUTCFullYear(),
          now.getUTCMonth() === 0 ? 12 : now.getUTCMonth(),
        ),
    ],
    [
      /^last\s+week\b/,
      () => {
        const monday = addDays(ymd(now), -((now.getUTCDay() + 6) % 7));
        return { start: addDays(monday, -7), end: addDays(monday, -1) };
      },
    ],
    [
      /^(?:the\s+)?(?:past|last)\s+(\d{1,4})\s+(day|week|month|year)s?\b/,
      (m) => {
        const n = Number(m[1]);
        const unit = m[2] as string;
        const today = ymd(now);
        if (unit === 'day') return { start: addDays(today, -n), end: today };
        if (unit === 'week') return { start: addDays(today, -7 * n), end: today };
        const back = new Date(now);
        if (unit === 'month') back.setUTCMonth(back.getUTCMonth() - n);
        else back.setUTCFullYear(back.getUTCFullYear() - n);
        return { start: ymd(back), end: today };
      },
    ],
  ];
  for (const [pattern, toSpan] of patterns) {
    const match = pattern.exec(text);
    if (!match) continue;
    const span = toSpan(match);
    if (span) return { span, length: match[0].length };
  }
  return undefined;
}

const RECENCY =
  /\b(?:latest|newest|most\s+recent(?:ly)?|(?:the\s+)?(?:last|latest|final)\s+(?:meeting|statement|release|report|decision|minutes|one|time|update|announcement|filing)s?|recent(?:ly)?|current(?:ly)?|right\s+now|at\s+present|presently)\b/;

/**
 * Finds the time a question names. Only the first date range is used; words of a recency request
 * are reported and removed from the text, as are the words of the range.
 */
export function readTimeInQuestion(question: string, now: Date): TimeInQuestion {
  const lower = question.toLowerCase();
  let range: TimeInQuestion['range'];
  let cut: [number, number] | undefined;
  const words = /\b(between|from|since|after|before|prior\s+to|until|till|through|up\s+to|by|in|during|on|of|for|as\s+of)?\s*/gy;
  for (let i = 0; i < lower.length && !range; i++) {
    if (i > 0 && /[\p{L}\p{N}]/u.test(lower[i - 1] as string)) continue;
    words.lastIndex = i;
    const lead = words.exec(lower);
    const preposition = lead?.[1]?.replace(/\s+/g, ' ');
    const at = i + (lead?.[0].length ?? 0);
    const first = readDateAt(lower.slice(at), now);
    if (!first) continue;
    // A bare year needs a preposition before it, so that "2 percent in 2023" is a year but "a 2023 forecast" is not.
    const bareYear = /^(?:the\s+year\s+)?(?:19|20)\d\d$/.test(lower.slice(at, at + first.length).trim());
    if (bareYear && !preposition) continue;
    let end = at + first.length;
    let span: TimeInQuestion['range'] = { dateFrom: first.span.start, dateTo: first.span.end };
    const second = /^\s*(?:and|to|until|through|-|–)\s*/.exec(lower.slice(end));
    const other =
      second && (preposition === 'between' || preposition === 'from') ? readDateAt(lower.slice(end + second[0].length), now) : undefined;
    if (other && second) {
      span = { dateFrom: first.span.start, dateTo: other.span.end };
      end += second[0].length + other.length;
    } else if (preposition === 'since' || preposition === 'from') span = { dateFrom: first.span.start };
    else if (preposition === 'after') span = { dateFrom: addDays(first.span.end, 1) };
    else if (preposition === 'before' || preposition === 'prior to') span = { dateTo: addDays(first.span.start, -1) };
    else if (
      preposition === 'until' ||
      preposition === 'till' ||
      preposition === 'through' ||
      preposition === 'up to' ||
      preposition === 'by'
    )
      span = { dateTo: first.span.end };
    range = span;
    cut = [i, end];
  }
  let text = cut ? `${question.slice(0, cut[0])} ${question.slice(cut[1])}` : question;
  const recencyMatch = RECENCY.exec(text.toLowerCase());
  if (recencyMatch) text = `${text.slice(0, recencyMatch.index)} ${text.slice(recencyMatch.index + recencyMatch[0].length)}`;
  text = text
    .replace(/\s+/g, ' ')
    .replace(/\s+([?.!,])/g, '$1')
    .trim();
  return { ...(range ? { range } : {}), recency: Boolean(recencyMatch), text: /[\p{L}\p{N}]/u.test(text) ? text : question };
}
