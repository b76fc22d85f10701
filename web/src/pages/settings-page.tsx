import type { ApiKeyScope } from '@axon/contracts';
import { type FormEvent, useState } from 'react';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import { useApiKeys, useCreateApiKey, usePromptTemplates, useRevokeApiKey, useSession } from '../api/queries';
import { CopyButton } from '../chat/markdown';
import { Button } from '../ui/button';
import { TextField } from '../ui/text-field';
import { InstructionsSection } from './instructions-section';
import { SessionsSection } from './sessions-section';

/** The person's default instructions, their own API keys (create, shown once, and revoke) and the sessions signed in to their account. */
export function SettingsPage() {
  const keys = useApiKeys();
  const create = useCreateApiKey();
  const revoke = useRevokeApiKey();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>(['chat', 'embeddings']);
  const [expiresInDays, setExpiresInDays] = useState<number | null>(null);
  const [prompt, setPrompt] = useState('');
  const [model, setModel] = useState('');
  const templates = usePromptTemplates();
  const isAdmin = useSession().data?.user?.role === 'admin';
  const [shown, setShown] = useState<string | undefined>();

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { name: name.trim(), scopes, expiresInDays, prompt: prompt || null, model: model.trim() || null },
      {
        onSuccess: (created) => {
          setShown(created.key);
          setName('');
        },
        onError: (e) => toast.error(describeError(e).message),
      },
    );
  };

  return (
    <main className="mx-auto w-full max-w-3xl overflow-y-auto p-6">
      <InstructionsSection />
      <h1 className="mb-1 text-xl font-semibold">API keys</h1>
      <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">
        Use a key with any OpenAI client: base URL{' '}
        <code className="rounded bg-zinc-100 px-1 dark:bg-zinc-800">{`${window.location.origin}/v1`}</code>, header{' '}
        <code className="rounded bg-zinc-100 px-1 dark:bg-zinc-800">Authorization: Bearer axn_…</code>.
      </p>
      <form onSubmit={submit} className="mb-6 flex flex-wrap items-end gap-2">
        <TextField
          label="Key name"
          className="flex-1"
          required
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. laptop script"
        />
        <fieldset className="flex items-center gap-3 pb-2 text-sm">
          <legend className="sr-only">Scopes</legend>
          {(['chat', 'embeddings', ...(isAdmin ? ['admin'] : [])] as ApiKeyScope[]).map((scope) => (
            <label key={scope} className="flex items-center gap-1">
              <input
                type="checkbox"
                checked={scopes.includes(scope)}
                onChange={(e) => setScopes((current) => (e.target.checked ? [...current, scope] : current.filter((s) => s !== scope)))}
              />
              {scope}
            </label>
          ))}
        </fieldset>
        <label className="flex flex-col gap-1 text-sm">
          <span className="text-zinc-600 dark:text-zinc-400">Expires</span>
          <select
            aria-label="Expires"
            value={expiresInDays ?? ''}
            onChange={(e) => setExpiresInDays(e.target.value ? Number(e.target.value) : null)}
            className="rounded-lg border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-900"
          >
            <option value="">never</option>
            <option value="30">in 30 days</option>
            <option value="90">in 90 days</option>
            <option value="365">in a year</option>
          </select>
        </label>
        {(templates.data?.items.length ?? 0) > 0 && (
          <label className="flex flex-col gap-1 text-sm">
            <span className="text-zinc-600 dark:text-zinc-400">Prompt template</span>
            <select
              aria-label="Prompt template"
              value={prompt}
              onChange={(e) => setPrompt(e.target.value)}
              className="rounded-lg border border-zinc-300 bg-transparent px-2 py-1.5 dark:border-zinc-700 dark:bg-zinc-900"
            >
              <option value="">none</option>
              {templates.data?.items.map((t) => (
                <option key={t.id} value={t.name}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
        )}
        <TextField
          label="Model"
          maxLength={200}
          value={model}
          onChange={(e) => setModel(e.target.value)}
          placeholder="default, or e.g. chat-default@3"
        />
        <Button type="submit" variant="primary" disabled={create.isPending || !name.trim() || scopes.length === 0}>
          Create key
        </Button>
      </form>
      {shown && (
        <div
          role="status"
          className="mb-6 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950"
        >
          <p className="mb-2 font-medium">Copy your new key now. It will not be shown again.</p>
          <div className="flex items-center gap-2 rounded bg-zinc-900 p-2 font-mono text-xs text-zinc-100">
            <span data-testid="new-api-key" className="flex-1 break-all">
              {shown}
            </span>
            <CopyButton text={shown} label="Copy key" />
          </div>
        </div>
      )}
      {keys.isError && <p role="alert">{describeError(keys.error).message}</p>}
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <thead className="text-xs text-zinc-500 dark:text-zinc-400">
            <tr>
              <th className="py-2 pr-3 font-medium">Name</th>
              <th className="py-2 pr-3 font-medium">Key</th>
              <th className="py-2 pr-3 font-medium">Scopes</th>
              <th className="py-2 pr-3 font-medium">Created</th>
              <th className="py-2 pr-3 font-medium">Expires</th>
              <th className="py-2 pr-3 font-medium">Last used</th>
              <th className="py-2 font-medium">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {keys.data?.items.length === 0 && (
              <tr>
                <td colSpan={7} className="py-3 text-zinc-500 dark:text-zinc-400">
                  No keys yet.
                </td>
              </tr>
            )}
            {keys.data?.items.map((key) => (
              <tr key={key.id} className="border-t border-zinc-200 dark:border-zinc-800">
                <td className="py-2 pr-3">{key.name}</td>
                <td className="py-2 pr-3 font-mono text-xs">{key.prefix}…</td>
                <td className="py-2 pr-3 text-xs">
                  {key.scopes.join(', ')}
                  {key.prompt ? ` · template ${key.prompt}` : ''}
                  {key.model ? ` · model ${key.model}` : ''}
                </td>
                <td className="py-2 pr-3">{new Date(key.createdAt).toLocaleDateString()}</td>
                <td className="py-2 pr-3">{key.expiresAt ? new Date(key.expiresAt).toLocaleDateString() : 'never'}</td>
                <td className="py-2 pr-3">{key.lastUsedAt ? new Date(key.lastUsedAt).toLocaleString() : 'never'}</td>
                <td className="py-2 text-right">
                  {key.revokedAt ? (
                    <span className="text-xs text-zinc-500 dark:text-zinc-400">revoked</span>
                  ) : (
                    <Button
                      variant="secondary"
                      onClick={() => {
                        if (window.confirm(`Revoke “${key.name}”? Programs using it stop working.`)) {
                          revoke.mutate(key.id, {
                            onSuccess: () => toast.success('Key revoked'),
                            onError: (e) => toast.error(describeError(e).message),
                          });
                        }
                      }}
                    >
                      Revoke
                    </Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <SessionsSection />
    </main>
  );
}
