/**
 * Identifiers that only a checksum or a strong context word tells apart from any other code:
 * passport numbers and driver's licence numbers after their name (`passport no. X1234567`),
 * US bank routing numbers (ABA checksum, after `routing`, `ABA` or `RTN`) and bank account numbers
 * after `account number`. The value must follow its keyword within a few characters; each keyword
 * looks at a bounded window, so the scan is linear.
 */

export interface IdentityMatch {
  type: 'PASSPORT' | 'DRIVER_LICENSE' | 'ROUTING_NUMBER' | 'BANK_ACCOUNT';
  start: number;
  end: number;
  confidence: number;
}

/** The ABA routing number checksum: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function abaValid(digits: string): boolean {
  if (!/^\d{9}$/.test(digits)) return false;
  const d = [...digits].map(Number) as number[];
  const sum =
    3 * ((d[0] ?? 0) + (d[3] ?? 0) + (d[6] ?? 0)) +
    7 * ((d[1] ?? 0) + (d[4] ?? 0) + (d[7] ?? 0)) +
    ((d[2] ?? 0) + (d[5] ?? 0) + (d[8] ?? 0));
  const prefix = Number(digits.slice(0, 2));
  // Federal Reserve routing symbols: 00–12, 21–32, 61–72, 80.
  const prefixOk = prefix <= 12 || (prefix >= 21 && prefix <= 32) || (prefix >= 61 && prefix <= 72) || prefix === 80;
  return sum % 10 === 0 && prefixOk;
}

const KEYWORDS =
  /\b(?:(passport|passeport|reisepass|pasaporte|passaporto|paspoort)|(driver'?s? licen[cs]e|driving licen[cs]e|driver licen[cs]e|licen[cs]e (?:no|number)|dl (?:no|number|#)|führerschein|permis de conduire)|(routing|aba|rtn|transit number)|(account (?:no|number|#)|acct (?:no|number|#)|bank account))\b/gi;
/** After the keyword: optional filler words and punctuation, then the value (letters and digits, maybe with one space or dash). */
const VALUE = /(?:\s{0,3}(?:no\.?|number|num\.?|nr\.?|#|is|:|=|of|id)){0,3}[\s:#=]{0,4}([A-Z0-9]{1,4}[ -]?[A-Z0-9]{3,14})\b/iy;

export function findIdentityNumbers(text: string): IdentityMatch[] {
  const found: IdentityMatch[] = [];
  for (const m of text.matchAll(KEYWORDS)) {
    const type: IdentityMatch['type'] = m[1] ? 'PASSPORT' : m[2] ? 'DRIVER_LICENSE' : m[3] ? 'ROUTING_NUMBER' : 'BANK_ACCOUNT';
    VALUE.lastIndex = (m.index ?? 0) + m[0].length;
    const v = VALUE.exec(text);
    if (!v?.[1]) continue;
    const value = v[1];
    const start = VALUE.lastIndex - value.length;
    const compact = value.replace(/[ -]/g, '');
    const digits = compact.replace(/\D/g, '').length;
    if (compact.length < 5 || compact.length > 17 || digits < 1) continue;
    if (type === 'ROUTING_NUMBER') {
      if (abaValid(compact)) found.push({ type, start, end: start + value.length, confidence: 0.95 });
    } else if (type === 'BANK_ACCOUNT') {
      if (/^\d{6,17}$/.test(compact)) found.push({ type, start, end: start + value.length, confidence: 0.8 });
    } else if (type === 'PASSPORT') {
      if (compact.length >= 6 && compact.length <= 10 && !/^(?:valid|expired?|number|issued|renewed)$/i.test(compact))
        found.push({ type, start, end: start + value.length, confidence: 0.85 });
    } else if (compact.length >= 5 && compact.length <= 16) found.push({ type, start, end: start + value.length, confidence: 0.8 });
  }
  return found;
}
