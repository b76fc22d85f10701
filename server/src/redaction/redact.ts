import { isIPv6 } from 'node:net';
import { findIdentityNumbers } from './identity-numbers';
import { isCardNumber } from './payment-cards';
import { findPersonNames, warmNameModels } from './person-names';
import { DEFAULT_PHONE_REGIONS, findPhoneNumbers } from './phone-numbers';
import { findStreetAddresses } from './street-addresses';

/**
 * Finds personal data and secrets in text and replaces each with a typed, numbered placeholder
 * (`<EMAIL_1>`); the same value gets the same placeholder within one text. Checksums keep
 * false positives down: payment cards must pass Luhn, IBANs mod 97, SSNs the issued ranges.
 */

/** The kinds of entity the built-in detectors find. */
export const ENTITY_TYPES = [
  'EMAIL',
  'PHONE',
  'CARD',
  'IBAN',
  'SSN',
  'IP',
  'SECRET',
  'NAME',
  'ADDRESS',
  'PASSPORT',
  'DRIVER_LICENSE',
  'ROUTING_NUMBER',
  'BANK_ACCOUNT',
] as const;

export type BuiltInEntityType = (typeof ENTITY_TYPES)[number];

export type EntityType = BuiltInEntityType | (string & {});

export interface Entity {
  type: EntityType;
  start: number;
  end: number;
  value: string;
  /** How sure the detector is, 0 to 1: 1 for checksums and exact formats, less for names and numbers judged by shape and context. */
  confidence: number;
}

function ibanValid(raw: string): boolean {
  const iban = raw.replace(/\s+/g, '').toUpperCase();
  if (iban.length < 15 || iban.length > 34) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

function ssnValid(raw: string): boolean {
  const [area, group, serial] = raw.split('-');
  const a = Number(area);
  return a !== 0 && a !== 666 && a < 900 && group !== '00' && serial !== '0000';
}

function ipv4Valid(raw: string): boolean {
  let value = 0;
  let length = 0;
  for (let i = 0; i <= raw.length; i++) {
    const c = i < raw.length ? raw.charCodeAt(i) : 46;
    if (c === 46) {
      if (value > 255) return false;
      value = 0;
      length = 0;
    } else {
      if (length > 0 && value === 0) return false; // A leading zero.
      value = value * 10 + (c - 48);
      length++;
    }
  }
  return true;
}

/** Shannon entropy in bits per character. */
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / text.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** A long token mixing letters and digits with high entropy: an unknown kind of key or token. */
function looksRandom(token: string): boolean {
  if (token.length < 24) return false;
  if (!/[a-z]/.test(token) || !/[A-Z]/.test(token) || !/\d/.test(token)) return false;
  return entropy(token) >= 4;
}

/** Spans `[start, end)` of one detector's candidates, found in time linear in the text. */
type Scan = (text: string) => Iterable<[number, number]>;

/**
 * A pattern's matches as spans (its capture group 1 when it has one). Every pattern here is
 * linear: no nested or overlapping quantifiers, no look-behind that scans back an unbounded way.
 */
function regexScan(pattern: RegExp): Scan {
  return function* (text) {
    for (const match of text.matchAll(pattern)) {
      const span = match.indices?.[1] ?? match.indices?.[0];
      if (span) yield span;
      else yield [match.index ?? 0, (match.index ?? 0) + match[0].length];
    }
  };
}

/** Private keys: each BEGIN paired with the next END, found with `indexOf` (never a lazy `[\s\S]+?` per BEGIN). */
function* privateKeys(text: string): Iterable<[number, number]> {
  const begin = /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----/y;
  const end = /-----END [A-Z ]{0,40}PRIVATE KEY-----/y;
  let at = text.indexOf('-----BEGIN ');
  while (at >= 0) {
    begin.lastIndex = at;
    if (begin.test(text)) {
      let close = text.indexOf('-----END ', begin.lastIndex);
      while (close >= 0) {
        end.lastIndex = close;
        if (end.test(text)) break;
        close = text.indexOf('-----END ', close + 1);
      }
      if (close < 0) return; // No END anywhere after: no later BEGIN has one either.
      yield [at, end.lastIndex];
      at = text.indexOf('-----BEGIN ', end.lastIndex);
    } else at = text.indexOf('-----BEGIN ', at + 1);
  }
}

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** `A-Za-z0-9._%+-` */
const isLocalChar = (c: number) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
/** `A-Za-z0-9.-` */
const isDomainChar = (c: number) => isAlnum(c) || c === 46 || c === 45;

/**
 * Email addresses, grown outwards from each `@`: at most 64 characters of local part and 253 of
 * domain, stopping at the next `@`, so that each character is looked at a bounded number of times.
 */
function* emails(text: string): Iterable<[number, number]> {
  let at = text.indexOf('@');
  while (at >= 0) {
    let start = at;
    while (start > 0 && at - start < 64 && isLocalChar(text.charCodeAt(start - 1))) start--;
    while (start < at && text.charCodeAt(start) === 46) start++;
    let end = at + 1;
    if (start < at) {
      while (end < text.length && end - at <= 253 && isDomainChar(text.charCodeAt(end))) end++;
      // The domain ends at its last label of two or more letters.
      while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--;
      const domain = text.slice(at + 1, end);
      const labels = domain.split('.');
      if (
        labels.length >= 2 &&
        labels.every((l) => l.length > 0 && l.length <= 63) &&
        /^[A-Za-z]{2,}$/.test(labels.at(-1) as string) &&
        !(start > 0 && /\w/.test(text[start - 1] as string))
      )
        yield [start, end];
    }
    at = text.indexOf('@', Math.max(end, at + 1));
  }
}

const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/**
 * IPv6 addresses: the run of hex digits and colons around each `:`; a run of at most 39
 * characters with two colons or more that stands alone is checked by Node's own parser.
 */
function* ipv6(text: string): Iterable<[number, number]> {
  const inRun = (c: number) => isHex(c) || c === 58;
  let colon = text.indexOf(':');
  while (colon >= 0) {
    let start = colon;
    while (start > 0 && inRun(text.charCodeAt(start - 1))) start--;
    let end = colon + 1;
    while (end < text.length && inRun(text.charCodeAt(end))) end++;
    // A longer run is no address; the next look starts after it, so each character is read twice at most.
    const alone = !(start > 0 && /\w/.test(text[start - 1] as string)) && !(end < text.length && /\w/.test(text[end] as string));
    if (alone && end - start >= 3 && end - start <= 39) yield [start, end];
    colon = text.indexOf(':', end);
  }
}

interface Detector {
  type: EntityType;
  scan: Scan;
  /** Extra check on a match (checksums, context). */
  accept?: (match: string) => boolean;
  /** Confidence of what it finds: 1 unless given. */
  confidence?: number;
}

const DETECTORS: Detector[] = [
  // Secrets first: they may contain what looks like other things.
  { type: 'SECRET', scan: regexScan(/\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/g) }, // JWT
  { type: 'SECRET', scan: privateKeys },
  {
    type: 'SECRET',
    scan: regexScan(
      /\b(?:sk-ant-[\w-]{20,}|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|axn_[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[\w-]{20,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{30,})/g,
    ),
  },
  { type: 'SECRET', scan: regexScan(/(?:password|passwd|secret|token|api[_-]?key)\s{0,8}[:=]\s{0,8}["']?([^\s"',;]{8,})/dgi) },
  { type: 'SECRET', scan: regexScan(/\b[A-Za-z0-9+/_-]{24,}={0,2}/g), accept: looksRandom },
  { type: 'EMAIL', scan: emails },
  { type: 'IBAN', scan: regexScan(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g), accept: ibanValid },
  { type: 'CARD', scan: regexScan(/\b(?:\d[ -]?){11,18}\d\b/g), accept: isCardNumber },
  { type: 'SSN', scan: regexScan(/\b\d{3}-\d{2}-\d{4}\b/g), accept: ssnValid },
  { type: 'IP', scan: regexScan(/\b(?:\d{1,3}\.){3}\d{1,3}\b/g), accept: ipv4Valid },
  { type: 'IP', scan: ipv6, accept: (m) => (m.match(/:/g)?.length ?? 0) >= 2 && isIPv6(m) },
];

/** How many digits `text` holds, counting no further than `enough`. */
function countDigits(text: string, enough = Number.POSITIVE_INFINITY): number {
  let n = 0;
  for (let i = 0; i < text.length && n < enough; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

export { phoneChecksFor } from './phone-numbers';

/**
 * A cheap first look: text without an `@`, a long digit run, a long unbroken token, an address-like
 * run or a secret's keyword cannot hold anything the detectors find, and most log fields are such.
 */
const SENSITIVE_HINT =
  /@|\d[\d\s().+-]{6,30}\d|[A-Za-z0-9_+/=]{20}|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9a-fA-F]{1,4}::?[0-9a-fA-F]{1,4}:|\d{3}-\d{2}-\d{4}|\b[A-Z]{2}\d{2} ?[A-Z0-9]{4}|PRIVATE KEY/;
const SECRET_WORD = /password|passwd|secret|token|api[_-]?key/i;

export function mayHoldSensitive(text: string): boolean {
  return SENSITIVE_HINT.test(text) || SECRET_WORD.test(text);
}

/** A capitalised word: what a name or a street address needs. */
const CAPITALISED_WORD = /\p{Lu}[\p{Ll}\p{M}]/u;
const IDENTITY_WORD =
  /passport|passeport|pasaporte|passaporto|paspoort|reisepass|licen[cs]e|führerschein|permis|routing|\baba\b|\brtn\b|transit|account|acct/i;

export interface RedactorOptions {
  /** Which entity types are redacted; all built-in ones when not given. Custom patterns always are. */
  types?: readonly EntityType[];
  /** Regions (ISO 3166 codes) whose national phone formats are recognised; international `+…` numbers always are. */
  phoneRegions?: readonly string[];
  /** @deprecated The former name of {@link phoneRegions}. */
  phoneCountries?: readonly string[];
  /** Extra patterns, as `{ name, pattern }`; their placeholders use the name, upper-cased. */
  custom?: Array<{ name: string; pattern: string }>;
}

export interface Redactor {
  find(text: string): Entity[];
  redact(text: string): { text: string; entities: Entity[] };
}

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const types = new Set<string>(options.types ?? ENTITY_TYPES);
  const regions = options.phoneRegions ?? options.phoneCountries ?? DEFAULT_PHONE_REGIONS;
  const detectors: Detector[] = [
    ...(options.custom ?? []).map((c) => ({
      type: c.name.toUpperCase().replace(/\W+/g, '_'),
      scan: regexScan(new RegExp(c.pattern, 'g')),
    })),
    ...DETECTORS.filter((d) => types.has(d.type)),
  ];
  const words = types.has('NAME') || types.has('ADDRESS');
  // The name detector's models (about half a second, once per process) load now, not on the first text that needs them.
  if (types.has('NAME')) warmNameModels();
  const identities = ['PASSPORT', 'DRIVER_LICENSE', 'ROUTING_NUMBER', 'BANK_ACCOUNT'].some((t) => types.has(t));
  // Custom patterns can match anything: with them every text is scanned.
  const mayHoldAny =
    options.custom && options.custom.length > 0
      ? () => true
      : (text: string) => mayHoldSensitive(text) || (words && CAPITALISED_WORD.test(text)) || (identities && IDENTITY_WORD.test(text));
  const find = (text: string): Entity[] => {
    const found: Entity[] = [];
    // Which characters an entity holds already: an overlap test costs the candidate's length, not the entities found.
    const covered = new Uint8Array(text.length);
    const taken = (start: number, end: number) => {
      for (let i = start; i < end; i++) if (covered[i]) return true;
      return false;
    };
    const take = (type: EntityType, start: number, end: number, confidence = 1) => {
      covered.fill(1, start, end);
      found.push({ type, start, end, value: text.slice(start, end), confidence });
    };
    for (const detector of detectors) {
      for (const [from, to] of detector.scan(text)) {
        const raw = text.slice(from, to);
        const value = raw.trim();
        if (!value) continue;
        const start = from + raw.indexOf(value);
        const end = start + value.length;
        if (taken(start, end) || (detector.accept && !detector.accept(value))) continue;
        take(detector.type, start, end, detector.confidence);
      }
    }
    if (identities && IDENTITY_WORD.test(text)) {
      for (const m of findIdentityNumbers(text))
        if (types.has(m.type) && !taken(m.start, m.end)) take(m.type, m.start, m.end, m.confidence);
    }
    if (types.has('PHONE') && countDigits(text, 7) >= 7) {
      for (const m of findPhoneNumbers(text, regions)) if (!taken(m.start, m.end)) take('PHONE', m.start, m.end, m.confidence);
    }
    if (words && CAPITALISED_WORD.test(text)) {
      // Addresses before names, so that a street's name is not taken for a person's.
      if (types.has('ADDRESS'))
        for (const m of findStreetAddresses(text)) if (!taken(m.start, m.end)) take('ADDRESS', m.start, m.end, m.confidence);
      if (types.has('NAME'))
        for (const m of findPersonNames(text, taken)) if (!taken(m.start, m.end)) take('NAME', m.start, m.end, m.confidence);
    }
    return found.sort((a, b) => a.start - b.start);
  };
  return {
    find: (text) => (mayHoldAny(text) ? find(text) : []),
    redact(text) {
      const entities = mayHoldAny(text) ? find(text) : [];
      if (entities.length === 0) return { text, entities };
      const numbers = new Map<string, string>();
      const perType = new Map<string, number>();
      let out = '';
      let at = 0;
      for (const e of entities) {
        const key = `${e.type}\u0000${e.value}`;
        let placeholder = numbers.get(key);
        if (!placeholder) {
          const n = (perType.get(e.type) ?? 0) + 1;
          perType.set(e.type, n);
          placeholder = `<${e.type}_${n}>`;
          numbers.set(key, placeholder);
        }
        out += text.slice(at, e.start) + placeholder;
        at = e.end;
      }
      return { text: out + text.slice(at), entities };
    },
  };
}
