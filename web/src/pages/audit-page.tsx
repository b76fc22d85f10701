import { Download, ShieldAlert, ShieldCheck } from 'lucide-react';
import { useState } from 'react';
import { describeError } from '../api/api-client';
import { useAuditEvents, useAuditVerdict } from '../api/queries';
import { Button } from '../ui/button';
import { ScrollBox } from '../ui/scroll-box';
import { describeAuditDetails } from './describe-audit-details';

const ACTIONS = [
  'auth.login',
  'auth.login_failed',
  'auth.logout',
  'auth.setup',
  'user.created',
  'user.role_changed',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.password_reset_created',
  'user.password_reset',
  'auth.session_revoked',
  'key.created',
  'key.revoked',
  'collection.created',
  'collection.updated',
  'collection.deleted',
  'collection.members_changed',
  'document.uploaded',
  'document.deleted',
  'audit.exported',
];

/** The audit trail for admins and auditors: newest first, filter by action, chain check, CSV export. */
export function AuditPage() {
  const [action, setAction] = useState('');
  const events = useAuditEvents(action);
  const verdict = useAuditVerdict();
  const rows = events.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <main className="mx-auto h-full w-full max-w-5xl overflow-y-auto p-4 sm:p-6">
      <div className="mb-4 flex flex-wrap items-center gap-3">
        <h1 className="flex-1 text-xl font-semibold">Audit trail</h1>
        <select
          aria-label="Action"
          value={action}
          onChange={(e) => setAction(e.target.value)}
          className="rounded-lg border border-zinc-300 bg-transparent px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900"
        >
          <option value="">All actions</option>
          {ACTIONS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        <a
          href="/api/admin/audit/export"
          className="inline-flex items-center gap-1 rounded-lg border border-zinc-300 px-3 py-1.5 text-sm hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
        >
          <Download className="size-4" /> Export CSV
        </a>
      </div>
      {verdict.data && (
        <p
          data-testid="audit-verdict"
          className={
            verdict.data.ok
              ? 'mb-4 flex items-center gap-2 text-sm text-emerald-700 dark:text-emerald-400'
              : 'mb-4 flex items-center gap-2 text-sm text-red-700'
          }
        >
          {verdict.data.ok ? <ShieldCheck className="size-4" /> : <ShieldAlert className="size-4" />}
          {verdict.data.ok
            ? `Chain intact: ${verdict.data.events} events, every hash matches.`
            : `Chain broken at row ${verdict.data.seq}: ${verdict.data.reason}.`}
        </p>
      )}
      {events.isError && <p role="alert">{describeError(events.error).message}</p>}
      <ScrollBox label="Audit events">
        <table className="w-full text-left text-sm">
          <thead className="text-xs text-zinc-500 dark:text-zinc-400">
            <tr>
              <th className="py-1 pr-3 font-medium">When</th>
              <th className="py-1 pr-3 font-medium">Who</th>
              <th className="py-1 pr-3 font-medium">Action</th>
              <th className="py-1 pr-3 font-medium">Target</th>
              <th className="py-1 pr-3 font-medium">From</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id} data-testid="audit-row" className="border-t border-zinc-100 align-top dark:border-zinc-800">
                <td className="py-1.5 pr-3 whitespace-nowrap tabular-nums">{new Date(e.at).toLocaleString()}</td>
                <td className="py-1.5 pr-3">{e.actorEmail ?? '—'}</td>
                <td className="py-1.5 pr-3 font-mono text-xs">{e.action}</td>
                <td className="py-1.5 pr-3 text-xs text-zinc-700 dark:text-zinc-300" data-testid="audit-target">
                  {e.target && <span className="block font-mono">{e.target}</span>}
                  {describeAuditDetails(e.details).map((d) => (
                    <span key={d.label} className="mr-3 inline-block">
                      <span className="text-zinc-600 dark:text-zinc-400">{d.label}:</span> {d.text}
                    </span>
                  ))}
                </td>
                <td className="py-1.5 pr-3 text-xs text-zinc-500 dark:text-zinc-400">{e.ip ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      {events.hasNextPage && (
        <Button variant="secondary" className="mt-4" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
          Load older events
        </Button>
      )}
    </main>
  );
}
