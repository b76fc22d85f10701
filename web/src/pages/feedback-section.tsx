import type { FeedbackSource, FeedbackSummary } from '@axon/contracts';
import { useQuery } from '@tanstack/react-query';
import { Download, ThumbsDown, ThumbsUp } from 'lucide-react';
import { api, describeError } from '../api/api-client';
import { ScrollBox } from '../ui/scroll-box';

/** Where the feedback came from, in words: the web chat's thumbs or a program's `POST /v1/feedback`. */
const SOURCE_LABEL: Record<FeedbackSource, string> = { web: 'web', api: 'api' };

const share = (up: number, down: number) => (up + down === 0 ? '—' : `${Math.round((up / (up + down)) * 100)}%`);

/** Thumbs up and down on answers over the dashboard's period, from the web chat and from `POST /v1/feedback`: per model and source, and the latest with their comments. */
export function FeedbackSection({ query }: { query: string }) {
  const feedback = useQuery({
    queryKey: ['feedback', query],
    queryFn: () => api<FeedbackSummary>('GET', `/api/admin/feedback?${query}`),
  });
  const data = feedback.data;
  return (
    <section aria-labelledby="feedback-heading" className="mt-8" data-testid="feedback-section">
      <div className="mb-3 flex flex-wrap items-center gap-3">
        <h2 id="feedback-heading" className="flex-1 text-lg font-semibold">
          Feedback on answers
        </h2>
        <a
          href={`/api/admin/feedback/export?${query}`}
          className="inline-flex items-center gap-1 rounded-lg border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
        >
          <Download className="size-4" aria-hidden="true" /> Export JSON Lines
        </a>
      </div>
      {feedback.isError && <p role="alert">{describeError(feedback.error).message}</p>}
      {data && data.totals.up + data.totals.down === 0 && (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">No feedback in this period.</p>
      )}
      {data && data.totals.up + data.totals.down > 0 && (
        <>
          <p className="mb-3 flex items-center gap-4 text-sm" data-testid="feedback-totals">
            <span className="inline-flex items-center gap-1">
              <ThumbsUp className="size-4" aria-hidden="true" /> {data.totals.up} good
            </span>
            <span className="inline-flex items-center gap-1">
              <ThumbsDown className="size-4" aria-hidden="true" /> {data.totals.down} bad
            </span>
            <span>{share(data.totals.up, data.totals.down)} positive</span>
          </p>
          <ScrollBox label="Feedback by model" className="mb-4">
            <table className="w-full text-left text-sm">
              <caption className="sr-only">Feedback by model</caption>
              <thead className="text-xs text-zinc-600 dark:text-zinc-400">
                <tr>
                  {['Model', 'Source', 'Good', 'Bad', 'Positive'].map((h) => (
                    <th key={h} className="py-1 pr-3 font-medium">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.byModel.map((r) => (
                  <tr
                    key={`${r.model} ${r.source}`}
                    data-testid="feedback-row"
                    className="border-t border-zinc-100 tabular-nums dark:border-zinc-800"
                  >
                    <td className="py-1.5 pr-3">{r.model}</td>
                    <td className="py-1.5 pr-3">{SOURCE_LABEL[r.source]}</td>
                    <td className="py-1.5 pr-3">{r.up}</td>
                    <td className="py-1.5 pr-3">{r.down}</td>
                    <td className="py-1.5 pr-3">{share(r.up, r.down)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
          <h3 className="mb-1 text-sm font-medium">Latest comments</h3>
          <ul className="flex flex-col gap-1 text-sm">
            {data.recent
              .filter((r) => r.comment)
              .slice(0, 20)
              .map((r) => (
                <li
                  key={`${r.messageId}-${r.userId}`}
                  className="rounded-lg border border-zinc-200 px-3 py-2 dark:border-zinc-800"
                  data-testid="feedback-comment"
                >
                  <span className="mr-2 inline-flex items-center gap-1 font-medium">
                    {r.value === 'up' ? (
                      <ThumbsUp className="size-3.5" aria-label="Good" />
                    ) : (
                      <ThumbsDown className="size-3.5" aria-label="Bad" />
                    )}
                    {r.model ?? 'unknown model'}
                  </span>
                  <span className="mr-2 text-xs text-zinc-600 dark:text-zinc-400">{SOURCE_LABEL[r.source]}</span>
                  <span>{r.comment}</span>
                  <span className="ml-2 text-xs text-zinc-600 dark:text-zinc-400">
                    {r.userEmail ?? r.userId} · {new Date(r.updatedAt).toLocaleString()}
                  </span>
                </li>
              ))}
          </ul>
        </>
      )}
    </section>
  );
}
