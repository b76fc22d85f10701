import { type CountryCode, isSupportedCountry, Metadata, parsePhoneNumberFromString } from 'libphonenumber-js';
import { countDigits, findNumberRuns, type NumberRun } from './number-runs';

/**
 * Phone numbers as people write them: international (`+44 20 7946 0958`, `0041 79 703 10 13`) and
 * national for a set of regions (`(0)20 7946 0958`, `01.42.68.53.00`, `(745) 318-9368 x6280`).
 *
 * With many regions almost any run of 8 to 12 digits is a valid number somewhere (2024-03-14 is one
 * in Germany), so validity alone proves little. Each candidate gets a confidence from its shape
 * (groups, separators, a `+`, a trunk prefix, an extension), from libphonenumber-js (valid or only
 * possible for the number's country, or for one of the regions) and from the words before it
 * (`phone`, `tel`, `call` raise it; `invoice`, `order`, `version` lower it); dates, amounts,
 * decimals and version strings are left alone. Only candidates reaching {@link PHONE_THRESHOLD} are kept.
 */

/** Regions whose national formats are recognised when the configuration names none. */
// biome-ignore format: a table of regions
export const DEFAULT_PHONE_REGIONS: CountryCode[] = [
  'US', 'CA', 'GB', 'IE', 'AU', 'NZ', 'ZA', 'IN', 'SG', 'HK', 'PH', 'MY', 'NG', 'KE',
  'DE', 'AT', 'CH', 'FR', 'BE', 'NL', 'LU', 'ES', 'PT', 'IT', 'SE', 'NO', 'DK', 'FI',
  'PL', 'CZ', 'SK', 'HU', 'RO', 'BG', 'GR', 'HR', 'SI', 'RS', 'UA', 'RU', 'TR', 'IL',
  'AE', 'SA', 'EG', 'MA', 'BR', 'MX', 'AR', 'CL', 'CO', 'PE', 'JP', 'KR', 'CN', 'TW',
  'ID', 'TH', 'VN', 'LV', 'LT', 'EE',
];

/** Least confidence for a candidate to be taken as a phone number. */
export const PHONE_THRESHOLD = 0.5;

/**
 * How many pieces per text libphonenumber checks (about 20 to 65 µs each, the slow part): 12, and
 * one more per 10,000 characters. Past it, a piece is judged by its shape and context alone, as if
 * it were a possible number: erring towards privacy.
 */
export const phoneChecksFor = (text: string) => 12 + Math.floor(text.length / 10_000);

interface Region {
  country: CountryCode;
  nationalPrefix: string;
  lengths: Set<number>;
}

const metadata = new Metadata();
const regionCache = new Map<string, Region[]>();

/** National prefix and possible lengths of each region, read once from libphonenumber's metadata. */
function regionsFor(countries: readonly string[]): Region[] {
  const key = countries.join(',');
  let regions = regionCache.get(key);
  if (!regions) {
    regions = [];
    for (const country of countries) {
      if (!isSupportedCountry(country)) continue;
      metadata.selectNumberingPlan(country);
      const plan = metadata.numberingPlan;
      if (!plan) continue;
      // nationalPrefix() is in the runtime class but not in its published type.
      const nationalPrefix = (plan as unknown as { nationalPrefix(): string | undefined }).nationalPrefix() ?? '';
      regions.push({ country, nationalPrefix, lengths: new Set(plan.possibleLengths()) });
    }
    regionCache.set(key, regions);
  }
  return regions;
}

const isDigit = (c: number) => c >= 48 && c <= 57;
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** An extension after a number: `x123`, `ext. 12`, `extension 4`. */
const EXTENSION = /\s{0,3}(?:ext(?:ension)?\.?|x)\s{0,3}\d{1,5}\b/iy;

/** Words in the 40 characters before a number that make it a phone number. */
const PHONE_WORDS =
  /\b(?:phone|tel|telephone|call|calling|called|phoned|rang|ring me|mobile|cell|cellphone|fax|dial|whatsapp|sms|text|reach|contact|hotline|landline|ring|number is|telefon|telefono|teléfono|téléphone|portable|handy|móvil|celular|numéro|nummer|numero|número|tlf|puhelin|telefoon|mob|ph)\b/i;
/** Words just before a number that make it something else. */
const OTHER_WORDS =
  /\b(?:invoice|inv|order|ref|reference|ticket|case|account|acct|tracking|serial|sku|po|receipt|transaction|txn|version|build|release|lat|lon|lng|latitude|longitude|coordinates|isbn|issn|amount|total|price|cost|sum|balance|id|no|nr|iban|card|customer|policy|claim|shipment|parcel|booking|confirmation|batch|lot|part|model|zip|postcode|postal|timestamp|epoch|hash|checksum|quoting|quote)\b/gi;
const CURRENCY = /[$€£¥₹₽]|\b(?:usd|eur|gbp|jpy|chf|cad|aud|inr|dollars?|euros?|pounds?)\b/i;

const PHONE_WORDS_ALL = new RegExp(PHONE_WORDS.source, 'gi');

/** Where the last match of `pattern` (global) in `text` starts, or -1. */
function lastMatch(pattern: RegExp, text: string): number {
  let at = -1;
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) at = m.index;
  return at;
}

const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Dates written with dashes, dots or spaces: 2024-03-14, 14.03.2024, 2024 03 14. */
function looksLikeDate(groups: string[]): boolean {
  if (groups.length !== 3) return false;
  const [a, b, c] = groups as [string, string, string];
  const day = (s: string) => s.length <= 2 && Number(s) >= 1 && Number(s) <= 31;
  const month = (s: string) => s.length <= 2 && Number(s) >= 1 && Number(s) <= 12;
  const year = (s: string) => s.length === 4 && Number(s) >= 1900 && Number(s) <= 2100;
  return (year(a) && month(b) && day(c)) || (day(a) && month(b) && year(c)) || (month(a) && day(b) && year(c));
}

/** Digit groups of a candidate, and which separators it uses. */
function digitGroups(candidate: string): { groups: string[]; separators: string } {
  const groups: string[] = [];
  let separators = '';
  let current = '';
  for (let i = 0; i < candidate.length; i++) {
    const ch = candidate[i] as string;
    if (isDigit(candidate.charCodeAt(i))) current += ch;
    else {
      if (current) groups.push(current);
      current = '';
      if (!separators.includes(ch)) separators += ch;
    }
  }
  if (current) groups.push(current);
  return { groups, separators };
}

/** Whether `run[at…]` starts with `x` or `ext` (any case): an extension's word. */
function startsExtension(run: string, at: number): boolean {
  const c = run.charCodeAt(at) | 32;
  return c === 120 || (c === 101 && (run.charCodeAt(at + 1) | 32) === 120 && (run.charCodeAt(at + 2) | 32) === 116);
}

/**
 * The pieces of a run that could be one phone number: whitespace-separated tokens taken together
 * while they hold at most 15 digits in at most 6 groups; pieces of 7 digits or more are kept.
 * One pass over the run's characters.
 */
function* phonePieces(run: string): Iterable<[number, number]> {
  // Tokens as [start, end, digits, digit groups].
  const tokens: Array<[number, number, number, number]> = [];
  let i = 0;
  while (i < run.length) {
    while (i < run.length && isSpace(run.charCodeAt(i))) i++;
    if (i >= run.length) break;
    const start = i;
    let digits = 0;
    let groups = 0;
    let inDigits = false;
    while (i < run.length && !isSpace(run.charCodeAt(i))) {
      const digit = isDigit(run.charCodeAt(i));
      if (digit) digits++;
      if (digit && !inDigits) groups++;
      inDigits = digit;
      i++;
    }
    tokens.push([start, i, digits, groups]);
  }
  let first = 0;
  while (first < tokens.length) {
    let digits = 0;
    let groups = 0;
    let last = first - 1;
    for (let t = first; t < tokens.length; t++) {
      const token = tokens[t] as [number, number, number, number];
      // An extension's digits do not count towards the number's.
      const extension =
        startsExtension(run, token[0]) || (t > first && startsExtension(run, (tokens[t - 1] as [number, number, number, number])[0]));
      if (!extension && (digits + token[2] > 15 || groups + token[3] > 7)) break;
      digits += extension ? 0 : token[2];
      groups += extension ? 0 : token[3];
      last = t;
    }
    if (digits >= 7 && last >= first)
      yield [(tokens[first] as [number, number, number, number])[0], (tokens[last] as [number, number, number, number])[1]];
    first = Math.max(last, first) + 1;
  }
}

export interface PhoneMatch {
  start: number;
  end: number;
  confidence: number;
}

/**
 * How likely `candidate` is a phone number, before context: from its shape, and (while `check`
 * allows) from libphonenumber-js. 0 for dates, decimals, amounts and version strings.
 */
function shapeConfidence(candidate: string, regions: Region[], check: () => boolean): number {
  const extensionAt = candidate.search(/\s*(?:ext(?:ension)?\.?|x)\s*\d/i);
  const number = extensionAt > 0 ? candidate.slice(0, extensionAt) : candidate;
  const { groups, separators } = digitGroups(number);
  const digits = groups.join('');
  if (digits.length < 7 || digits.length > 15) return 0;
  if (looksLikeDate(groups) || (groups.length > 3 && looksLikeDate(groups.slice(0, 3)))) return 0;
  // A compact date first (20240314-0042).
  const head = groups[0] as string;
  if (head.length === 8 && looksLikeDate([head.slice(0, 4), head.slice(4, 6), head.slice(6)])) return 0;
  // The shape of a US social security number.
  if (/^\d{3}-\d{2}-\d{4}$/.test(number)) return 0;
  // A decimal number (a coordinate, an amount): one dot followed by three digits or more, or a dot after one digit.
  if (separators === '.' && groups.length === 2) return 0;
  if (/(?:^|[^\d])\d\.\d/.test(number) && !number.startsWith('+')) return 0;
  if (/(?:^|\s)-?\d{1,3}\.\d{4,}(?:\s|$)/.test(number)) return 0;
  // Versions and other dotted identifiers with single-digit parts.
  if (separators.includes('.') && groups.some((g, i) => g.length === 1 && i > 0)) return 0;
  // Many single digits are a list or a counter, not a number someone dials.
  if (groups.filter((g) => g.length === 1).length > 1) return 0;
  const extensionBonus = extensionAt > 0 ? 0.2 : 0;
  const international = number.startsWith('+') || (number.startsWith('00') && !number.startsWith('000'));
  if (international) {
    if (!check()) return 0.8 + extensionBonus;
    const parsed = parsePhoneNumberFromString(number.startsWith('+') ? number : `+${number.slice(2)}`);
    if (parsed?.isValid()) return 0.95;
    if (parsed?.isPossible()) return 0.8 + extensionBonus;
    if (number.startsWith('+')) return 0.3 + extensionBonus;
    // 00 followed by no country: judged as a national number.
  }
  // National: possible for one of the regions (with or without its trunk prefix)?
  const possibleIn: Region[] = [];
  for (const region of regions) {
    const national =
      region.nationalPrefix && digits.startsWith(region.nationalPrefix) ? digits.slice(region.nationalPrefix.length) : digits;
    if (region.lengths.has(national.length) || region.lengths.has(digits.length)) possibleIn.push(region);
  }
  if (possibleIn.length === 0) return 0;
  const formatted = groups.length >= 2;
  const trunk = /^\(0\)|^0/.test(number) || /\(0\)/.test(number);
  const areaCode = /^\(\d{1,5}\)/.test(number) || /^\d?\s?\(\d{2,5}\)/.test(number);
  let confidence = formatted ? 0.55 : 0.3;
  if (trunk || areaCode) confidence += 0.1;
  // Amounts grouped in thousands: 1 250 000.
  if (
    separators === ' ' &&
    groups.length >= 3 &&
    groups.slice(1).every((g) => g.length === 3) &&
    (groups[0] as string).length <= 3 &&
    !trunk
  )
    confidence -= 0.1;
  if (check()) {
    let valid = false;
    for (const region of possibleIn.slice(0, 3)) {
      if (parsePhoneNumberFromString(number, region.country)?.isValid()) {
        valid = true;
        break;
      }
    }
    confidence += valid ? 0.1 : -0.05;
  }
  return Math.min(1, confidence + extensionBonus);
}

export interface PhoneSearch {
  /** The text's number runs, when the caller has them already. */
  runs?: NumberRun[];
  /** Whether another detector holds part of `[start, end)` already: such pieces are not judged. */
  isTaken?: (start: number, end: number) => boolean;
}

/**
 * Phone numbers in `text`. Only short pieces of number runs reach libphonenumber (it is the slow
 * part), and at most {@link phoneChecksFor} of them per text, so the time stays linear in the text.
 */
export function findPhoneNumbers(text: string, countries: readonly string[], search: PhoneSearch = {}): PhoneMatch[] {
  const regions = regionsFor(countries);
  const found: PhoneMatch[] = [];
  const seen = new Map<string, number>();
  let checks = phoneChecksFor(text);
  const check = () => checks-- > 0;
  const isTaken = search.isTaken ?? (() => false);
  for (const run of search.runs ?? findNumberRuns(text)) {
    if (run.end - run.start < 7) continue;
    // A run that other detectors hold at both ends (a card, an IBAN, an IP address) is theirs.
    if (isTaken(run.end - 1, run.end) && isTaken(run.start + (isDigit(text.charCodeAt(run.start)) ? 0 : 1), run.start + 2)) continue;
    const digits = countDigits(text, run.start, run.end, 16);
    if (digits < 7) continue;
    const runStart = run.start;
    EXTENSION.lastIndex = run.end;
    const extension = EXTENSION.exec(text);
    const runText = text.slice(runStart, run.end) + (extension?.[0] ?? '');
    // A run of more than 15 digits is some other number (a card, an account), not one to dial.
    if (!runText.slice(1).includes('+') && digits > 15) continue;
    // Part of a longer token (an id such as INV-2024-0012, CVE-2024-3094 or ab12345678), or a path or a date with slashes.
    const before = runStart > 0 ? text.charCodeAt(runStart - 1) : 32;
    if (before === 45 && runStart > 1 && isLetter(text.charCodeAt(runStart - 2))) continue;
    // After a code of capitals and digits (`GB00 WEST 1234…`, `B44 1234567`).
    const beforeSpace = runStart > 1 ? text.charCodeAt(runStart - 2) : 32;
    if (
      before === 32 &&
      ((beforeSpace >= 65 && beforeSpace <= 90) || isDigit(beforeSpace)) &&
      /(?:^|\s)(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{2,12} $|(?:^|\s)[A-Z]{3,6} $/.test(
        text.slice(Math.max(0, runStart - 14), runStart),
      ) &&
      !/(?:TEL|FAX|PH|MOB|NR|NO|CALL) $/.test(text.slice(Math.max(0, runStart - 6), runStart))
    )
      continue;
    if (
      (before >= 65 && before <= 90) ||
      (before >= 97 && before <= 122) ||
      before === 35 ||
      before === 47 ||
      before === 95 ||
      before === 46
    ) {
      if (!/(?:tel|ph|fax|mob):?$/i.test(text.slice(Math.max(0, runStart - 4), runStart))) continue;
    }
    const afterAt = runStart + runText.length;
    const after = afterAt < text.length ? text.charCodeAt(afterAt) : 32;
    // A time follows (`2024-03-14 14:09`): the run is a timestamp.
    if (after === 58 && isDigit(text.charCodeAt(afterAt + 1))) continue;
    if (
      after === 47 ||
      after === 95 ||
      (after >= 65 && after <= 90) ||
      (after >= 97 && after <= 122) ||
      (after === 46 && isDigit(text.charCodeAt(afterAt + 1)))
    )
      continue;
    for (const [a, b] of phonePieces(runText)) {
      let candidate = runText.slice(a, b);
      let offset = a;
      // An opening parenthesis belongs to the number only when it is closed inside it.
      if (candidate.startsWith('(') && !candidate.includes(')')) {
        candidate = candidate.slice(1);
        offset++;
      }
      while (candidate.endsWith(')') || candidate.endsWith('(')) candidate = candidate.slice(0, -1);
      if (isTaken(runStart + offset, runStart + offset + candidate.length)) continue;
      let shape = seen.get(candidate);
      if (shape === undefined) {
        shape = shapeConfidence(candidate, regions, check);
        seen.set(candidate, shape);
      }
      if (shape === 0) continue;
      const start = runStart + offset;
      const context = text.slice(Math.max(0, start - 40), start);
      let confidence = shape;
      // The nearer of a phone word (in the 40 characters before) and another kind's word (in the 25 before) wins.
      const tailStart = Math.max(0, context.length - 25);
      const phoneAt = lastMatch(PHONE_WORDS_ALL, context);
      const otherIn = lastMatch(OTHER_WORDS, context.slice(tailStart));
      const otherAt = otherIn < 0 ? -1 : tailStart + otherIn;
      if (phoneAt >= 0 && phoneAt > otherAt) confidence += 0.4;
      if (otherAt >= 0 && otherAt > phoneAt) confidence -= 0.6;
      if (CURRENCY.test(text.slice(Math.max(0, start - 6), Math.min(text.length, start + candidate.length + 10)))) confidence -= 0.4;
      if (confidence >= PHONE_THRESHOLD) found.push({ start, end: start + candidate.length, confidence: Math.min(1, confidence) });
    }
  }
  return found;
}
