/** A value of an audit event's details in words: lists joined, nested objects as "key value" pairs. */
function describeValue(value: unknown, depth = 0): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map((v) => describeValue(v, depth + 1)).join(', ');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.map(([k, v]) => `${humanize(k)} ${describeValue(v, depth + 1)}`).join(', ');
  }
  return String(value);
}

/** `promptLogMode` → "prompt log mode", `org_id` → "org id". */
function humanize(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase();
}

/** An audit event's details as label and text pairs for the audit table, never raw JSON. */
export function describeAuditDetails(details: Record<string, unknown>): Array<{ label: string; text: string }> {
  return Object.entries(details).map(([key, value]) => ({ label: humanize(key), text: describeValue(value) }));
}
