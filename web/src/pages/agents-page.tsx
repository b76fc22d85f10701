import type { Agent, AgentConfig, AgentVersion, Collection, Dataset, ModelList } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { clsx } from 'clsx';
import { type FormEvent, useEffect, useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';

type AgentWithVersions = Agent & { versions: AgentVersion[] };
interface GrantableTool {
  name: string;
  description: string;
  source: string;
  status: string;
  changesThings: boolean;
}

const field = 'mt-1 w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-900';
const label = 'block text-xs font-medium text-zinc-700 dark:text-zinc-300';

const EMPTY_CONFIG: AgentConfig = {
  model: '',
  prompt: null,
  instructions: '',
  tools: [],
  collections: [],
  datasets: [],
  budgets: { maxSteps: 8, maxSeconds: 120, maxTokens: 60_000 },
  output: 'text',
};

/** Checkboxes for a list of names: which of them are picked. */
function Picks({
  legend,
  options,
  picked,
  onChange,
}: {
  legend: string;
  options: Array<{ value: string; label: string; note?: string }>;
  picked: string[];
  onChange: (v: string[]) => void;
}) {
  return (
    <fieldset className="rounded-lg border border-zinc-200 p-2 dark:border-zinc-800">
      <legend className={clsx(label, 'px-1')}>{legend}</legend>
      {options.length === 0 && <p className="text-xs text-zinc-500 dark:text-zinc-400">None yet.</p>}
      {options.map((o) => (
        <label key={o.value} className="flex items-start gap-2 py-0.5 text-sm">
          <input
            type="checkbox"
            className="mt-1"
            checked={picked.includes(o.value)}
            onChange={(e) => onChange(e.target.checked ? [...picked, o.value] : picked.filter((p) => p !== o.value))}
          />
          <span>
            <span className="font-mono text-xs">{o.label}</span>
            {o.note && <span className="block text-xs text-zinc-500 dark:text-zinc-400">{o.note}</span>}
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/** Edits a configuration: model, instructions, tools, collections, datasets, budgets. */
function ConfigForm({
  initial,
  onSubmit,
  submitLabel,
  busy,
  withIdentity,
}: {
  initial: AgentConfig;
  onSubmit: (config: AgentConfig, identity: { slug: string; name: string; description: string; note: string }) => void;
  submitLabel: string;
  busy: boolean;
  withIdentity: boolean;
}) {
  const [config, setConfig] = useState<AgentConfig>(initial);
  const [identity, setIdentity] = useState({ slug: '', name: '', description: '', note: '' });
  useEffect(() => setConfig(initial), [initial]);
  const models = useQuery({ queryKey: ['models'], queryFn: () => api<ModelList>('GET', '/api/models') });
  const tools = useQuery({
    queryKey: ['agent-tools'],
    queryFn: () => api<{ tools: GrantableTool[]; datasets: Dataset[] }>('GET', '/api/agent-tools'),
  });
  const collections = useQuery({ queryKey: ['collections'], queryFn: () => api<{ items: Collection[] }>('GET', '/api/collections') });
  const set = (patch: Partial<AgentConfig>) => setConfig((c) => ({ ...c, ...patch }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(config, identity);
  };
  return (
    <form onSubmit={submit} className="space-y-3" aria-label={submitLabel}>
      {withIdentity && (
        <div className="grid gap-3 sm:grid-cols-2">
          <label className={label}>
            Name
            <input className={field} required value={identity.name} onChange={(e) => setIdentity({ ...identity, name: e.target.value })} />
          </label>
          <label className={label}>
            Slug (model id agent/slug)
            <input
              className={field}
              required
              pattern="[a-z0-9][a-z0-9-]{0,39}"
              value={identity.slug}
              onChange={(e) => setIdentity({ ...identity, slug: e.target.value })}
            />
          </label>
          <label className={clsx(label, 'sm:col-span-2')}>
            Description
            <input
              className={field}
              value={identity.description}
              onChange={(e) => setIdentity({ ...identity, description: e.target.value })}
            />
          </label>
        </div>
      )}
      <label className={label}>
        Planner model
        <select className={field} value={config.model} onChange={(e) => set({ model: e.target.value })}>
          <option value="">The server’s default model</option>
          {models.data?.models
            .filter((m) => m.connection !== 'agent')
            .map((m) => (
              <option key={m.id} value={m.id}>
                {m.id}
              </option>
            ))}
        </select>
      </label>
      <label className={label}>
        Instructions
        <textarea
          className={clsx(field, 'h-24 font-mono text-xs')}
          value={config.instructions}
          onChange={(e) => set({ instructions: e.target.value })}
        />
      </label>
      <label className={label}>
        Prompt template (name or name@version, optional)
        <input className={field} value={config.prompt ?? ''} onChange={(e) => set({ prompt: e.target.value.trim() || null })} />
      </label>
      <div className="grid gap-3 sm:grid-cols-3">
        <Picks
          legend="Tools"
          options={(tools.data?.tools ?? []).map((t) => ({
            value: t.name,
            label: t.name,
            note: `${t.source}${t.status !== 'approved' ? ` · ${t.status}` : ''}${t.changesThings ? ' · asks the user first' : ''}`,
          }))}
          picked={config.tools.map((t) => t.name)}
          onChange={(names) => set({ tools: names.map((name) => config.tools.find((t) => t.name === name) ?? { name }) })}
        />
        <Picks
          legend="Collections"
          options={(collections.data?.items ?? []).map((c) => ({ value: c.id, label: c.name }))}
          picked={config.collections}
          onChange={(collections) => set({ collections })}
        />
        <Picks
          legend="Datasets"
          options={(tools.data?.datasets ?? []).map((d) => ({ value: d.name, label: d.name, note: d.description }))}
          picked={config.datasets}
          onChange={(datasets) => set({ datasets })}
        />
      </div>
      <div className="grid gap-3 sm:grid-cols-4">
        <label className={label}>
          Steps at most
          <input
            type="number"
            min={1}
            max={50}
            className={field}
            value={config.budgets.maxSteps}
            onChange={(e) => set({ budgets: { ...config.budgets, maxSteps: Number(e.target.value) } })}
          />
        </label>
        <label className={label}>
          Seconds at most
          <input
            type="number"
            min={1}
            max={900}
            className={field}
            value={config.budgets.maxSeconds}
            onChange={(e) => set({ budgets: { ...config.budgets, maxSeconds: Number(e.target.value) } })}
          />
        </label>
        <label className={label}>
          Tokens at most
          <input
            type="number"
            min={100}
            className={field}
            value={config.budgets.maxTokens}
            onChange={(e) => set({ budgets: { ...config.budgets, maxTokens: Number(e.target.value) } })}
          />
        </label>
        <label className={label}>
          Answers
          <select className={field} value={config.output} onChange={(e) => set({ output: e.target.value as AgentConfig['output'] })}>
            <option value="text">Text</option>
            <option value="treasury-summary">Treasury summary</option>
          </select>
        </label>
      </div>
      <label className={label}>
        Note for this version
        <input className={field} value={identity.note} onChange={(e) => setIdentity({ ...identity, note: e.target.value })} />
      </label>
      <Button type="submit" variant="primary" disabled={busy}>
        {submitLabel}
      </Button>
    </form>
  );
}

/** Agents for builders: list, create, new versions (active at once), activate an older one. Members use them from the model picker. */
export function AgentsPage() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: ['agents'], queryFn: () => api<{ items: Agent[] }>('GET', '/api/agents') });
  const [selected, setSelected] = useState<string | 'new' | undefined>();
  const current = selected ?? list.data?.items[0]?.id ?? 'new';
  const agent = useQuery({
    queryKey: ['agent', current],
    enabled: current !== 'new',
    queryFn: () => api<AgentWithVersions>('GET', `/api/agents/${current}`),
  });
  const refresh = () => client.invalidateQueries({ predicate: (q) => ['agents', 'agent', 'models'].includes(String(q.queryKey[0])) });
  const onError = (e: unknown) => toast.error(describeError(e).message);
  const create = useMutation({
    mutationFn: (body: unknown) => api<Agent>('POST', '/api/agents', body),
    onSuccess: (created) => {
      void refresh();
      setSelected(created.id);
      toast.success(`Agent ${created.modelId} created`);
    },
    onError,
  });
  const version = useMutation({
    mutationFn: (body: { config: AgentConfig; note: string }) =>
      api<Agent>('POST', `/api/agents/${current}/versions`, { ...body, activate: true }),
    onSuccess: (updated) => {
      void refresh();
      toast.success(`Version ${updated.activeVersion} is active`);
    },
    onError,
  });
  const activate = useMutation({
    mutationFn: (v: number) => api<Agent>('POST', `/api/agents/${current}/activate`, { version: v }),
    onSuccess: () => void refresh(),
    onError,
  });

  return (
    <main className="mx-auto flex h-full w-full max-w-6xl gap-6 overflow-y-auto p-6">
      <aside className="w-56 shrink-0">
        <h1 className="mb-3 text-xl font-semibold">Agents</h1>
        <ul className="mb-4 space-y-1 text-sm">
          {list.data?.items.map((a) => (
            <li key={a.id}>
              <button
                type="button"
                onClick={() => setSelected(a.id)}
                className={clsx(
                  'w-full rounded-lg px-2 py-1 text-left',
                  a.id === current ? 'bg-zinc-200 dark:bg-zinc-800' : 'hover:bg-zinc-100 dark:hover:bg-zinc-900',
                )}
              >
                {a.name} <span className="text-xs text-zinc-500 dark:text-zinc-400">v{a.activeVersion}</span>
              </button>
            </li>
          ))}
        </ul>
        <Button onClick={() => setSelected('new')}>New agent</Button>
      </aside>
      <section className="min-w-0 flex-1">
        {current === 'new' ? (
          <>
            <h2 className="mb-3 text-lg font-semibold">New agent</h2>
            <ConfigForm
              initial={EMPTY_CONFIG}
              withIdentity
              busy={create.isPending}
              submitLabel="Create agent"
              onSubmit={(config, { slug, name, description, note }) => create.mutate({ slug, name, description, note, config })}
            />
          </>
        ) : agent.data ? (
          <>
            <h2 className="text-lg font-semibold">{agent.data.name}</h2>
            <p className="mb-3 text-sm text-zinc-500 dark:text-zinc-400">
              <span className="font-mono">{agent.data.modelId}</span> · active version {agent.data.activeVersion} of{' '}
              {agent.data.latestVersion}
              {agent.data.description ? ` · ${agent.data.description}` : ''}
            </p>
            <ConfigForm
              initial={agent.data.config}
              withIdentity={false}
              busy={version.isPending}
              submitLabel="Save as new version"
              onSubmit={(config, { note }) => version.mutate({ config, note })}
            />
            <h3 className="mt-6 mb-2 font-semibold">Versions</h3>
            <ul className="space-y-1 text-sm">
              {agent.data.versions.map((v) => (
                <li key={v.version} className="flex items-center gap-2">
                  <span className="font-mono">v{v.version}</span>
                  <span className="text-zinc-500 dark:text-zinc-400">{new Date(v.createdAt).toLocaleString()}</span>
                  {v.note && <span>{v.note}</span>}
                  {v.version === agent.data.activeVersion ? (
                    <span className="rounded bg-emerald-50 px-1.5 text-xs text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200">
                      active
                    </span>
                  ) : (
                    <Button className="py-0.5 text-xs" onClick={() => activate.mutate(v.version)}>
                      Activate
                    </Button>
                  )}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">Loading…</p>
        )}
      </section>
    </main>
  );
}
