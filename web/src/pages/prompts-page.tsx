import type { PromptTemplate, PromptTemplateVersion } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { clsx } from 'clsx';
import { diffLines } from 'diff';
import { type FormEvent, useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';
import { ScrollBox } from '../ui/scroll-box';
import { readTemplateVariables } from './read-template-variables';

type TemplateWithVersions = PromptTemplate & { versions: PromptTemplateVersion[] };

const field =
  'mt-1 w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 font-mono text-xs text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100';
const label = 'block text-xs font-medium text-zinc-700 dark:text-zinc-300';

/** Prompt templates for builders: versions, a diff against the active one, activation (rollback), new versions, a try-out. */
export function PromptsPage() {
  const client = useQueryClient();
  const list = useQuery({ queryKey: ['prompts'], queryFn: () => api<{ items: PromptTemplate[] }>('GET', '/api/prompts') });
  const [selected, setSelected] = useState<string | undefined>();
  const current = selected ?? list.data?.items[0]?.id;
  const template = useQuery({
    queryKey: ['prompt', current],
    enabled: Boolean(current),
    queryFn: () => api<TemplateWithVersions>('GET', `/api/prompts/${current}`),
  });
  const refresh = () => client.invalidateQueries({ predicate: (q) => String(q.queryKey[0]).startsWith('prompt') });
  const create = useMutation({
    mutationFn: (body: unknown) => api<PromptTemplate>('POST', '/api/prompts', body),
    onSuccess: (created) => {
      void refresh();
      setSelected(created.id);
      toast.success('Template created');
    },
    onError: (e) => toast.error(describeError(e).message),
  });
  const [name, setName] = useState('');

  return (
    <main className="mx-auto flex h-full w-full max-w-6xl flex-col gap-6 overflow-y-auto p-4 sm:p-6 md:flex-row">
      <aside className="shrink-0 md:w-56">
        <h1 className="mb-3 text-xl font-semibold">Prompts</h1>
        <ul className="mb-4 space-y-1 text-sm">
          {list.data?.items.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                onClick={() => setSelected(p.id)}
                className={clsx(
                  'w-full rounded-lg px-2 py-1 text-left',
                  p.id === current ? 'bg-zinc-200 dark:bg-zinc-800' : 'hover:bg-zinc-100 dark:hover:bg-zinc-900',
                )}
              >
                {p.name} <span className="text-xs text-zinc-500 dark:text-zinc-400">v{p.activeVersion}</span>
              </button>
            </li>
          ))}
        </ul>
        <form
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            create.mutate({ name: name.trim(), system: 'You are a helpful assistant.', message: '', variables: [] });
            setName('');
          }}
          className="flex gap-1"
        >
          <input
            aria-label="New template name"
            placeholder="new-template"
            value={name}
            onChange={(e) => setName(e.target.value)}
            className={field}
          />
          <Button type="submit" variant="secondary" disabled={!name.trim()}>
            Add
          </Button>
        </form>
      </aside>
      <section className="min-w-0 flex-1">
        {template.data && <TemplateDetail key={template.data.id} template={template.data} onChange={refresh} />}
        {list.data?.items.length === 0 && <p className="text-sm text-zinc-500 dark:text-zinc-400">No templates yet.</p>}
      </section>
    </main>
  );
}

function TemplateDetail({ template, onChange }: { template: TemplateWithVersions; onChange: () => void }) {
  const active = template.versions.find((v) => v.version === template.activeVersion) as PromptTemplateVersion;
  const [compare, setCompare] = useState<number | undefined>(template.versions.find((v) => v.version !== template.activeVersion)?.version);
  const [system, setSystem] = useState(active.system);
  const [message, setMessage] = useState(active.message);
  const [variables, setVariables] = useState(JSON.stringify(active.variables, null, 2));
  const [note, setNote] = useState('');
  const [tryVars, setTryVars] = useState('{}');
  const [tryInput, setTryInput] = useState('What were the main results this quarter?');
  const [variablesError, setVariablesError] = useState<string | undefined>();
  const [tried, setTried] = useState<{ system: string; message: string } | undefined>();
  const onError = (e: unknown) => toast.error(describeError(e).message);
  const activate = useMutation({
    mutationFn: (version: number) => api('POST', `/api/prompts/${template.id}/activate`, { version }),
    onSuccess: () => {
      onChange();
      toast.success('Active version changed');
    },
    onError,
  });
  const save = useMutation({
    mutationFn: (activateIt: boolean) => {
      const read = readTemplateVariables(variables);
      if ('error' in read) throw new Error(read.error);
      return api<PromptTemplateVersion>('POST', `/api/prompts/${template.id}/versions`, {
        system,
        message,
        variables: read.variables,
        note,
        activate: activateIt,
      });
    },
    onSuccess: (v) => {
      onChange();
      setNote('');
      toast.success(`Version ${v.version} saved`);
    },
    onError,
  });
  const other = template.versions.find((v) => v.version === compare);
  const text = (v: PromptTemplateVersion) =>
    `SYSTEM\n${v.system}\n\nMESSAGE\n${v.message}\n\nVARIABLES\n${JSON.stringify(v.variables, null, 2)}\n`;

  return (
    <div className="space-y-6">
      <div>
        <h2 className="text-lg font-semibold">{template.name}</h2>
        <p className="text-sm text-zinc-500 dark:text-zinc-400">{template.description}</p>
      </div>
      <ScrollBox label="Versions">
        <table className="w-full text-left text-sm">
          <thead className="text-xs text-zinc-500 dark:text-zinc-400">
            <tr>
              <th className="py-1 font-medium">Version</th>
              <th className="py-1 font-medium">Note</th>
              <th className="py-1 font-medium">Saved</th>
              <th className="py-1" />
            </tr>
          </thead>
          <tbody>
            {template.versions.map((v) => (
              <tr key={v.version} data-testid="prompt-version" className="border-t border-zinc-100 dark:border-zinc-800">
                <td className="py-1.5">
                  v{v.version}{' '}
                  {v.version === template.activeVersion && (
                    <span className="rounded bg-emerald-100 px-1 text-xs text-emerald-800 dark:bg-emerald-900 dark:text-emerald-200">
                      active
                    </span>
                  )}
                </td>
                <td className="py-1.5">{v.note}</td>
                <td className="py-1.5 text-xs text-zinc-500 dark:text-zinc-400">{new Date(v.createdAt).toLocaleString()}</td>
                <td className="space-x-2 py-1.5 text-right">
                  {v.version !== template.activeVersion && (
                    <>
                      <Button variant="secondary" onClick={() => setCompare(v.version)}>
                        Compare
                      </Button>
                      <Button variant="secondary" onClick={() => activate.mutate(v.version)}>
                        Activate v{v.version}
                      </Button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollBox>
      {other && (
        <div>
          <h3 className="mb-1 text-sm font-medium">
            Changes from v{template.activeVersion} (active) to v{other.version}
          </h3>
          <pre data-testid="prompt-diff" className="overflow-x-auto rounded-lg border border-zinc-200 p-2 text-xs dark:border-zinc-800">
            {diffLines(text(active), text(other)).map((part, i) => (
              <span
                // biome-ignore lint/suspicious/noArrayIndexKey: the parts of one diff, in order
                key={i}
                className={
                  part.added
                    ? 'bg-emerald-100 dark:bg-emerald-950'
                    : part.removed
                      ? 'bg-red-100 line-through dark:bg-red-950'
                      : 'text-zinc-500 dark:text-zinc-400'
                }
              >
                {part.value}
              </span>
            ))}
          </pre>
        </div>
      )}
      <div className="space-y-2">
        <h3 className="text-sm font-medium">New version</h3>
        <label className={label}>
          System prompt (Liquid: {'{{ variable }}'})
          <textarea aria-label="System prompt" rows={4} value={system} onChange={(e) => setSystem(e.target.value)} className={field} />
        </label>
        <label className={label}>
          Message template ({'{{ input }}'} is what the user wrote; empty keeps it as written)
          <textarea aria-label="Message template" rows={2} value={message} onChange={(e) => setMessage(e.target.value)} className={field} />
        </label>
        <label className={label}>
          Variables (JSON: a list, or names and defaults like {'{"company": "Acme"}'})
          <textarea
            aria-label="Variables"
            aria-invalid={variablesError ? true : undefined}
            aria-describedby={variablesError ? 'variables-error' : undefined}
            rows={3}
            value={variables}
            onChange={(e) => setVariables(e.target.value)}
            onBlur={() => {
              const read = readTemplateVariables(variables);
              setVariablesError('error' in read ? read.error : undefined);
            }}
            className={field}
          />
        </label>
        {variablesError && (
          <p id="variables-error" role="alert" className="text-xs text-red-700 dark:text-red-400">
            {variablesError}
          </p>
        )}
        <input aria-label="Note" placeholder="What changed" value={note} onChange={(e) => setNote(e.target.value)} className={field} />
        <div className="flex flex-wrap gap-2">
          <Button variant="secondary" onClick={() => save.mutate(false)}>
            Save as new version
          </Button>
          <Button variant="primary" onClick={() => save.mutate(true)}>
            Save and activate
          </Button>
        </div>
      </div>
      <div className="space-y-2">
        <h3 className="text-sm font-medium">Try the active version</h3>
        <label className={label}>
          Example message (what a person writes; it fills {'{{ input }}'})
          <textarea aria-label="Try message" rows={2} value={tryInput} onChange={(e) => setTryInput(e.target.value)} className={field} />
        </label>
        <label className={label}>
          Variables for the try (JSON object of names and values)
          <textarea aria-label="Try variables" rows={2} value={tryVars} onChange={(e) => setTryVars(e.target.value)} className={field} />
        </label>
        <Button
          variant="secondary"
          onClick={() => {
            let vars: unknown;
            try {
              vars = JSON.parse(tryVars);
            } catch {
              return toast.error('The variables for the try must be a JSON object, like {"company": "Acme"}');
            }
            api<{ system: string; message: string }>('POST', `/api/prompts/${template.id}/render`, {
              variables: vars,
              input: tryInput,
            })
              .then(setTried)
              .catch(onError);
          }}
        >
          Render
        </Button>
        {tried && (
          <pre
            data-testid="prompt-rendered"
            className="whitespace-pre-wrap rounded-lg bg-zinc-100 p-2 text-xs text-zinc-900 dark:bg-zinc-900 dark:text-zinc-100"
          >
            {tried.system}
            {'\n\n'}
            {tried.message}
          </pre>
        )}
      </div>
    </div>
  );
}
