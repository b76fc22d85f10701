import type { DocumentMetadata, SearchFilters } from '@axon/contracts';

/** Whether a filter restricts anything. */
export function isActiveFilter(filter: SearchFilters | undefined): filter is SearchFilters {
  return Boolean(filter && (filter.dateFrom || filter.dateTo || (filter.metadata && Object.keys(filter.metadata).length > 0)));
}

/**
 * Whether a document's metadata holds every field the filter names. Values compare without regard
 * to case: a wanted text matches a field equal to it or a list holding it; a wanted list matches
 * when any of its texts does.
 */
export function metadataMatches(metadata: DocumentMetadata, wanted: SearchFilters['metadata']): boolean {
  if (!wanted) return true;
  for (const [key, want] of Object.entries(wanted)) {
    const have = metadata[key];
    if (have === undefined) return false;
    const haveValues = (Array.isArray(have) ? have : [have]).map((v) => v.toLowerCase());
    const wantValues = (Array.isArray(want) ? want : [want]).map((v) => v.toLowerCase());
    if (!wantValues.some((v) => haveValues.includes(v))) return false;
  }
  return true;
}

/** Both filters at once: dates narrowed to their overlap, metadata fields of both. */
export function combineFilters(a: SearchFilters | undefined, b: SearchFilters | undefined): SearchFilters | undefined {
  if (!a) return b;
  if (!b) return a;
  const later = (x?: string, y?: string) => (x && y ? (x > y ? x : y) : (x ?? y));
  const earlier = (x?: string, y?: string) => (x && y ? (x < y ? x : y) : (x ?? y));
  const dateFrom = later(a.dateFrom, b.dateFrom);
  const dateTo = earlier(a.dateTo, b.dateTo);
  const metadata = a.metadata || b.metadata ? { ...a.metadata, ...b.metadata } : undefined;
  return { ...(dateFrom ? { dateFrom } : {}), ...(dateTo ? { dateTo } : {}), ...(metadata ? { metadata } : {}) };
}
