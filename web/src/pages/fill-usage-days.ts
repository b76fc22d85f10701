/** One UTC day's totals, as `GET /api/admin/usage?groupBy=day` gives them. */
export interface UsageDay {
  /** `YYYY-MM-DD`, UTC. */
  key: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

const DAY_MS = 86_400_000;

/**
 * Every UTC day of the range `[from, to)`, in order, with the API's totals where it has a row and
 * zeros where it has none (the API leaves out days without model calls).
 */
export function fillUsageDays(from: string, to: string, rows: UsageDay[]): UsageDay[] {
  const byDay = new Map(rows.map((r) => [r.key, r]));
  const first = Date.parse(`${from.slice(0, 10)}T00:00:00.000Z`);
  // `to` is exclusive: a range ending at midnight does not reach into the next day.
  const last = Date.parse(`${new Date(Date.parse(to) - 1).toISOString().slice(0, 10)}T00:00:00.000Z`);
  const days: UsageDay[] = [];
  for (let at = first; at <= last && days.length < 400; at += DAY_MS) {
    const key = new Date(at).toISOString().slice(0, 10);
    days.push(byDay.get(key) ?? { key, requests: 0, errors: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
  }
  return days;
}

/** Round steps for an axis from 0 past `max`, in `intervals` steps; whole steps for counts. */
export function niceAxis(max: number, options: { intervals?: number; whole?: boolean } = {}): number[] {
  const intervals = options.intervals ?? 4;
  let step: number;
  if (max <= 0) step = options.whole ? 1 : 0.01;
  else {
    const raw = max / intervals;
    const magnitude = 10 ** Math.floor(Math.log10(raw));
    const scaled = raw / magnitude;
    step = (scaled <= 1 ? 1 : scaled <= 2 ? 2 : scaled <= 2.5 ? 2.5 : scaled <= 5 ? 5 : 10) * magnitude;
    if (options.whole) step = Math.max(1, Math.ceil(step));
  }
  // Rounded so that 0.1 + 0.2 steps read as 0.3.
  return Array.from({ length: intervals + 1 }, (_, i) => Number((step * i).toPrecision(12)));
}
