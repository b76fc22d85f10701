import type { TreasurySummary } from '@axon/contracts';

/** The par yield curve's tenors: CSV header, column in the `treasury_yields` dataset, maturity in years. */
export const TREASURY_TENORS = [
  { header: '1 Mo', column: 'm1', years: 1 / 12 },
  { header: '1.5 Mo', column: 'm1_5', years: 1.5 / 12 },
  { header: '2 Mo', column: 'm2', years: 2 / 12 },
  { header: '3 Mo', column: 'm3', years: 3 / 12 },
  { header: '4 Mo', column: 'm4', years: 4 / 12 },
  { header: '6 Mo', column: 'm6', years: 0.5 },
  { header: '1 Yr', column: 'y1', years: 1 },
  { header: '2 Yr', column: 'y2', years: 2 },
  { header: '3 Yr', column: 'y3', years: 3 },
  { header: '5 Yr', column: 'y5', years: 5 },
  { header: '7 Yr', column: 'y7', years: 7 },
  { header: '10 Yr', column: 'y10', years: 10 },
  { header: '20 Yr', column: 'y20', years: 20 },
  { header: '30 Yr', column: 'y30', years: 30 },
] as const;

/** CSV header → dataset column (`Date` → `date`, `10 Yr` → `y10`). */
export const TREASURY_COLUMNS: Record<string, string> = {
  Date: 'date',
  ...Object.fromEntries(TREASURY_TENORS.map((t) => [t.header, t.column])),
};

/** One day of the curve as `query_data` returns it: `date` and a yield in percent (or null) per tenor column. */
export type CurveRow = Record<string, string | number | null>;

/** Basis points between two yields in percent, rounded to a whole basis point (yields are published to 0.01). */
const bp = (to: number, from: number) => Math.round((to - from) * 100);

const yieldOf = (row: CurveRow, column: string): number | null => {
  const v = row[column];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

const trendOf = (change: number) => (change > 1 ? 'steepening' : change < -1 ? 'flattening' : 'unchanged');

/**
 * The structured summary's figures, computed from three days of the curve (the day, the trading
 * day before, the last trading day at least a week earlier): every level, every change in basis
 * points, the spreads and the shape. Pure arithmetic on the data; no model is involved.
 */
export function computeTreasuryFigures(
  day: CurveRow,
  previous: CurveRow,
  weekAgo: CurveRow,
): Omit<TreasurySummary, 'context' | 'narrative' | 'narrativeSource' | 'grounding'> {
  const tenors: TreasurySummary['tenors'] = [];
  for (const t of TREASURY_TENORS) {
    const level = yieldOf(day, t.column);
    if (level === null) continue;
    const before = yieldOf(previous, t.column);
    const week = yieldOf(weekAgo, t.column);
    tenors.push({
      tenor: t.header,
      years: Math.round(t.years * 10_000) / 10_000,
      level,
      change1dBp: before === null ? null : bp(level, before),
      change1wBp: week === null ? null : bp(level, week),
    });
  }
  const need = (row: CurveRow, column: string) => {
    const v = yieldOf(row, column);
    if (v === null) throw new Error(`The curve of ${String(row.date)} has no ${column}`);
    return v;
  };
  const spread = (long: string, short: string) => {
    const today = bp(need(day, long), need(day, short));
    return {
      levelBp: today,
      change1dBp: today - bp(need(previous, long), need(previous, short)),
      change1wBp: today - bp(need(weekAgo, long), need(weekAgo, short)),
    };
  };
  const s2s10s = spread('y10', 'y2');
  const s3m10y = spread('y10', 'm3');
  const curve = s2s10s.levelBp < -10 ? 'inverted' : s2s10s.levelBp > 10 ? 'normal' : 'flat';
  const largestMoves = tenors
    .filter((t): t is typeof t & { change1dBp: number } => t.change1dBp !== null)
    .sort((a, b) => Math.abs(b.change1dBp) - Math.abs(a.change1dBp) || a.years - b.years)
    .slice(0, 3)
    .map((t) => ({ tenor: t.tenor, change1dBp: t.change1dBp }));
  return {
    kind: 'treasury-summary',
    date: String(day.date),
    previousDate: String(previous.date),
    weekAgoDate: String(weekAgo.date),
    tenors,
    spreads: { '2s10s': s2s10s, '3m10y': s3m10y },
    shape: { curve, trend1d: trendOf(s2s10s.change1dBp), trend1w: trendOf(s2s10s.change1wBp) },
    largestMoves,
  };
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/**
 * The date a question names ("on March 13, 2023", "13 March 2023", "2023-03-13", "3/13/2023"), as
 * YYYY-MM-DD; undefined when it names none (then the latest date in the data is meant).
 */
export function dateInQuestion(question: string): string | undefined {
  const text = question.toLowerCase();
  const pad = (n: number) => String(n).padStart(2, '0');
  const valid = (y: number, m: number, d: number) => {
    const date = `${y}-${pad(m)}-${pad(d)}`;
    const parsed = new Date(`${date}T00:00:00Z`);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === date ? date : undefined;
  };
  const iso = /\b(\d{4})-(\d{2})-(\d{2})\b/.exec(text);
  if (iso) return valid(Number(iso[1]), Number(iso[2]), Number(iso[3]));
  const month = `(${MONTHS.join('|')}|${MONTHS.map((m) => m.slice(0, 3)).join('|')})\\.?`;
  const mdy = new RegExp(`\\b${month}\\s+(\\d{1,2})(?:st|nd|rd|th)?,?\\s+(\\d{4})\\b`).exec(text);
  if (mdy) return valid(Number(mdy[3]), MONTHS.findIndex((m) => m.startsWith(String(mdy[1]).slice(0, 3))) + 1, Number(mdy[2]));
  const dmy = new RegExp(`\\b(\\d{1,2})(?:st|nd|rd|th)?\\s+${month},?\\s+(\\d{4})\\b`).exec(text);
  if (dmy) return valid(Number(dmy[3]), MONTHS.findIndex((m) => m.startsWith(String(dmy[2]).slice(0, 3))) + 1, Number(dmy[1]));
  const us = /\b(\d{1,2})\/(\d{1,2})\/(\d{4})\b/.exec(text);
  if (us) return valid(Number(us[3]), Number(us[1]), Number(us[2]));
  return undefined;
}

/** Whether a question asks for the treasury yield summary (the finance agent's structured answer). */
export function asksForTreasurySummary(question: string): boolean {
  const text = question.toLowerCase();
  return (
    /\b(treasury|treasuries|yield|yields|curve)\b/.test(text) &&
    /\b(summar|movement|move|moved|changes?|happened|recap|overview)/.test(text)
  );
}
