import { useQuery } from '@tanstack/react-query';
import { Download } from 'lucide-react';
import { useState } from 'react';
import { api, describeError } from '../api/api-client';
import { useSession } from '../api/queries';
import { ScrollBox } from '../ui/scroll-box';
import { FeedbackSection } from './feedback-section';
import { UsageTimeline } from './usage-timeline';

interface UsageRow {
  key: string;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
}

const PERIODS = { '24 hours': 1, '7 days': 7, '30 days': 30 } as const;
type Period = keyof typeof PERIODS;

/** Horizontal bars, one per row, scaled to the largest value. */
function BarChart({
  title,
  rows,
  value,
  format,
}: {
  title: string;
  rows: UsageRow[];
  value: (r: UsageRow) => number;
  format: (n: number) => string;
}) {
  const max = Math.max(1e-9, ...rows.map(value));
  return (
    <figure className="rounded-xl border border-zinc-200 p-3 dark:border-zinc-800" data-testid="usage-chart">
      <figcaption className="mb-2 text-xs font-medium text-zinc-500 dark:text-zinc-400">{title}</figcaption>
      <svg width="100%" height={rows.length * 22} role="img" aria-label={title}>
        {rows.map((r, i) => (
          <g key={r.key} transform={`translate(0, ${i * 22})`}>
            <rect x="0" y="3" height="14" width={`${(value(r) / max) * 60}%`} className="fill-indigo-500" rx="3" />
            <text x={`${(value(r) / max) * 60 + 1}%`} y="14" className="fill-zinc-700 text-[10px] dark:fill-zinc-300">
              {r.key} · {format(value(r))}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

/** Requests, tokens, cost, latency and errors by model, user or day over a chosen period, with CSV export. */
export function UsagePage() {
  const [period, setPeriod] = useState<Period>('7 days');
  const [groupBy, setGroupBy] = useState<'model' | 'user' | 'day' | 'organisation'>('model');
  const [scope, setScope] = useState<'mine' | 'all'>('mine');
  const allOrgs = useSession().data?.permissions.includes('orgs:manage') ?? false;
  const from = new Date(Date.now() - PERIODS[period] * 86_400_000).toISOString();
  const query = `from=${encodeURIComponent(from)}${scope === 'all' ? '&org=all' : ''}`;
  const usage = useQuery({
    queryKey: ['usage', period, groupBy, scope],
    queryFn: () => api<{ rows: UsageRow[] }>('GET', `/api/admin/usage?groupBy=${groupBy}&${query}`),
  });
  const rows = usage.data?.rows ?? [];
  const select = 'rounded-lg border border-zinc-300 bg-transparent px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900';
  return (
    <main className="mx-auto h-full w-full max-w-5xl overflow-y-auto p-4 sm:p-6">
      <div className="mb-4 flex flex-wrap items-center gap-3">
        <h1 className="flex-1 text-xl font-semibold">Usage</h1>
        <select aria-label="Period" value={period} onChange={(e) => setPeriod(e.target.value as Period)} className={select}>
          {Object.keys(PERIODS).map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
        <select aria-label="Group by" value={groupBy} onChange={(e) => setGroupBy(e.target.value as typeof groupBy)} className={select}>
          <option value="model">by model</option>
          <option value="user">by user</option>
          <option value="day">by day</option>
          {scope === 'all' && <option value="organisation">by organisation</option>}
        </select>
        {allOrgs && (
          <select
            aria-label="Organisations"
            value={scope}
            onChange={(e) => {
              setScope(e.target.value as typeof scope);
              if (e.target.value === 'mine' && groupBy === 'organisation') setGroupBy('model');
            }}
            className={select}
          >
            <option value="mine">my organisation</option>
            <option value="all">all organisations</option>
          </select>
        )}
        <a
          href={`/api/admin/usage/export?${query}`}
          className="inline-flex items-center gap-1 rounded-lg border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
        >
          <Download className="size-4" /> Export CSV
        </a>
      </div>
      <UsageTimeline query={query} cacheKey={[period, scope]} />
      {usage.isError && <p role="alert">{describeError(usage.error).message}</p>}
      {usage.isSuccess && rows.length === 0 && <p className="text-sm text-zinc-500 dark:text-zinc-400">No model calls in this period.</p>}
      {rows.length > 0 && (
        <>
          <div className="mb-6 grid gap-3 md:grid-cols-2">
            <BarChart title="Requests" rows={rows} value={(r) => r.requests} format={(n) => n.toLocaleString()} />
            <BarChart
              title="Tokens (in + out)"
              rows={rows}
              value={(r) => r.inputTokens + r.outputTokens}
              format={(n) => n.toLocaleString()}
            />
            <BarChart title="Cost (USD)" rows={rows} value={(r) => r.costUsd} format={(n) => `$${n.toFixed(4)}`} />
            <BarChart title="Latency p95 (ms)" rows={rows} value={(r) => r.latencyP95Ms ?? 0} format={(n) => n.toFixed(0)} />
          </div>
          <ScrollBox label="Usage table">
            <table className="w-full text-left text-sm">
              <thead className="text-xs text-zinc-500 dark:text-zinc-400">
                <tr>
                  {['', 'Requests', 'Errors', 'Input tokens', 'Output tokens', 'Cost (USD)', 'p50 ms', 'p95 ms'].map((h) => (
                    <th key={h} className="py-1 pr-3 font-medium">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.key} data-testid="usage-row" className="border-t border-zinc-100 tabular-nums dark:border-zinc-800">
                    <td className="py-1.5 pr-3">{r.key}</td>
                    <td className="py-1.5 pr-3">{r.requests}</td>
                    <td className="py-1.5 pr-3">{r.errors}</td>
                    <td className="py-1.5 pr-3">{r.inputTokens}</td>
                    <td className="py-1.5 pr-3">{r.outputTokens}</td>
                    <td className="py-1.5 pr-3">{r.costUsd.toFixed(4)}</td>
                    <td className="py-1.5 pr-3">{r.latencyP50Ms?.toFixed(0) ?? '—'}</td>
                    <td className="py-1.5 pr-3">{r.latencyP95Ms?.toFixed(0) ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </ScrollBox>
        </>
      )}
      <FeedbackSection query={query} />
    </main>
  );
}
