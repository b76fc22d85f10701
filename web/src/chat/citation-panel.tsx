import type { Citation, DocumentInfo } from '@axon/contracts';
import { useQuery } from '@tanstack/react-query';
import { Download, X } from 'lucide-react';
import { type ReactNode, type RefObject, useEffect, useRef } from 'react';
import { api, describeError } from '../api/api-client';
import { IconButton } from '../ui/button';

interface TextWindow {
  document: DocumentInfo;
  before: string;
  passage: string;
  after: string;
  truncatedBefore: boolean;
  truncatedAfter: boolean;
}

/** The side panel for one citation: the passage highlighted in its surrounding text, and the original to download. */
export function CitationPanel({ citation, onClose }: { citation: Citation; onClose: () => void }) {
  const window_ = useQuery({
    queryKey: ['passage', citation.documentId, citation.startOffset, citation.endOffset],
    queryFn: () =>
      api<TextWindow>(
        'GET',
        `/api/documents/${citation.documentId}/text?start=${citation.startOffset}&end=${citation.endOffset}&context=1500`,
      ),
  });
  const markRef = useRef<HTMLElement>(null);
  useEffect(() => {
    if (window_.data) markRef.current?.scrollIntoView({ block: 'center' });
  }, [window_.data]);

  return (
    <aside
      aria-label="Source"
      className="fixed inset-y-0 right-0 z-40 flex w-full max-w-md flex-col border-l border-zinc-200 bg-white shadow-xl dark:border-zinc-800 dark:bg-zinc-950"
      data-testid="citation-panel"
    >
      <header className="flex items-start gap-2 border-b border-zinc-200 p-3 dark:border-zinc-800">
        <span className="mt-0.5 rounded-md bg-indigo-100 px-1.5 text-xs font-medium text-indigo-700 dark:bg-indigo-900 dark:text-indigo-200">
          {citation.n}
        </span>
        <div className="min-w-0 flex-1">
          <h2 className="truncate font-medium">{citation.documentName}</h2>
          <p className="text-xs text-zinc-500 dark:text-zinc-400" data-testid="citation-where">
            {[
              citation.documentDate ? `Dated ${citation.documentDate}` : undefined,
              citation.page !== null ? `Page ${citation.page}` : undefined,
              citation.section ?? undefined,
            ]
              .filter(Boolean)
              .join(' · ')}
          </p>
        </div>
        <a
          href={`/api/documents/${citation.documentId}/file`}
          aria-label="Download the original"
          title="Download the original"
          className="inline-flex size-8 items-center justify-center rounded-lg text-zinc-500 dark:text-zinc-400 hover:bg-zinc-100 dark:hover:bg-zinc-800"
        >
          <Download className="size-4" />
        </a>
        <IconButton label="Close source" onClick={onClose}>
          <X className="size-4" />
        </IconButton>
      </header>
      <div className="flex-1 overflow-y-auto p-4 text-sm leading-relaxed whitespace-pre-wrap">
        {window_.isPending && <p className="text-zinc-500 dark:text-zinc-400">Loading…</p>}
        {window_.isError && <p role="alert">{describeError(window_.error).message}</p>}
        {window_.data && (
          <>
            {window_.data.truncatedBefore && '… '}
            <span className="text-zinc-500 dark:text-zinc-400">{window_.data.before}</span>
            <PassageWithHighlights citation={citation} passage={window_.data.passage} markRef={markRef} />
            <span className="text-zinc-500 dark:text-zinc-400">{window_.data.after}</span>
            {window_.data.truncatedAfter && ' …'}
          </>
        )}
      </div>
    </aside>
  );
}

/**
 * The passage, with the sentences the answer drew on marked strongly (offsets in the document's
 * text, as the citation's highlights give them) and the rest of the passage lightly; the whole
 * passage is marked when the answer's sentences are not known.
 */
function PassageWithHighlights({
  citation,
  passage,
  markRef,
}: {
  citation: Citation;
  passage: string;
  markRef: RefObject<HTMLElement | null>;
}) {
  const spans = (citation.highlights ?? [])
    .map((h) => ({
      start: Math.max(0, h.start - citation.startOffset),
      end: Math.min(passage.length, h.end - citation.startOffset),
      page: h.page,
    }))
    .filter((h) => h.end > h.start)
    .sort((a, b) => a.start - b.start);
  if (spans.length === 0)
    return (
      <mark ref={markRef} className="rounded bg-yellow-200 px-0.5 text-zinc-900 dark:bg-yellow-700 dark:text-zinc-50">
        {passage}
      </mark>
    );
  const parts: ReactNode[] = [];
  let at = 0;
  spans.forEach((span, i) => {
    if (span.start < at) return;
    if (span.start > at) parts.push(<span key={`p${at}`}>{passage.slice(at, span.start)}</span>);
    parts.push(
      <mark
        key={`h${span.start}`}
        ref={i === 0 ? markRef : undefined}
        data-testid="cited-sentence"
        title={span.page !== null ? `Page ${span.page}` : undefined}
        className="rounded bg-yellow-300 px-0.5 text-zinc-900 dark:bg-yellow-600 dark:text-zinc-50"
      >
        {passage.slice(span.start, span.end)}
      </mark>,
    );
    at = span.end;
  });
  if (at < passage.length) parts.push(<span key={`p${at}`}>{passage.slice(at)}</span>);
  return (
    <span className="rounded bg-yellow-50 text-zinc-900 dark:bg-yellow-950/40 dark:text-zinc-100" data-testid="cited-passage">
      {parts}
    </span>
  );
}
