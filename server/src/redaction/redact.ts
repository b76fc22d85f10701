import { isIPv6 } from 'node:net';
import { findIdentityNumbers } from './identity-numbers';
import { countCode, findNumberRuns, type NumberRun } from './number-runs';
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

/** The IBAN checksum (mod 97 of the rearranged code), on the characters with the spaces left out. */
function ibanValid(raw: string): boolean {
  const codes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 32) codes.push(c >= 97 && c <= 122 ? c - 32 : c);
  }
  if (codes.length < 15 || codes.length > 34) return false;
  let remainder = 0;
  for (let k = 0; k < codes.length; k++) {
    const c = codes[(k + 4) % codes.length] as number;
    if (c >= 48 && c <= 57) remainder = (remainder * 10 + c - 48) % 97;
    else if (c >= 65 && c <= 90) remainder = (remainder * 100 + c - 55) % 97;
    else return false;
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

const tokenCounts = new Int32Array(128);

/**
 * A long token mixing lower case, upper case and digits with high entropy (at least 4 bits per
 * character): an unknown kind of key or token. Tokens are ASCII, so the counts fit a small array.
 */
function looksRandom(token: string): boolean {
  if (token.length < 24) return false;
  let lower = false;
  let upper = false;
  let digit = false;
  tokenCounts.fill(0);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 128) return false;
    tokenCounts[c] = (tokenCounts[c] as number) + 1;
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
  }
  if (!lower || !upper || !digit) return false;
  let bits = 0;
  for (let c = 0; c < 128; c++) {
    const n = tokenCounts[c] as number;
    if (n === 0) continue;
    const p = n / token.length;
    bits -= p * Math.log2(p);
  }
  return bits >= 4;
}

/** What one look at the text found: the numeric detectors read only its number runs. */
interface Scanned {
  text: string;
  runs: NumberRun[];
}

/** One detector's candidates, passed to `emit` as `[start, end)`, found in time linear in the text. */
type Scan = (scanned: Scanned, emit: (start: number, end: number) => void) => void;

/**
 * A pattern's matches (its capture group 1 when it has one), over the whole text, or only when
 * `hint` says the text can hold one. Every pattern here is linear: no nested or overlapping
 * quantifiers, no look-behind that scans back an unbounded way.
 */
function regexScan(pattern: RegExp, hint?: (text: string) => boolean): Scan {
  return ({ text }, emit) => {
    if (hint && !hint(text)) return;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      const span = m.indices?.[1];
      if (span) emit(span[0], span[1]);
      else emit(m.index, m.index + m[0].length);
      if (m[0].length === 0) pattern.lastIndex++;
    }
  };
}

/**
 * A pattern of digits and separators, matched only inside the number runs that `wanted` picks (with
 * one character either side, so that `\b` sees what it would in the whole text).
 */
function runScan(pattern: RegExp, wanted: (text: string, run: NumberRun) => boolean): Scan {
  return ({ text, runs }, emit) => {
    for (const run of runs) {
      if (!wanted(text, run)) continue;
      const from = Math.max(0, run.start - 1);
      const piece = text.slice(from, Math.min(text.length, run.end + 1));
      pattern.lastIndex = 0;
      for (let m = pattern.exec(piece); m; m = pattern.exec(piece)) emit(from + m.index, from + m.index + m[0].length);
    }
  };
}

/** Private keys: each BEGIN paired with the next END, found with `indexOf` (never a lazy `[\s\S]+?` per BEGIN). */
const privateKeys: Scan = ({ text }, emit) => {
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
      emit(at, end.lastIndex);
      at = text.indexOf('-----BEGIN ', end.lastIndex);
    } else at = text.indexOf('-----BEGIN ', at + 1);
  }
};

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isWordChar = (c: number) => isAlnum(c) || c === 95;
/** `A-Za-z0-9._%+-` */
const isLocalChar = (c: number) => isAlnum(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
/** `A-Za-z0-9.-` */
const isDomainChar = (c: number) => isAlnum(c) || c === 46 || c === 45;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Whether `text[from, to)` is a domain: two labels or more of 1 to 63 characters, the last of two letters or more. */
function domainValid(text: string, from: number, to: number): boolean {
  let labels = 0;
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i < to && text.charCodeAt(i) !== 46) continue;
    const length = i - labelStart;
    if (length === 0 || length > 63) return false;
    labels++;
    if (i === to) {
      if (length < 2) return false;
      for (let j = labelStart; j < to; j++) if (!isLetter(text.charCodeAt(j))) return false;
    }
    labelStart = i + 1;
  }
  return labels >= 2;
}

/**
 * Email addresses, grown outwards from each `@`: at most 64 characters of local part and 253 of
 * domain, stopping at the next `@`, so that each character is looked at a bounded number of times.
 */
const emails: Scan = ({ text }, emit) => {
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
      if (domainValid(text, at + 1, end) && !(start > 0 && isWordChar(text.charCodeAt(start - 1)))) emit(start, end);
    }
    // An `@` right after another has no local part: a run of them is passed over in one go.
    let next = Math.max(end, at + 1);
    while (text.charCodeAt(next) === 64 && text.charCodeAt(next - 1) === 64) next++;
    at = text.indexOf('@', next);
  }
};

const isHex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
const isWordAt = (text: string, at: number) => at >= 0 && at < text.length && isWordChar(text.charCodeAt(at));

/**
 * IPv6 addresses: the run of hex digits and colons around each `:`; a run of at most 39
 * characters with two colons or more that stands alone is checked by Node's own parser.
 */
const ipv6: Scan = ({ text }, emit) => {
  const inRun = (c: number) => isHex(c) || c === 58;
  let colon = text.indexOf(':');
  while (colon >= 0) {
    let start = colon;
    while (start > 0 && inRun(text.charCodeAt(start - 1))) start--;
    let end = colon + 1;
    while (end < text.length && inRun(text.charCodeAt(end))) end++;
    // A longer run is no address; the next look starts after it, so each character is read twice at most.
    if (!isWordAt(text, start - 1) && !isWordAt(text, end) && end - start >= 3 && end - start <= 39) emit(start, end);
    colon = text.indexOf(':', end);
  }
};

/** Key prefixes of the providers whose key formats are known; a text with none of them skips that pattern. */
const KEY_PREFIXES = ['sk-', 'axn_', 'AKIA', 'ASIA', 'gh', 'xox', 'AIza', 'glpat-', '_live_', '_test_', 'hf_'];
const SECRET_WORD = /password|passwd|secret|token|api[_-]?key/i;

/** Whether a run holds `count` characters `code` or more; a long run is not counted but read by the pattern. */
const hasAtLeast = (text: string, run: NumberRun, code: number, count: number) =>
  run.end - run.start > 64 || countCode(text, run.start, run.end, code, count) >= count;

const isDigit = (c: number) => c >= 48 && c <= 57;

/**
 * IPv4 addresses: what `\b(?:\d{1,3}\.){3}\d{1,3}\b` matches, read off the dots of the number runs
 * that hold three or more (a text full of addresses would otherwise cost a match object each).
 */
const dottedQuads: Scan = ({ text, runs }, emit) => {
  for (const run of runs) {
    if (run.end - run.start < 7 || !hasAtLeast(text, run, 46, 3)) continue;
    // The run alone, so that looking for the next dot never reads past it.
    const piece = text.slice(run.start, run.end);
    let next = 0;
    for (let dot = piece.indexOf('.'); dot >= 0; dot = piece.indexOf('.', Math.max(dot + 1, next))) {
      // The first group: one to three digits before the dot, after a character that is no part of a word.
      let p = dot;
      while (p > next && dot - p < 4 && isDigit(piece.charCodeAt(p - 1))) p--;
      if (p === dot || dot - p > 3 || isWordAt(text, run.start + p - 1)) continue;
      let q = p;
      let groups = 0;
      for (;;) {
        const group = q;
        while (q < piece.length && q - group < 4 && isDigit(piece.charCodeAt(q))) q++;
        if (q === group || q - group > 3) break;
        if (++groups === 4 || piece.charCodeAt(q) !== 46) break;
        q++;
      }
      if (groups === 4 && !isWordAt(text, run.start + q)) {
        emit(run.start + p, run.start + q);
        next = q;
      }
    }
  }
};

interface Detector {
  type: EntityType;
  scan: Scan;
  /** Extra check on a match (checksums, context). */
  accept?: (match: string) => boolean;
  /** Confidence of what it finds: 1 unless given. */
  confidence?: number;
  /** Whether its matches may start or end with white space, to be trimmed: custom patterns. */
  trim?: boolean;
}

const DETECTORS: Detector[] = [
  // Secrets first: they may contain what looks like other things.
  { type: 'SECRET', scan: regexScan(/\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/g, (t) => t.includes('eyJ')) }, // JWT
  { type: 'SECRET', scan: privateKeys },
  {
    type: 'SECRET',
    scan: regexScan(
      /\b(?:sk-ant-[\w-]{20,}|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|axn_[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[\w-]{20,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{30,})/g,
      (t) => KEY_PREFIXES.some((p) => t.includes(p)),
    ),
  },
  {
    type: 'SECRET',
    scan: regexScan(/(?:password|passwd|secret|token|api[_-]?key)\s{0,8}[:=]\s{0,8}["']?([^\s"',;]{8,})/dgi, (t) => SECRET_WORD.test(t)),
  },
  { type: 'SECRET', scan: regexScan(/\b[A-Za-z0-9+/_-]{24,}={0,2}/g), accept: looksRandom },
  { type: 'EMAIL', scan: emails },
  { type: 'IBAN', scan: regexScan(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g), accept: ibanValid },
  { type: 'CARD', scan: runScan(/\b(?:\d[ -]?){11,18}\d\b/g, (_text, r) => r.end - r.start >= 12), accept: isCardNumber },
  {
    type: 'SSN',
    scan: runScan(/\b\d{3}-\d{2}-\d{4}\b/g, (t, r) => r.end - r.start >= 11 && hasAtLeast(t, r, 45, 2)),
    accept: ssnValid,
  },
  { type: 'IP', scan: dottedQuads, accept: ipv4Valid },
  { type: 'IP', scan: ipv6, accept: (m) => (m.match(/:/g)?.length ?? 0) >= 2 && isIPv6(m) },
];

export { phoneChecksFor } from './phone-numbers';

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
      trim: true,
    })),
    ...DETECTORS.filter((d) => types.has(d.type)),
  ];
  const words = types.has('NAME') || types.has('ADDRESS');
  // The name detector's models (about half a second, once per process) load now, not on the first text that needs them.
  if (types.has('NAME')) warmNameModels();
  const identities = ['PASSPORT', 'DRIVER_LICENSE', 'ROUTING_NUMBER', 'BANK_ACCOUNT'].some((t) => types.has(t));
  const find = (text: string): Entity[] => {
    const found: Entity[] = [];
    // Which characters an entity holds already: an overlap test costs the candidate's length, not the entities found.
    const covered = new Uint8Array(text.length);
    const taken = (start: number, end: number) => {
      for (let i = start; i < end; i++) if (covered[i]) return true;
      return false;
    };
    const take = (type: EntityType, start: number, end: number, confidence = 1, value = text.slice(start, end)) => {
      covered.fill(1, start, end);
      found.push({ type, start, end, value, confidence });
    };
    const scanned: Scanned = { text, runs: findNumberRuns(text) };
    // One callback for every detector (the one scanning now is `detector`), not a new one per detector.
    let detector = detectors[0] as Detector;
    const emit = (from: number, to: number) => {
      let start = from;
      let end = to;
      if (detector.trim) {
        while (start < end && /\s/.test(text[start] as string)) start++;
        while (end > start && /\s/.test(text[end - 1] as string)) end--;
      }
      if (start === end || taken(start, end)) return;
      const value = text.slice(start, end);
      if (detector.accept && !detector.accept(value)) return;
      take(detector.type, start, end, detector.confidence, value);
    };
    for (const d of detectors) {
      detector = d;
      d.scan(scanned, emit);
    }
    if (identities && IDENTITY_WORD.test(text)) {
      for (const m of findIdentityNumbers(text))
        if (types.has(m.type) && !taken(m.start, m.end)) take(m.type, m.start, m.end, m.confidence);
    }
    if (types.has('PHONE')) {
      for (const m of findPhoneNumbers(text, regions, { runs: scanned.runs, isTaken: taken }))
        if (!taken(m.start, m.end)) take('PHONE', m.start, m.end, m.confidence);
    }
    if (words && CAPITALISED_WORD.test(text)) {
      // Addresses before names, so that a street's name is not taken for a person's.
      if (types.has('ADDRESS')) {
        const addresses = findStreetAddresses(text, covered);
        for (let i = 0; i < addresses.length; i++) {
          const m = addresses[i] as (typeof addresses)[number];
          if (!taken(m.start, m.end)) take('ADDRESS', m.start, m.end, m.confidence);
        }
      }
      if (types.has('NAME')) {
        const names = findPersonNames(text, taken, covered);
        for (let i = 0; i < names.length; i++) {
          const m = names[i] as (typeof names)[number];
          if (!taken(m.start, m.end)) take('NAME', m.start, m.end, m.confidence);
        }
      }
    }
    // Each detector finds in text order: the list is a few sorted runs, which the sort merges.
    return found.sort((a, b) => a.start - b.start);
  };
  return {
    find,
    redact(text) {
      const entities = find(text);
      return { text: entities.length === 0 ? text : withPlaceholders(text, entities), entities };
    },
  };
}

/**
 * `text` with each entity replaced by its placeholder: by type, then by value, numbered in order of
 * first appearance. A function of the module, not of each redactor, so that the engine optimises it once.
 */
function withPlaceholders(text: string, entities: Entity[]): string {
  const placeholders = new Map<string, Map<string, string>>();
  let out = '';
  let at = 0;
  for (const e of entities) {
    let ofType = placeholders.get(e.type);
    if (!ofType) {
      ofType = new Map();
      placeholders.set(e.type, ofType);
    }
    let placeholder = ofType.get(e.value);
    if (!placeholder) {
      placeholder = `<${e.type}_${ofType.size + 1}>`;
      ofType.set(e.value, placeholder);
    }
    out += text.slice(at, e.start) + placeholder;
    at = e.end;
  }
  return out + text.slice(at);
}
