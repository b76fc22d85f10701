import { stringify } from 'csv-stringify/sync';

/**
 * Rows as CSV for a download. A text cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage
 * return (or their full-width forms) is prefixed with `'`, so that a spreadsheet shows it as text
 * instead of running it as a formula; numbers stay numbers.
 */
export function toCsv(rows: unknown[][], columns: string[]): string {
  return stringify(rows, { header: true, columns, escape_formulas: true });
}
