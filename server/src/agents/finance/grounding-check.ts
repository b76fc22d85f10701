import type { TreasurySummary } from '@axon/contracts';

const MONTH = '(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\\.?';

/** Text with what names things rather than states figures taken out: citations, dates, tenor and spread names. */
function withoutNames(text: string): string {
  return text
    .replace(/\[\d{1,3}\]/g, ' ')
    .replace(/\b\d{4}-\d{2}-\d{2}\b/g, ' ')
    .replace(new RegExp(`\\b${MONTH}\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4}\\b`, 'gi'), ' ')
    .replace(new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)?\\s+${MONTH},?\\s+\\d{4}\\b`, 'gi'), ' ')
    .replace(new RegExp(`\\b${MONTH}\\s+\\d{4}\\b`, 'gi'), ' ')
    .replace(/\b(?:2s10s|3m10y|2s\/10s|3m\/10y)\b/gi, ' ')
    .replace(/\b\d+(?:\.\d+)?[- ]?(?:years?|yrs?|months?|mos?|y|m|day|week)\b/gi, ' ');
}

/** The numbers a text states, as written. */
export function numbersIn(text: string): string[] {
  return [...withoutNames(text).matchAll(/[-+−]?\d+(?:,\d{3})*(?:\.\d+)?/g)].map((m) => m[0]);
}

const toNumber = (written: string) => Number(written.replace(/[−]/g, '-').replace(/,/g, ''));

/**
 * Checks a narrative against the computed figures: every number it states must be one of them
 * (a level in percent, a change or spread in basis points, with or without its sign), or appear in
 * the cited FOMC passages. Returns the numbers that are neither.
 */
export function checkGrounding(
  narrative: string,
  summary: Pick<TreasurySummary, 'tenors' | 'spreads' | 'largestMoves' | 'context'>,
): { ok: boolean; unsupported: string[] } {
  const allowed: number[] = [];
  for (const t of summary.tenors) {
    allowed.push(t.level);
    if (t.change1dBp !== null) allowed.push(Math.abs(t.change1dBp));
    if (t.change1wBp !== null) allowed.push(Math.abs(t.change1wBp));
  }
  for (const s of Object.values(summary.spreads)) allowed.push(Math.abs(s.levelBp), Math.abs(s.change1dBp), Math.abs(s.change1wBp));
  for (const m of summary.largestMoves) allowed.push(Math.abs(m.change1dBp));
  for (const c of summary.context) for (const written of numbersIn(c.text)) allowed.push(Math.abs(toNumber(written)));
  const unsupported = numbersIn(narrative).filter((written) => {
    const value = Math.abs(toNumber(written));
    return !allowed.some((a) => Math.abs(a - value) < 0.0051);
  });
  return { ok: unsupported.length === 0, unsupported: [...new Set(unsupported)] };
}
