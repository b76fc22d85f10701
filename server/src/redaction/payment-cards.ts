/**
 * Payment card numbers: 12 to 19 digits, optionally in groups separated by spaces or dashes, whose
 * prefix (issuer identification number) and length belong to a scheme, and which pass Luhn.
 */

interface Scheme {
  name: string;
  /** Prefix ranges, inclusive, compared on as many leading digits as the bounds have. */
  ranges: Array<[number, number]>;
  lengths: number[];
}

/**
 * Issuer ranges of the schemes in use, as the schemes publish them. UATP (airline cards, prefix 1)
 * is left out: too many 15-digit identifiers start with 1 and one in ten passes Luhn.
 */
// biome-ignore format: a table
export const CARD_SCHEMES: Scheme[] = [
  { name: 'visa', ranges: [[4, 4]], lengths: [13, 16, 19] },
  { name: 'mastercard', ranges: [[51, 55], [2221, 2720]], lengths: [16] },
  { name: 'amex', ranges: [[34, 34], [37, 37]], lengths: [15] },
  { name: 'discover', ranges: [[6011, 6011], [644, 649], [65, 65], [622126, 622925]], lengths: [16, 17, 18, 19] },
  { name: 'diners', ranges: [[300, 305], [3095, 3095], [36, 36], [38, 39]], lengths: [14, 15, 16, 17, 18, 19] },
  { name: 'jcb', ranges: [[3528, 3589]], lengths: [16, 17, 18, 19] },
  { name: 'unionpay', ranges: [[62, 62], [81, 81]], lengths: [14, 15, 16, 17, 18, 19] },
  { name: 'maestro', ranges: [[50, 50], [56, 69], [6759, 6759], [676770, 676774]], lengths: [12, 13, 14, 15, 16, 17, 18, 19] },
  { name: 'mir', ranges: [[2200, 2204]], lengths: [16, 17, 18, 19] },
  { name: 'rupay', ranges: [[60, 60], [65, 65], [81, 82], [508, 508], [353, 353], [356, 356]], lengths: [16] },
  { name: 'verve', ranges: [[506099, 506198], [650002, 650027], [507865, 507964]], lengths: [16, 18, 19] },
  { name: 'troy', ranges: [[9792, 9792]], lengths: [16] },
  { name: 'dankort', ranges: [[5019, 5019], [4571, 4571]], lengths: [16] },
  { name: 'interpayment', ranges: [[636, 636]], lengths: [16, 17, 18, 19] },
  { name: 'instapayment', ranges: [[637, 639]], lengths: [16] },
  { name: 'laser', ranges: [[6304, 6304], [6706, 6706], [6771, 6771], [6709, 6709]], lengths: [16, 17, 18, 19] },
  { name: 'switch', ranges: [[4903, 4903], [4905, 4905], [4911, 4911], [4936, 4936], [564182, 564182], [633110, 633110], [6333, 6333], [6759, 6759]], lengths: [16, 18, 19] },
  { name: 'solo', ranges: [[6334, 6334], [6767, 6767]], lengths: [16, 18, 19] },
];

/** The Luhn checksum over the digits of `text` (other characters are skipped). */
export function luhn(text: string): boolean {
  let sum = 0;
  let position = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) continue;
    let d = c - 48;
    if (position++ % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** The scheme whose prefix and length fit `digits` (digits only), if any. */
export function cardScheme(digits: string): string | undefined {
  for (const scheme of CARD_SCHEMES) {
    if (!scheme.lengths.includes(digits.length)) continue;
    for (const [low, high] of scheme.ranges) {
      const width = String(low).length;
      const prefix = Number(digits.slice(0, width));
      if (prefix >= low && prefix <= high) return scheme.name;
    }
  }
  return undefined;
}

/**
 * A card number as written: one separator kind at most (spaces or dashes), groups of 3 to 6
 * digits when grouped (4-4-4-4, 4-6-5, 4-4-4-4-3…), a scheme's prefix and length, and Luhn.
 */
export function isCardNumber(candidate: string): boolean {
  // One pass over the groups: at most one kind of separator, groups of 3 to 7 digits, the last maybe
  // shorter (4-4-4-4-3, 4-4-4-2); read before anything is cut out of the candidate.
  let separator = 0;
  let groups = 1;
  let groupLength = 0;
  for (let i = 0; i < candidate.length; i++) {
    const c = candidate.charCodeAt(i);
    if (c !== 32 && c !== 45) {
      groupLength++;
      continue;
    }
    if (separator !== 0 && c !== separator) return false;
    separator = c;
    if (groupLength < 3 || groupLength > 7) return false;
    groups++;
    groupLength = 0;
  }
  if (groups > 1 && (groups > 6 || groupLength > 7)) return false;
  const digits = groups > 1 ? candidate.replace(/[ -]/g, '') : candidate;
  // Twelve digits (some Maestro cards) only when written in groups: too many other numbers have twelve.
  if (digits.length === 12 && groups < 3) return false;
  return cardScheme(digits) !== undefined && luhn(digits);
}
