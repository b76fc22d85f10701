import type { Organization, OrgLimits, PromptLogMode } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { useSession } from '../api/queries';
import { Button } from '../ui/button';
import { TextField } from '../ui/text-field';

type OwnOrganization = Organization & {
  userLimits: {
    userRpm: number;
    userTpm: number;
    userConcurrentStreams: number;
    userDailyBudgetUsd: number;
    userMonthlyBudgetUsd: number;
  };
  defaultPromptLogMode: PromptLogMode;
};

const LIMIT_FIELDS: Array<{ key: keyof OrgLimits; label: string; step?: string }> = [
  { key: 'rpm', label: 'Requests per minute' },
  { key: 'tpm', label: 'Tokens per minute' },
  { key: 'concurrentStreams', label: 'Answers streaming at once' },
  { key: 'dailyBudgetUsd', label: 'Daily budget (USD)', step: '0.01' },
  { key: 'monthlyBudgetUsd', label: 'Monthly budget (USD)', step: '0.01' },
];

const select = 'rounded-lg border border-zinc-300 bg-transparent px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900';
const limit = (n: number | undefined, unit = '') => (n ? `${n.toLocaleString()}${unit}` : 'none');

/** Edits an organisation's limits; empty or 0 means none. */
function LimitsForm({ org, onSaved }: { org: Organization; onSaved: () => void }) {
  const [values, setValues] = useState<Record<string, string>>(
    Object.fromEntries(LIMIT_FIELDS.map((f) => [f.key, org.limits[f.key] ? String(org.limits[f.key]) : ''])),
  );
  const save = useMutation({
    mutationFn: () => {
      const limits = Object.fromEntries(
        LIMIT_FIELDS.filter((f) => values[f.key]?.trim()).map((f) => [f.key, Number(values[f.key])]),
      ) as OrgLimits;
      return api('PATCH', `/api/admin/orgs/${org.id}`, { limits });
    },
    onSuccess: () => {
      toast.success(`Limits of ${org.name} saved`);
      onSaved();
    },
    onError: (e) => toast.error(describeError(e).message),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form onSubmit={submit} className="grid grid-cols-2 items-end gap-2 md:grid-cols-6" aria-label={`Limits of ${org.name}`}>
      {LIMIT_FIELDS.map((f) => (
        <TextField
          key={f.key}
          label={f.label}
          type="number"
          min="0"
          step={f.step ?? '1'}
          value={values[f.key] ?? ''}
          placeholder="none"
          onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
        />
      ))}
      <Button type="submit" variant="primary" disabled={save.isPending}>
        Save limits
      </Button>
    </form>
  );
}

/**
 * The caller's organisation: its limits and budgets (set by the installation's admins), the
 * per-person limits of the server, and its prompt-log mode; and, for the installation's admins,
 * every organisation with its limits.
 */
export function OrganisationPage() {
  const client = useQueryClient();
  const session = useSession();
  const permissions = session.data?.permissions ?? [];
  const manageOrgs = permissions.includes('orgs:manage');
  const own = useQuery({ queryKey: ['org'], queryFn: () => api<OwnOrganization>('GET', '/api/org') });
  const all = useQuery({
    queryKey: ['orgs'],
    queryFn: () => api<{ items: Array<Organization & { users: number }> }>('GET', '/api/admin/orgs'),
    enabled: manageOrgs,
  });
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ['org'] });
    void client.invalidateQueries({ queryKey: ['orgs'] });
  };
  const setMode = useMutation({
    mutationFn: (promptLogMode: PromptLogMode | null) => api('PATCH', '/api/org', { promptLogMode }),
    onSuccess: () => {
      toast.success('Prompt logging changed');
      refresh();
    },
    onError: (e) => toast.error(describeError(e).message),
  });
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const create = useMutation({
    mutationFn: () => api<Organization>('POST', '/api/admin/orgs', { slug, name }),
    onSuccess: (org) => {
      toast.success(`Organisation ${org.name} created`);
      setSlug('');
      setName('');
      refresh();
    },
    onError: (e) => toast.error(describeError(e).message),
  });
  const org = own.data;
  return (
    <main className="mx-auto h-full w-full max-w-5xl space-y-8 overflow-y-auto p-6">
      {own.isError && <p role="alert">{describeError(own.error).message}</p>}
      {org && (
        <section aria-labelledby="limits-title">
          <h1 id="limits-title" className="mb-1 text-xl font-semibold">
            {org.name}: limits and budgets
          </h1>
          <p className="mb-3 text-sm text-zinc-500 dark:text-zinc-400">
            A request is refused (429, with when to try again) when it would go over any of these. Budgets count the cost of model calls
            from the price table, per UTC day and month.
          </p>
          <table className="text-left text-sm" data-testid="org-limits">
            <thead className="text-xs text-zinc-500 dark:text-zinc-400">
              <tr>
                <th className="py-1 pr-6 font-medium">Limit</th>
                <th className="py-1 pr-6 font-medium">Whole organisation</th>
                <th className="py-1 font-medium">Each person</th>
              </tr>
            </thead>
            <tbody className="tabular-nums">
              {[
                ['Requests per minute', limit(org.limits.rpm), limit(org.userLimits.userRpm)],
                ['Tokens per minute', limit(org.limits.tpm), limit(org.userLimits.userTpm)],
                ['Answers streaming at once', limit(org.limits.concurrentStreams), limit(org.userLimits.userConcurrentStreams)],
                ['Daily budget', limit(org.limits.dailyBudgetUsd, ' USD'), limit(org.userLimits.userDailyBudgetUsd, ' USD')],
                ['Monthly budget', limit(org.limits.monthlyBudgetUsd, ' USD'), limit(org.userLimits.userMonthlyBudgetUsd, ' USD')],
              ].map(([label, whole, each]) => (
                <tr key={label} className="border-t border-zinc-100 dark:border-zinc-800">
                  <td className="py-1.5 pr-6 text-zinc-500 dark:text-zinc-400">{label}</td>
                  <td className="py-1.5 pr-6">{whole}</td>
                  <td className="py-1.5">{each}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
            API keys may have their own requests and tokens per minute on top (see API keys).
          </p>
          {permissions.includes('users:manage') && (
            <label className="mt-4 flex items-center gap-2 text-sm">
              Prompt logging for {org.name}
              <select
                aria-label="Prompt logging"
                className={select}
                value={org.promptLogMode ?? 'default'}
                onChange={(e) => setMode.mutate(e.target.value === 'default' ? null : (e.target.value as PromptLogMode))}
              >
                <option value="default">server default ({org.defaultPromptLogMode})</option>
                <option value="off">off: nothing kept</option>
                <option value="redacted">redacted: personal data and secrets replaced</option>
                <option value="full">full: kept as sent</option>
              </select>
            </label>
          )}
        </section>
      )}
      {manageOrgs && (
        <section aria-labelledby="orgs-title">
          <h2 id="orgs-title" className="mb-3 text-lg font-semibold">
            Organisations
          </h2>
          <form
            className="mb-4 flex flex-wrap items-end gap-2"
            onSubmit={(event) => {
              event.preventDefault();
              create.mutate();
            }}
          >
            <TextField label="Short name" value={slug} onChange={(e) => setSlug(e.target.value)} placeholder="acme" required />
            <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} placeholder="Acme Corp" required />
            <Button type="submit" variant="primary" disabled={create.isPending}>
              Create organisation
            </Button>
          </form>
          <ul className="space-y-4">
            {all.data?.items.map((o) => (
              <li key={o.id} data-testid="org" className="rounded-xl border border-zinc-200 p-3 dark:border-zinc-800">
                <p className="mb-2 text-sm">
                  <span className="font-medium">{o.name}</span> <span className="text-zinc-500 dark:text-zinc-400">({o.slug})</span> ·{' '}
                  {o.users} {o.users === 1 ? 'person' : 'people'}
                </p>
                <LimitsForm org={o} onSaved={refresh} />
              </li>
            ))}
          </ul>
        </section>
      )}
    </main>
  );
}
