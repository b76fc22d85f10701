/**
 * The release date of a document, from its name: `20230201.txt`, `minutes/2022-06-15.txt`, or a
 * name with `YYYYMMDD` or `YYYY-MM-DD` in it. Null when the name holds no date.
 */
export function documentDateOf(name: string): string | null {
  const base = name.split('/').pop() ?? name;
  const dashed = /(\d{4})-(\d{2})-(\d{2})/.exec(base);
  const compact = /(?:^|\D)(\d{4})(\d{2})(\d{2})(?:\D|$)/.exec(base);
  const match = dashed ?? compact;
  if (!match) return null;
  const [, year, month, day] = match;
  const date = `${year}-${month}-${day}`;
  const parsed = new Date(`${date}T00:00:00Z`);
  return Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date ? null : date;
}
