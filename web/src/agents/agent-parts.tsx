import type { AgentStep, ToolApprovalRequest, TreasurySummary } from '@axon/contracts';
import { clsx } from 'clsx';
import { Check, ChevronRight, Loader2, ShieldAlert, Wrench, X } from 'lucide-react';
import { useState } from 'react';
import { api, describeError } from '../api/api-client';

/** A step card while its tool runs (input known, no output yet), or once it ended. */
export type StepData = AgentStep | { id: string; step: number; tool: string; input: unknown; status: 'running' };

export type ApprovalData = ToolApprovalRequest & { toolCallId: string; status: 'pending' | 'approved' | 'denied' | 'expired' | 'stopped' };

/** The data parts of an agent's answer in the UI message stream. */
export type AgentDataParts = {
  step: StepData;
  approval: ApprovalData;
  'treasury-summary': TreasurySummary;
};

const STATUS_LABEL: Record<StepData['status'], string> = {
  running: 'running',
  ok: 'done',
  error: 'failed',
  denied: 'denied',
  refused: 'refused',
  stopped: 'stopped',
  expired: 'expired',
};

const json = (value: unknown) => {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
};

/** One tool call: collapsed to its tool, status and duration; open for its arguments and result. */
export function StepCard({ step }: { step: StepData }) {
  const done = step.status !== 'running';
  return (
    <details
      className="group rounded-lg border border-zinc-200 text-sm dark:border-zinc-800"
      data-testid="tool-step"
      data-tool={step.tool}
      data-status={step.status}
    >
      <summary className="flex cursor-pointer list-none items-center gap-2 px-3 py-1.5 text-zinc-600 dark:text-zinc-400">
        <ChevronRight className="size-3.5 transition-transform group-open:rotate-90" aria-hidden="true" />
        {done ? (
          <Wrench className="size-3.5" aria-hidden="true" />
        ) : (
          <Loader2 className="size-3.5 animate-spin motion-reduce:animate-none" aria-hidden="true" />
        )}
        <span className="font-mono text-xs text-zinc-800 dark:text-zinc-200">{step.tool}</span>
        <span
          className={clsx(
            'rounded px-1.5 text-xs',
            step.status === 'ok' && 'bg-emerald-50 text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200',
            step.status === 'running' && 'bg-zinc-100 text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300',
            !['ok', 'running'].includes(step.status) && 'bg-amber-50 text-amber-900 dark:bg-amber-950 dark:text-amber-200',
          )}
        >
          {STATUS_LABEL[step.status]}
        </span>
        {'durationMs' in step && (
          <span className="ml-auto text-xs text-zinc-500 dark:text-zinc-400">
            {step.durationMs < 1000 ? `${Math.round(step.durationMs)} ms` : `${(step.durationMs / 1000).toFixed(1)} s`}
          </span>
        )}
      </summary>
      <div className="space-y-2 border-t border-zinc-200 px-3 py-2 dark:border-zinc-800">
        <div>
          <div className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Arguments</div>
          <pre className="max-h-48 overflow-auto rounded bg-zinc-50 p-2 text-xs dark:bg-zinc-900">{json(step.input)}</pre>
        </div>
        {'output' in step && (
          <div>
            <div className="text-xs font-medium text-zinc-500 dark:text-zinc-400">{step.error ? 'Error' : 'Result'}</div>
            <pre className="max-h-64 overflow-auto rounded bg-zinc-50 p-2 text-xs dark:bg-zinc-900">{step.error ?? json(step.output)}</pre>
          </div>
        )}
      </div>
    </details>
  );
}

/** A tool call that changes something, waiting for the user: Approve or Deny (the first decision wins). */
export function ApprovalCard({ approval }: { approval: ApprovalData }) {
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string>();
  const [decided, setDecided] = useState<'approved' | 'denied'>();
  const status = decided && approval.status === 'pending' ? decided : approval.status;
  const decide = async (decision: 'approve' | 'deny') => {
    setSending(true);
    setError(undefined);
    try {
      await api('POST', `/api/tool-approvals/${approval.id}`, { decision });
      setDecided(decision === 'approve' ? 'approved' : 'denied');
    } catch (e) {
      setError(describeError(e).message);
    } finally {
      setSending(false);
    }
  };
  return (
    <section
      className="rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950"
      aria-label={`Approve ${approval.tool}`}
      data-testid="tool-approval"
      data-status={status}
    >
      <p className="flex items-center gap-2 font-medium text-amber-900 dark:text-amber-100">
        <ShieldAlert className="size-4" aria-hidden="true" /> {approval.agent} wants to run{' '}
        <span className="font-mono">{approval.tool}</span>
      </p>
      <pre className="mt-2 max-h-40 overflow-auto rounded bg-white/70 p-2 text-xs dark:bg-black/30">{json(approval.input)}</pre>
      {status === 'pending' ? (
        <div className="mt-2 flex items-center gap-2">
          <button
            type="button"
            disabled={sending}
            onClick={() => void decide('approve')}
            className="inline-flex items-center gap-1 rounded-lg bg-emerald-700 px-3 py-1 text-white hover:bg-emerald-800 disabled:opacity-60"
          >
            <Check className="size-3.5" aria-hidden="true" /> Approve
          </button>
          <button
            type="button"
            disabled={sending}
            onClick={() => void decide('deny')}
            className="inline-flex items-center gap-1 rounded-lg border border-zinc-300 bg-white px-3 py-1 hover:bg-zinc-50 disabled:opacity-60 dark:border-zinc-700 dark:bg-zinc-900"
          >
            <X className="size-3.5" aria-hidden="true" /> Deny
          </button>
          <span className="text-xs text-amber-900/80 dark:text-amber-200/80">
            until {new Date(approval.expiresAt).toLocaleTimeString()}
          </span>
        </div>
      ) : (
        <p className="mt-2 text-xs font-medium">
          {status === 'approved'
            ? 'Approved'
            : status === 'denied'
              ? 'Denied'
              : status === 'expired'
                ? 'Expired: nobody decided in time'
                : 'Stopped'}
        </p>
      )}
      {error && (
        <p role="alert" className="mt-1 text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
    </section>
  );
}

const bpText = (n: number | null) => (n === null ? '–' : n > 0 ? `+${n}` : n < 0 ? `−${Math.abs(n)}` : '0');

/** The yield curve of the day, the day before and a week earlier, as a small line chart (no chart library). */
function YieldCurveChart({ summary }: { summary: TreasurySummary }) {
  const width = 360;
  const height = 150;
  const pad = { left: 34, right: 8, top: 8, bottom: 22 };
  const tenors = summary.tenors;
  const series: Array<{ label: string; values: Array<number | null>; className: string; dash: string | undefined }> = [
    { label: summary.date, values: tenors.map((t) => t.level), className: 'stroke-indigo-600 dark:stroke-indigo-400', dash: undefined },
    {
      label: summary.previousDate,
      values: tenors.map((t) => (t.change1dBp === null ? null : t.level - t.change1dBp / 100)),
      className: 'stroke-zinc-500',
      dash: '4 3',
    },
    {
      label: summary.weekAgoDate,
      values: tenors.map((t) => (t.change1wBp === null ? null : t.level - t.change1wBp / 100)),
      className: 'stroke-amber-600',
      dash: '1 3',
    },
  ];
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const min = Math.floor(Math.min(...all) * 4) / 4;
  const max = Math.ceil(Math.max(...all) * 4) / 4 || min + 0.25;
  // Maturities on a square-root scale, so the short end is readable.
  const x = (years: number) => pad.left + (Math.sqrt(years) / Math.sqrt(30)) * (width - pad.left - pad.right);
  const y = (v: number) => pad.top + (1 - (v - min) / (max - min || 1)) * (height - pad.top - pad.bottom);
  const path = (values: Array<number | null>) =>
    values
      .map((v, i) => (v === null ? '' : `${x(tenors[i]?.years ?? 0).toFixed(1)},${y(v).toFixed(1)}`))
      .filter(Boolean)
      .join(' ');
  const ticks = ['3 Mo', '2 Yr', '10 Yr', '30 Yr'].map((name) => tenors.find((t) => t.tenor === name)).filter((t) => t !== undefined);
  return (
    <figure className="mt-2">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        className="w-full max-w-md"
        role="img"
        aria-label={`Yield curve on ${summary.date}, ${summary.previousDate} and ${summary.weekAgoDate}`}
        data-testid="yield-curve-chart"
      >
        {[min, (min + max) / 2, max].map((v) => (
          <g key={v}>
            <line x1={pad.left} x2={width - pad.right} y1={y(v)} y2={y(v)} className="stroke-zinc-200 dark:stroke-zinc-800" />
            <text x={pad.left - 4} y={y(v) + 3} textAnchor="end" className="fill-zinc-500 text-[9px]">
              {v.toFixed(2)}
            </text>
          </g>
        ))}
        {ticks.map((t) => (
          <text key={t.tenor} x={x(t.years)} y={height - 6} textAnchor="middle" className="fill-zinc-500 text-[9px]">
            {t.tenor}
          </text>
        ))}
        {[...series].reverse().map((s) => (
          <polyline
            key={s.label}
            points={path(s.values)}
            fill="none"
            strokeWidth={s.dash ? 1.5 : 2}
            strokeDasharray={s.dash}
            className={s.className}
          />
        ))}
      </svg>
      <figcaption className="flex flex-wrap gap-3 text-xs text-zinc-500 dark:text-zinc-400">
        <span>— {summary.date}</span>
        <span>- - {summary.previousDate} (previous day)</span>
        <span>··· {summary.weekAgoDate} (a week earlier)</span>
      </figcaption>
    </figure>
  );
}

/** The structured treasury summary: key figures, the curve chart, the moves, the narrative and its label. */
export function TreasurySummaryCard({ summary }: { summary: TreasurySummary }) {
  const s = summary.spreads;
  return (
    <section
      className="rounded-xl border border-zinc-200 p-4 dark:border-zinc-800"
      aria-label={`Treasury yields on ${summary.date}`}
      data-testid="treasury-summary"
    >
      <header className="flex flex-wrap items-baseline justify-between gap-2">
        <h3 className="font-semibold">US Treasury yields on {summary.date}</h3>
        <span className="text-xs text-zinc-500 dark:text-zinc-400">
          against {summary.previousDate} and {summary.weekAgoDate}
        </span>
      </header>
      <dl className="mt-3 grid grid-cols-2 gap-2 text-sm sm:grid-cols-4">
        <div className="rounded-lg bg-zinc-50 p-2 dark:bg-zinc-900">
          <dt className="text-xs text-zinc-500 dark:text-zinc-400">2s10s</dt>
          <dd data-testid="spread-2s10s">
            {bpText(s['2s10s'].levelBp)} bp{' '}
            <span className="text-xs text-zinc-500 dark:text-zinc-400">({bpText(s['2s10s'].change1dBp)} d)</span>
          </dd>
        </div>
        <div className="rounded-lg bg-zinc-50 p-2 dark:bg-zinc-900">
          <dt className="text-xs text-zinc-500 dark:text-zinc-400">3m10y</dt>
          <dd>
            {bpText(s['3m10y'].levelBp)} bp{' '}
            <span className="text-xs text-zinc-500 dark:text-zinc-400">({bpText(s['3m10y'].change1dBp)} d)</span>
          </dd>
        </div>
        <div className="rounded-lg bg-zinc-50 p-2 dark:bg-zinc-900">
          <dt className="text-xs text-zinc-500 dark:text-zinc-400">Curve</dt>
          <dd data-testid="curve-shape">{summary.shape.curve}</dd>
        </div>
        <div className="rounded-lg bg-zinc-50 p-2 dark:bg-zinc-900">
          <dt className="text-xs text-zinc-500 dark:text-zinc-400">Slope</dt>
          <dd>
            {summary.shape.trend1d} (day), {summary.shape.trend1w} (week)
          </dd>
        </div>
      </dl>
      <YieldCurveChart summary={summary} />
      <div className="mt-3 overflow-x-auto">
        <table className="w-full text-right text-xs">
          <thead className="text-zinc-500 dark:text-zinc-400">
            <tr>
              <th className="text-left font-medium">Tenor</th>
              <th className="font-medium">Yield %</th>
              <th className="font-medium">1 day bp</th>
              <th className="font-medium">1 week bp</th>
            </tr>
          </thead>
          <tbody>
            {summary.tenors.map((t) => (
              <tr key={t.tenor} className={clsx(summary.largestMoves.some((m) => m.tenor === t.tenor) && 'font-semibold')}>
                <td className="text-left">{t.tenor}</td>
                <td>{t.level.toFixed(2)}</td>
                <td>{bpText(t.change1dBp)}</td>
                <td>{bpText(t.change1wBp)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="mt-3 text-sm leading-relaxed" data-testid="treasury-narrative">
        {summary.narrative}
      </p>
      <p
        className={clsx('mt-1 text-xs', summary.grounding.ok ? 'text-zinc-500' : 'font-medium text-red-700 dark:text-red-300')}
        data-testid="narrative-label"
      >
        {summary.narrativeSource === 'composed'
          ? 'Composed from the computed figures and extracted FOMC sentences; no model wrote it.'
          : summary.grounding.ok
            ? 'Written by the model; every number checked against the data.'
            : `Flagged: states numbers not in the data (${summary.grounding.unsupported.join(', ')}).`}
      </p>
    </section>
  );
}
