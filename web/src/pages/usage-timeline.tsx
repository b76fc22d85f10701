import { useQuery } from '@tanstack/react-query';
import { clsx } from 'clsx';
import { useEffect, useId, useRef, useState } from 'react';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';
import { fillUsageDays, niceAxis, type UsageDay } from './fill-usage-days';

type SeriesName = 'requests' | 'tokens' | 'cost';

interface Series {
  label: string;
  /** What the vertical axis counts. */
  unit: string;
  /** Stacked from the bottom; each has its own colour (in the legend) and value. */
  parts: Array<{ name: string; className: string; value: (d: UsageDay) => number }>;
  whole: boolean;
  format: (n: number) => string;
}

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const formatUsd = (n: number) => `$${n >= 1 ? n.toFixed(2) : n.toPrecision(2).replace(/\.?0+$/, '')}`;

const SERIES: Record<SeriesName, Series> = {
  requests: {
    label: 'Requests',
    unit: 'Requests',
    parts: [{ name: 'Requests', className: 'usage-series-requests', value: (d) => d.requests }],
    whole: true,
    format: (n) => compact.format(n),
  },
  tokens: {
    label: 'Tokens',
    unit: 'Tokens',
    parts: [
      { name: 'Input tokens', className: 'usage-series-input', value: (d) => d.inputTokens },
      { name: 'Output tokens', className: 'usage-series-output', value: (d) => d.outputTokens },
    ],
    whole: true,
    format: (n) => compact.format(n),
  },
  cost: {
    label: 'Cost',
    unit: 'USD',
    parts: [{ name: 'Cost (USD)', className: 'usage-series-cost', value: (d) => d.costUsd }],
    whole: false,
    format: (n) => (n === 0 ? '$0' : formatUsd(n)),
  },
};

const HEIGHT = 220;
const MARGIN = { top: 26, right: 8, bottom: 28, left: 52 };

const dayLabel = (key: string) =>
  new Date(`${key}T00:00:00.000Z`).toLocaleDateString('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });
const total = (series: Series, d: UsageDay) => series.parts.reduce((n, p) => n + p.value(d), 0);

/** The width an element is drawn at, followed as it changes (the chart is drawn in pixels, so its text keeps its size). */
function useWidth(fallback: number) {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(fallback);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(200, Math.floor(entry.contentRect.width)));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return { ref, width };
}

/** Bars for one series over the days, with axes, gridlines and a tooltip per day. */
function DayBars({
  days,
  series,
  width,
  titleId,
  descId,
}: {
  days: UsageDay[];
  series: Series;
  width: number;
  titleId: string;
  descId: string;
}) {
  const ticks = niceAxis(Math.max(0, ...days.map((d) => total(series, d))), { whole: series.whole });
  const top = ticks.at(-1) ?? 1;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / Math.max(1, days.length);
  const barWidth = Math.max(1, Math.min(40, slot * 0.7));
  const y = (value: number) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  // Day labels thinned out so that they do not overlap (about 56 px each).
  const every = Math.max(1, Math.ceil(days.length / Math.max(1, Math.floor(plotWidth / 56))));
  const busiest = days.reduce<UsageDay | undefined>((best, d) => (!best || total(series, d) > total(series, best) ? d : best), undefined);
  const sum = days.reduce((n, d) => n + total(series, d), 0);
  const [first, last] = [days[0], days.at(-1)];
  return (
    <svg width={width} height={HEIGHT} role="img" aria-labelledby={`${titleId} ${descId}`} className="block">
      <title
        id={titleId}
      >{`${series.label} per day${first && last ? `, ${dayLabel(first.key)} to ${dayLabel(last.key)}` : ''} (UTC)`}</title>
      <desc id={descId}>
        {`${days.length} days, ${series.format(sum)} in all`}
        {busiest && total(series, busiest) > 0 ? `, most on ${dayLabel(busiest.key)} (${series.format(total(series, busiest))})` : ''}. The
        table below lists every day.
      </desc>
      {ticks.map((tick) => (
        <g key={tick}>
          <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(tick)} y2={y(tick)} className="usage-grid" />
          <text x={MARGIN.left - 6} y={y(tick) + 3} textAnchor="end" className="usage-axis">
            {series.format(tick)}
          </text>
        </g>
      ))}
      <text x={4} y={12} className="usage-axis" data-testid="usage-timeline-unit">
        {series.unit}
      </text>
      {days.map((d, i) => {
        const x = MARGIN.left + i * slot + (slot - barWidth) / 2;
        let base = 0;
        return (
          <g key={d.key} className="usage-day" data-testid="usage-day" data-day={d.key} data-value={total(series, d)}>
            <title>{`${dayLabel(d.key)}: ${series.parts.map((p) => `${series.format(p.value(d))} ${p.name.toLowerCase()}`).join(', ')}`}</title>
            {/* A transparent column over the whole slot, so that a day without usage has a tooltip too. */}
            <rect x={MARGIN.left + i * slot} y={MARGIN.top} width={slot} height={plotHeight} className="fill-transparent" />
            {series.parts.map((p) => {
              const value = p.value(d);
              const rect = (
                <rect
                  key={p.name}
                  x={x}
                  y={y(base + value)}
                  width={barWidth}
                  height={Math.max(0, y(base) - y(base + value))}
                  className={clsx('usage-bar', p.className)}
                />
              );
              base += value;
              return rect;
            })}
            {i % every === 0 && (
              <text x={MARGIN.left + i * slot + slot / 2} y={HEIGHT - 10} textAnchor="middle" className="usage-axis">
                {dayLabel(d.key)}
              </text>
            )}
          </g>
        );
      })}
      <line
        x1={MARGIN.left}
        x2={width - MARGIN.right}
        y1={MARGIN.top + plotHeight}
        y2={MARGIN.top + plotHeight}
        className="usage-baseline"
      />
    </svg>
  );
}

/**
 * Requests, tokens or cost per UTC day over the page's period, every day of it (zeros where
 * nothing was called), with a legend, and the same numbers as a table for screen readers (or
 * shown on request).
 */
export function UsageTimeline({ query, cacheKey }: { query: string; cacheKey: unknown[] }) {
  const [seriesName, setSeriesName] = useState<SeriesName>('requests');
  const [showTable, setShowTable] = useState(false);
  const { ref, width } = useWidth(640);
  const headingId = useId();
  const titleId = useId();
  const descId = useId();
  const usage = useQuery({
    queryKey: ['usage-days', ...cacheKey],
    queryFn: () => api<{ from: string; to: string; rows: UsageDay[] }>('GET', `/api/admin/usage?groupBy=day&${query}`),
  });
  const series = SERIES[seriesName];
  const days = usage.data ? fillUsageDays(usage.data.from, usage.data.to, usage.data.rows) : [];
  return (
    <section
      aria-labelledby={headingId}
      className="mb-6 rounded-xl border border-zinc-200 p-3 dark:border-zinc-800"
      data-testid="usage-timeline"
    >
      <div className="mb-2 flex flex-wrap items-center gap-2">
        <h2 id={headingId} className="flex-1 text-sm font-medium">
          Over time
        </h2>
        <fieldset className="inline-flex rounded-lg border border-zinc-300 p-0.5 dark:border-zinc-700">
          <legend className="sr-only">Chart series</legend>
          {(Object.keys(SERIES) as SeriesName[]).map((name) => (
            <button
              key={name}
              type="button"
              aria-pressed={name === seriesName}
              onClick={() => setSeriesName(name)}
              className={clsx(
                'rounded-md px-2.5 py-0.5 text-xs font-medium',
                name === seriesName
                  ? 'bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900'
                  : 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800',
              )}
            >
              {SERIES[name].label}
            </button>
          ))}
        </fieldset>
        <Button variant="ghost" className="px-2 py-0.5 text-xs" aria-expanded={showTable} onClick={() => setShowTable((v) => !v)}>
          {showTable ? 'Hide table' : 'Show table'}
        </Button>
      </div>
      {usage.isError && <p role="alert">{describeError(usage.error).message}</p>}
      <div ref={ref} className="w-full overflow-hidden">
        {usage.isSuccess && <DayBars days={days} series={series} width={width} titleId={titleId} descId={descId} />}
      </div>
      <ul className="mt-1 flex flex-wrap gap-3 text-xs text-zinc-600 dark:text-zinc-400" data-testid="usage-timeline-legend">
        {series.parts.map((p) => (
          <li key={p.name} className="flex items-center gap-1">
            <svg width="10" height="10" aria-hidden="true">
              <rect width="10" height="10" rx="2" className={p.className} />
            </svg>
            {p.name}
          </li>
        ))}
        <li className="ml-auto">Days in UTC</li>
      </ul>
      <div className={showTable ? 'mt-3 max-h-72 overflow-y-auto' : 'sr-only'} data-testid="usage-day-table">
        <table className="w-full text-left text-sm tabular-nums">
          <caption className="sr-only">Requests, tokens and cost per day (UTC)</caption>
          <thead className="text-xs text-zinc-500 dark:text-zinc-400">
            <tr>
              {['Day', 'Requests', 'Errors', 'Input tokens', 'Output tokens', 'Cost (USD)'].map((h) => (
                <th key={h} scope="col" className="py-1 pr-3 font-medium">
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {days.map((d) => (
              <tr key={d.key} data-testid="usage-day-row" className="border-t border-zinc-100 dark:border-zinc-800">
                <th scope="row" className="py-1 pr-3 font-normal">
                  {d.key}
                </th>
                <td className="py-1 pr-3">{d.requests}</td>
                <td className="py-1 pr-3">{d.errors}</td>
                <td className="py-1 pr-3">{d.inputTokens}</td>
                <td className="py-1 pr-3">{d.outputTokens}</td>
                <td className="py-1 pr-3">{d.costUsd.toFixed(4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
