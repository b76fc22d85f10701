/**
 * Texts of about 100 KB built to make a redactor slow: long runs of what detectors look for
 * (digits, dotted numbers, `@`, separators, hex and colons, tokens) and ordinary prose with
 * personal data in it. The redaction benchmark and the ReDoS test both use them.
 */
export const ADVERSARIAL_SIZE = 100_000;

const fill = (unit: string, size = ADVERSARIAL_SIZE) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);

const PROSE =
  'Please call Dana on +44 20 7946 0958 or write to dana.smith@example.org about invoice 2024-117 ' +
  '(card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32). The meeting is on 12.03.2025 at 10:30; ' +
  'version 1.2.3 shipped from 10.0.0.12 with SSN 123-45-6789 on file. Totals: 1,234.56 USD and 7.5 %. ';

export const ADVERSARIAL_INPUTS: Array<{ name: string; text: string }> = [
  { name: 'digit run', text: fill('1') },
  { name: 'dotted numbers', text: fill('1.') },
  { name: 'dotted quads', text: fill('1.1.1.1 ') },
  { name: 'a@a.a…', text: `a@${fill('a.')}` },
  { name: 'a@a.a repeated', text: fill('a@a.a ') },
  { name: 'at signs', text: fill('@') },
  { name: 'dash separators', text: fill('1-') },
  { name: 'space separators', text: fill('1 ') },
  { name: 'parentheses', text: fill('(1) ') },
  { name: 'plus signs', text: fill('+1 ') },
  { name: 'hex and colons', text: fill('a1:') },
  { name: 'double colons', text: fill('1::') },
  { name: 'one long token', text: fill('aZ9x') },
  { name: 'secret keywords', text: fill('password=') },
  { name: 'IBAN-like', text: fill('GB82 WEST ') },
  { name: 'digits and x', text: fill('1 x1 ') },
  { name: 'capitalised words', text: fill('Anna Maria Van Der Berg ') },
  { name: 'numbers beside words', text: fill('Main Street 12 ') },
  { name: 'ordinary prose', text: fill(PROSE) },
];
