import { clsx } from 'clsx';
import { Plus, RefreshCw } from 'lucide-react';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { ApiError, describeError } from '../api/api-client';
import { useDeployment, useDeployments, useRefreshModels } from '../api/queries';
import { Button } from '../ui/button';
import { DeploymentDetail } from './deployment-detail';
import { CreateAliasForm } from './deployment-forms';
import { StateBadge } from './deployment-state-badge';
import { describePolicy } from './describe-deployment';

/**
 * Model deployments for builders: aliases callers name as their model, each serving immutable
 * versions under a traffic policy (fixed, canary, A/B), with live per-arm figures and the actions
 * that move traffic. The alias shown is in the address (`?alias=`), so a link opens it.
 */
export function DeploymentsPage() {
  const list = useDeployments();
  const [params, setParams] = useSearchParams();
  const [creating, setCreating] = useState(false);
  const aliases = list.data?.aliases ?? [];
  const asked = params.get('alias') ?? undefined;
  const current = aliases.some((a) => a.name === asked) ? asked : aliases[0]?.name;
  const status = useDeployment(current);
  const refresh = useRefreshModels();
  const open = (name: string | undefined) => setParams(name ? { alias: name } : {}, { replace: true });

  if (list.isError && list.error instanceof ApiError && list.error.status === 403) {
    return (
      <main className="flex h-full flex-col items-center justify-center gap-3 p-6 text-center">
        <h1 className="text-xl font-semibold">Not allowed</h1>
        <p className="max-w-md text-sm text-zinc-600 dark:text-zinc-400">
          Deployments are managed by the home organisation’s administrators and builders. {describeError(list.error).message}
        </p>
      </main>
    );
  }

  return (
    <main className="deploy-page">
      <div className="mb-4 flex flex-wrap items-start gap-3">
        <div className="min-w-0 flex-1">
          <h1 className="text-xl font-semibold">Deployments</h1>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            An alias is a model name callers use; it serves versions you add, fixed or in a canary or an A/B test.
          </p>
        </div>
        <Button
          variant="secondary"
          disabled={refresh.isPending}
          title="List the models every connection serves again, on every replica (after deploying a model upstream)"
          onClick={() => refresh.mutate()}
        >
          <RefreshCw className={clsx('size-4', refresh.isPending && 'animate-spin')} aria-hidden="true" /> Refresh model list
        </Button>
        {aliases.length > 0 && (
          <Button variant="secondary" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
            <Plus className="size-4" aria-hidden="true" /> New alias
          </Button>
        )}
      </div>
      {refresh.isSuccess && (
        <p role="status" className="mb-3 text-sm text-zinc-600 dark:text-zinc-400" data-testid="models-refreshed">
          {refresh.data.models.length} models listed.
          {Object.entries(refresh.data.problems).map(([connection, problem]) => (
            <span key={connection} className="block text-amber-700 dark:text-amber-400">
              {connection}: {problem}
            </span>
          ))}
        </p>
      )}
      {refresh.isError && (
        <p role="alert" className="mb-3 text-sm text-red-700 dark:text-red-400">
          The model list could not be refreshed: {describeError(refresh.error).message}
        </p>
      )}
      {list.isPending && <p className="text-sm text-zinc-600 dark:text-zinc-400">Loading…</p>}
      {list.isError && (
        <p role="alert" className="text-sm text-red-700 dark:text-red-400">
          The deployments could not be loaded: {describeError(list.error).message}
        </p>
      )}
      {list.isSuccess && aliases.length === 0 && (
        <div className="mx-auto max-w-xl space-y-4" data-testid="deployments-empty">
          <div className="deploy-card space-y-1 text-sm text-zinc-700 dark:text-zinc-300">
            <h2 className="text-base font-semibold text-zinc-900 dark:text-zinc-100">No aliases yet</h2>
            <p>
              Create an alias such as <code className="font-mono">support-bot</code> with its first version (a model, its parameters and a
              prompt template). Programs then send <code className="font-mono">"model": "support-bot"</code>, and you can roll out new
              versions behind that name, compare them and roll back without changing the programs.
            </p>
          </div>
          <CreateAliasForm onCreated={open} />
        </div>
      )}
      {aliases.length > 0 && (
        <div className="flex flex-col gap-6 md:flex-row">
          <nav aria-label="Aliases" className="md:w-64 md:shrink-0">
            <ul className="space-y-1">
              {aliases.map((a) => (
                <li key={a.name}>
                  <Link
                    to={{ search: `?alias=${encodeURIComponent(a.name)}` }}
                    replace
                    aria-current={a.name === current ? 'page' : undefined}
                    className={clsx('deploy-alias', a.name === current && 'deploy-alias-current')}
                    data-testid="deployment-alias"
                  >
                    <span className="flex flex-wrap items-center gap-2">
                      <span className="font-medium break-all">{a.name}</span>
                      {a.state && <StateBadge status={a.state.status} />}
                    </span>
                    {a.description && <span className="block truncate text-xs text-zinc-600 dark:text-zinc-400">{a.description}</span>}
                    <span className="block text-xs text-zinc-700 dark:text-zinc-300" data-testid="alias-policy">
                      {describePolicy(a.policy, a.state)}
                    </span>
                    {a.state?.reason && <span className="block text-xs text-zinc-600 dark:text-zinc-400">{a.state.reason}</span>}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <section aria-label="Alias" className="min-w-0 flex-1 space-y-6">
            {creating && (
              <CreateAliasForm
                onCreated={(name) => {
                  setCreating(false);
                  open(name);
                }}
              />
            )}
            {status.isError && (
              <p role="alert" className="text-sm text-red-700 dark:text-red-400">
                {current} could not be loaded: {describeError(status.error).message}
              </p>
            )}
            {status.data && status.data.alias.name === current && (
              <DeploymentDetail key={current} status={status.data} onDeleted={() => open(undefined)} />
            )}
          </section>
        </div>
      )}
    </main>
  );
}
