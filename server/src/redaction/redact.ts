import { type CountryCode, findPhoneNumbersInText } from 'libphonenumber-js';

/**
 * Finds personal data and secrets in text and replaces each with a typed, numbered placeholder
 * (`<EMAIL_1>`); the same value gets the same placeholder within one text. Checksums keep
 * false positives down: payment cards must pass Luhn, IBANs mod 97, SSNs the issued ranges.
 */

export type EntityType = 'EMAIL' | 'PHONE' | 'CARD' | 'IBAN' | 'SSN' | 'IP' | 'SECRET' | (string & {});

export interface Entity {
  type: EntityType;
  start: number;
  end: number;
  value: string;
}

interface Detector {
  type: EntityType;
  pattern: RegExp;
  /** Extra check on a match (checksums, context). */
  accept?: (match: string) => boolean;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
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
  return raw.split('.').every((octet) => Number(octet) <= 255 && !(octet.length > 1 && octet.startsWith('0')));
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

const DETECTORS: Detector[] = [
  // Secrets first: they may contain what looks like other things.
  { type: 'SECRET', pattern: /\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}/g }, // JWT
  { type: 'SECRET', pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----/g },
  {
    type: 'SECRET',
    pattern:
      /\b(?:sk-ant-[\w-]{20,}|sk-(?:proj-)?[A-Za-z0-9_-]{20,}|axn_[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_\w{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|glpat-[\w-]{20,}|(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}|hf_[A-Za-z0-9]{30,})/g,
  },
  { type: 'SECRET', pattern: /(?<=(?:password|passwd|secret|token|api[_-]?key)\s*[:=]\s*["']?)[^\s"',;]{8,}/gi },
  { type: 'SECRET', pattern: /\b[A-Za-z0-9+/_-]{24,}={0,2}/g, accept: looksRandom },
  { type: 'EMAIL', pattern: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g },
  { type: 'IBAN', pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g, accept: ibanValid },
  { type: 'CARD', pattern: /\b(?:\d[ -]?){12,18}\d\b/g, accept: (m) => luhn(m.replace(/\D/g, '')) && /^[2-6]/.test(m) },
  { type: 'SSN', pattern: /\b\d{3}-\d{2}-\d{4}\b/g, accept: ssnValid },
  { type: 'IP', pattern: /\b(?:\d{1,3}\.){3}\d{1,3}\b/g, accept: ipv4Valid },
  { type: 'IP', pattern: /\b(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}:?){1,6}\b/g },
];

/** Phone numbers as libphonenumber-js reads them: valid numbers, international or national for these countries. */
function findPhones(text: string, countries: CountryCode[]): Array<{ start: number; end: number }> {
  const found: Array<{ start: number; end: number }> = [];
  // libphonenumber reads only the runs that could be numbers (digits with separators, 9 or more
  // digits), not the whole text: it is the slow part.
  for (const run of text.matchAll(/\+?\(?\d[\d\s().-]{7,}\d(?:\s*(?:ext\.?|x)\s*\d{1,5})?/g)) {
    const candidate = run[0];
    const offset = run.index ?? 0;
    if ((candidate.match(/\d/g)?.length ?? 0) < 9) continue;
    for (const defaultCountry of countries) {
      for (const hit of findPhoneNumbersInText(candidate, { defaultCountry })) {
        const value = candidate.slice(hit.startsAt, hit.endsAt);
        // Short codes and number-like runs (dates, versions, ranges) are left alone.
        if (!hit.number.isValid() || (value.match(/\d/g)?.length ?? 0) < 9 || value.includes('/')) continue;
        const start = offset + hit.startsAt;
        const end = offset + hit.endsAt;
        if (!found.some((f) => start < f.end && end > f.start)) found.push({ start, end });
      }
    }
  }
  return found;
}

/**
 * A cheap first look: text without an `@`, a long digit run, a long unbroken token, an address-like
 * run or a secret's keyword cannot hold anything the detectors find, and most log fields are such.
 */
const SENSITIVE_HINT =
  /@|\d[\d\s().+-]{6,}\d|[A-Za-z0-9_+/=]{20,}|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9a-fA-F]{1,4}::?[0-9a-fA-F]{1,4}:|\d{3}-\d{2}-\d{4}|\b[A-Z]{2}\d{2} ?[A-Z0-9]{4}|PRIVATE KEY/;
const SECRET_WORD = /password|passwd|secret|token|api[_-]?key/i;

export function mayHoldSensitive(text: string): boolean {
  return SENSITIVE_HINT.test(text) || SECRET_WORD.test(text);
}

export interface RedactorOptions {
  /** Countries whose national phone formats are recognised (international `+…` numbers always are). */
  phoneCountries?: CountryCode[];
  /** Extra patterns, as `{ name, pattern }`; their placeholders use the name, upper-cased. */
  custom?: Array<{ name: string; pattern: string }>;
}

export interface Redactor {
  find(text: string): Entity[];
  redact(text: string): { text: string; entities: Entity[] };
}

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const detectors: Detector[] = [
    ...(options.custom ?? []).map((c) => ({ type: c.name.toUpperCase().replace(/\W+/g, '_'), pattern: new RegExp(c.pattern, 'g') })),
    ...DETECTORS,
  ];
  // Custom patterns can match anything: with them every text is scanned.
  const mayHoldAny = detectors.length > DETECTORS.length ? () => true : mayHoldSensitive;
  const find = (text: string): Entity[] => {
    const found: Entity[] = [];
    const taken = (start: number, end: number) => found.some((e) => start < e.end && end > e.start);
    for (const detector of detectors) {
      for (const match of text.matchAll(detector.pattern)) {
        const value = match[0].trim();
        const start = (match.index ?? 0) + match[0].indexOf(value);
        const end = start + value.length;
        if (!value || taken(start, end) || (detector.accept && !detector.accept(value))) continue;
        found.push({ type: detector.type, start, end, value });
      }
    }
    const phones = (text.match(/\d/g)?.length ?? 0) >= 9 ? findPhones(text, options.phoneCountries ?? ['US', 'GB']) : [];
    for (const { start, end } of phones) {
      if (!taken(start, end)) found.push({ type: 'PHONE', start, end, value: text.slice(start, end) });
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
