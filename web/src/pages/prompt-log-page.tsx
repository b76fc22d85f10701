import type { PromptLogRow } from '@axon/contracts';
import { useInfiniteQuery } from '@tanstack/react-query';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';

interface PromptLogPage {
  mode: 'off' | 'redacted' | 'full';
  retentionDays: number;
  items: PromptLogRow[];
  nextBefore: string | null;
}

const MODE_TEXT = {
  off: 'Prompt logging is off for your organisation: nothing new is kept.',
  redacted: 'Prompts and answers are kept with personal data and secrets replaced by placeholders such as <EMAIL_1>.',
  full: 'Prompts and answers are kept as they were sent.',
};

/** What was asked through the API and answered, as the organisation's logging mode kept it; each visit is audited. */
export function PromptLogPage() {
  const log = useInfiniteQuery({
    queryKey: ['prompt-log'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam }) =>
      api<PromptLogPage>('GET', `/api/admin/prompt-log?limit=50${pageParam ? `&before=${encodeURIComponent(pageParam)}` : ''}`),
    getNextPageParam: (last) => last.nextBefore ?? undefined,
  });
  const first = log.data?.pages[0];
  const rows = log.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <main className="mx-auto h-full w-full max-w-5xl overflow-y-auto p-6">
      <h1 className="mb-1 text-xl font-semibold">Prompt log</h1>
      {first && (
        <p className="mb-4 text-sm text-zinc-500 dark:text-zinc-400" data-testid="prompt-log-mode">
          {MODE_TEXT[first.mode]} Rows are deleted after {first.retentionDays} days. Your visit is recorded in the audit trail.
        </p>
      )}
      {log.isError && <p role="alert">{describeError(log.error).message}</p>}
      {log.isSuccess && rows.length === 0 && <p className="text-sm text-zinc-500 dark:text-zinc-400">Nothing logged yet.</p>}
      <ul className="space-y-3">
        {rows.map((row) => (
          <li key={row.id} data-testid="prompt-log-row" className="rounded-xl border border-zinc-200 p-3 text-sm dark:border-zinc-800">
            <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400">
              {new Date(row.at).toLocaleString()} · {row.model} · {row.status} · {row.inputTokens ?? '?'} in / {row.outputTokens ?? '?'} out
              · {row.mode}
            </p>
            <pre className="whitespace-pre-wrap rounded-lg bg-zinc-50 p-2 font-mono text-xs dark:bg-zinc-900">{row.prompt}</pre>
            <pre className="mt-2 whitespace-pre-wrap p-2 font-mono text-xs">{row.response}</pre>
          </li>
        ))}
      </ul>
      {log.hasNextPage && (
        <Button className="mt-4" onClick={() => void log.fetchNextPage()} disabled={log.isFetchingNextPage}>
          Older
        </Button>
      )}
    </main>
  );
}
