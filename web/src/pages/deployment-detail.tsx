import type { ArmStats, DeploymentStatus, ExperimentReport, ModelAlias, ModelVersion } from '@axon/contracts';
import { Pause, Play, Trash2, Trophy, Undo2 } from 'lucide-react';
import { useState } from 'react';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import { useDeleteDeployment, useDeploymentAction, useSession } from '../api/queries';
import { Button } from '../ui/button';
import { DeploymentConfirmDialog } from './deployment-confirm-dialog';
import { AddVersionForm, FormError, PolicyForm } from './deployment-forms';
import { StateBadge } from './deployment-state-badge';
import {
  describeEndpoints,
  describeParams,
  describePolicy,
  errorRate,
  formatMs,
  formatPercent,
  formatUsd,
  isExperiment,
  rollbackTargets,
} from './describe-deployment';

/** An alias: what it serves, the live figures of its experiment, the actions and the forms that change it. */
export function DeploymentDetail({ status, onDeleted }: { status: DeploymentStatus; onDeleted: () => void }) {
  const { alias } = status;
  return (
    <div className="space-y-6" data-testid="deployment-detail">
      <header className="space-y-1">
        <div className="flex flex-wrap items-center gap-2">
          <h2 className="text-lg font-semibold break-all">{alias.name}</h2>
          {alias.state && <StateBadge status={alias.state.status} />}
          {alias.source === 'config' && <span className="deploy-badge">from axon.config.yaml</span>}
        </div>
        {alias.description && <p className="text-sm text-zinc-600 dark:text-zinc-400">{alias.description}</p>}
        <p className="text-sm" data-testid="deployment-policy">
          Traffic: <strong className="font-medium">{describePolicy(alias.policy, alias.state)}</strong>
          {alias.policy.type === 'canary' && <span className="text-zinc-600 dark:text-zinc-400"> · stable v{alias.policy.stable}</span>}
        </p>
        {alias.state?.reason && (
          <p className="text-sm text-zinc-600 dark:text-zinc-400" data-testid="deployment-reason">
            {alias.state.reason}
          </p>
        )}
        {alias.source === 'config' && (
          <p className="deploy-hint">Declared in axon.config.yaml: the file’s settings come back at the next start.</p>
        )}
      </header>
      <Actions alias={alias} report={status.report} onDeleted={onDeleted} />
      <ArmsTable arms={status.arms} />
      {status.report && <Report report={status.report} />}
      {status.shadow && <Shadow shadow={status.shadow} />}
      <Versions versions={alias.versions} />
      <div className="grid gap-4 lg:grid-cols-2">
        <PolicyForm key={`${alias.name}:${alias.revision}:${alias.versions.length}`} alias={alias} />
        <AddVersionForm key={alias.name} alias={alias} />
      </div>
    </div>
  );
}

function Actions({ alias, report, onDeleted }: { alias: ModelAlias; report: ExperimentReport | null; onDeleted: () => void }) {
  const action = useDeploymentAction(alias.name);
  const remove = useDeleteDeployment();
  const targets = rollbackTargets(alias);
  const [target, setTarget] = useState<number | undefined>(targets[0]);
  const chosen = target !== undefined && targets.includes(target) ? target : targets[0];
  const [confirming, setConfirming] = useState<'rollback' | 'delete' | undefined>();
  const [error, setError] = useState<string | undefined>();
  const state = alias.state?.status;
  const live = isExperiment(alias) && (state === 'running' || state === 'paused');
  const policy = alias.policy;
  const promoteVersion =
    policy.type === 'canary'
      ? policy.candidate
      : policy.type === 'ab'
        ? policy.variants.find((v) => v.name === (alias.state?.winner ?? report?.leader))?.version
        : undefined;
  const run = (input: Parameters<typeof action.mutate>[0], done: string) =>
    action.mutate(input, {
      onSuccess: () => {
        setError(undefined);
        setConfirming(undefined);
        toast.success(done);
      },
      onError: (e) => {
        setConfirming(undefined);
        setError(describeError(e).message);
      },
    });

  return (
    <section aria-labelledby="deployment-actions" className="space-y-2">
      <h3 id="deployment-actions" className="text-sm font-semibold">
        Actions
      </h3>
      <div className="flex flex-wrap items-end gap-2">
        {live && promoteVersion !== undefined && (
          <Button
            variant="primary"
            disabled={action.isPending}
            onClick={() => run({ kind: 'promote', version: promoteVersion }, `v${promoteVersion} promoted: it serves all traffic`)}
          >
            <Trophy className="size-4" aria-hidden="true" /> Promote v{promoteVersion}
          </Button>
        )}
        {live && state === 'running' && (
          <Button disabled={action.isPending} onClick={() => run({ kind: 'pause' }, 'Paused: traffic stays as it is split now')}>
            <Pause className="size-4" aria-hidden="true" /> Pause
          </Button>
        )}
        {live && state === 'paused' && (
          <Button disabled={action.isPending} onClick={() => run({ kind: 'resume' }, 'Resumed')}>
            <Play className="size-4" aria-hidden="true" /> Resume
          </Button>
        )}
        {targets.length > 0 && (
          <div className="flex items-end gap-2">
            <div className="deploy-label">
              <label htmlFor="deployment-rollback-target">Roll back to</label>
              <select
                id="deployment-rollback-target"
                className="deploy-field"
                value={chosen}
                onChange={(e) => setTarget(Number(e.target.value))}
              >
                {targets.map((v) => (
                  <option key={v} value={v}>
                    v{v}
                  </option>
                ))}
              </select>
            </div>
            <Button disabled={action.isPending} onClick={() => setConfirming('rollback')}>
              <Undo2 className="size-4" aria-hidden="true" /> Roll back…
            </Button>
          </div>
        )}
        <div className="flex-1" />
        {alias.source === 'api' && (
          <Button variant="ghost" className="text-red-700 dark:text-red-400" onClick={() => setConfirming('delete')}>
            <Trash2 className="size-4" aria-hidden="true" /> Delete alias…
          </Button>
        )}
      </div>
      {!live && targets.length === 0 && (
        <p className="deploy-hint">Add a version, then start a canary or an A/B test below to move traffic to it.</p>
      )}
      <FormError error={error} />
      {confirming === 'rollback' && chosen !== undefined && (
        <DeploymentConfirmDialog
          title={`Roll ${alias.name} back to v${chosen}?`}
          confirmLabel={`Roll back to v${chosen}`}
          danger
          busy={action.isPending}
          onClose={() => setConfirming(undefined)}
          onConfirm={() => run({ kind: 'rollback', version: chosen }, `Rolled back: every request goes to v${chosen}`)}
        >
          Every request to {alias.name} goes to v{chosen} from now on; a running canary or A/B test stops.
        </DeploymentConfirmDialog>
      )}
      {confirming === 'delete' && (
        <DeploymentConfirmDialog
          title={`Delete ${alias.name}?`}
          confirmLabel="Delete alias"
          danger
          busy={remove.isPending}
          onClose={() => setConfirming(undefined)}
          onConfirm={() =>
            remove.mutate(alias.name, {
              onSuccess: () => {
                setConfirming(undefined);
                toast.success(`${alias.name} deleted`);
                onDeleted();
              },
              onError: (e) => {
                setConfirming(undefined);
                setError(describeError(e).message);
              },
            })
          }
        >
          Requests naming {alias.name} as their model fail from now on, and its versions and figures are gone.
        </DeploymentConfirmDialog>
      )}
    </section>
  );
}

/** Per-arm figures of the alias's current policy, as the server counts them. */
function ArmsTable({ arms }: { arms: ArmStats[] }) {
  const heads = ['Arm', 'Version', 'Requests', 'Errors', 'Error rate', 'TTFT p50', 'TTFT p95', 'Cost', 'Thumbs up', 'Thumbs down'];
  return (
    <div className="space-y-2">
      <h3 id="deployment-arms" className="text-sm font-semibold">
        Live figures <span className="deploy-hint font-normal">(since the policy last changed; refreshed every few seconds)</span>
      </h3>
      {arms.length === 0 ? (
        <p className="deploy-hint">No requests yet. Callers reach this alias by sending its name as the model.</p>
      ) : (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a table that scrolls sideways on a phone must be reachable by keyboard
        <section className="deploy-scroll" tabIndex={0} aria-labelledby="deployment-arms">
          <table className="deploy-table" aria-labelledby="deployment-arms">
            <thead>
              <tr>
                {heads.map((h) => (
                  <th key={h} scope="col">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {arms.map((arm) => {
                const rate = errorRate(arm);
                return (
                  <tr key={arm.arm} data-testid="arm-row" data-arm={arm.arm}>
                    <th scope="row">{arm.arm}</th>
                    <td>v{arm.version}</td>
                    <td data-testid="arm-requests">{arm.requests.toLocaleString('en')}</td>
                    <td>{arm.errors.toLocaleString('en')}</td>
                    <td>{rate === null ? '—' : formatPercent(rate * 100)}</td>
                    <td>{formatMs(arm.ttftP50Ms)}</td>
                    <td>{formatMs(arm.ttftP95Ms)}</td>
                    <td>{formatUsd(arm.costUsd)}</td>
                    <td>{arm.thumbsUp}</td>
                    <td>{arm.thumbsDown}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

/** The A/B test's sequential test: who leads, by how much, and whether it may stop. */
function Report({ report }: { report: ExperimentReport }) {
  const confidence = formatPercent((1 - report.delta) * 100);
  return (
    <section aria-labelledby="deployment-report" className="deploy-card space-y-2" data-testid="experiment-report">
      <h3 id="deployment-report" className="text-sm font-semibold">
        Experiment
      </h3>
      <dl className="deploy-facts">
        <dt>Leader</dt>
        <dd>{report.leader ?? 'none yet'}</dd>
        <dt>{report.metric === 'feedback' ? 'Thumbs-up share' : 'Success share'}</dt>
        <dd>
          {Object.entries(report.rates)
            .map(([arm, rate]) => `${arm} ${formatPercent(rate * 100)}`)
            .join(' · ') || '—'}
        </dd>
        <dt>GLR</dt>
        <dd>
          {report.glr === null || report.threshold === null ? '—' : `${report.glr.toFixed(2)} (needs ${report.threshold.toFixed(2)})`}
        </dd>
        <dt>Result</dt>
        <dd data-testid="experiment-verdict">
          {report.significant
            ? `significant at ${confidence}${report.leader ? `: ${report.leader} leads` : ''}`
            : `not yet: ${report.samples.toLocaleString('en')} samples`}
        </dd>
      </dl>
    </section>
  );
}

function Shadow({ shadow }: { shadow: NonNullable<DeploymentStatus['shadow']> }) {
  const ratio = (r: number | null) => (r === null ? '—' : `×${r.toFixed(2)}`);
  return (
    <section aria-labelledby="deployment-shadow" className="deploy-card space-y-2" data-testid="shadow-report">
      <h3 id="deployment-shadow" className="text-sm font-semibold">
        Shadow v{shadow.version} <span className="deploy-hint font-normal">(mirrored requests; its answers are never returned)</span>
      </h3>
      <dl className="deploy-facts">
        <dt>Requests mirrored</dt>
        <dd>{shadow.requests.toLocaleString('en')}</dd>
        <dt>Latency vs served</dt>
        <dd>{ratio(shadow.meanLatencyRatio)}</dd>
        <dt>Answer length vs served</dt>
        <dd>{ratio(shadow.meanLengthRatio)}</dd>
        <dt>Similarity to served</dt>
        <dd>{shadow.meanSimilarity === null ? '—' : formatPercent(shadow.meanSimilarity * 100)}</dd>
        <dt>Cost</dt>
        <dd>{formatUsd(shadow.costUsd)}</dd>
      </dl>
    </section>
  );
}

function Versions({ versions }: { versions: ModelVersion[] }) {
  const me = useSession().data?.user?.id;
  // Versions name their maker by account id: "you" reads better for one's own.
  const maker = (id: string | null) => (id === null ? '' : id === me ? ' by you' : ` by account ${id}`);
  return (
    <section aria-labelledby="deployment-versions" className="space-y-2">
      <h3 id="deployment-versions" className="text-sm font-semibold">
        Versions <span className="deploy-hint font-normal">(a version never changes; add one to change anything)</span>
      </h3>
      <ol className="space-y-2">
        {[...versions].reverse().map((v) => (
          <li key={v.version} className="deploy-card" data-testid="deployment-version" data-version={v.version}>
            <p className="text-sm font-medium">
              v{v.version} <span className="font-mono text-xs text-zinc-700 dark:text-zinc-300">{v.model}</span>
            </p>
            {v.note && <p className="text-sm text-zinc-700 dark:text-zinc-300">{v.note}</p>}
            <dl className="deploy-facts mt-1">
              <dt>Parameters</dt>
              <dd>{describeParams(v.params)}</dd>
              <dt>Prompt template</dt>
              <dd>{v.prompt ?? 'none'}</dd>
              <dt>Endpoints</dt>
              <dd>{describeEndpoints(v)}</dd>
              <dt>Fallbacks</dt>
              <dd>{v.fallbacks.length ? v.fallbacks.join(' → ') : 'none'}</dd>
              <dt>Created</dt>
              <dd>
                <time dateTime={v.createdAt}>{new Date(v.createdAt).toLocaleString()}</time>
                {maker(v.createdBy)}
              </dd>
            </dl>
          </li>
        ))}
      </ol>
    </section>
  );
}
