import type { Dataset, McpServer } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { clsx } from 'clsx';
import { type FormEvent, useEffect, useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';

const field = 'mt-1 w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-900';
const label = 'block text-xs font-medium text-zinc-700 dark:text-zinc-300';

/** Reads `NAME=value` lines (environment) or `Name: value` lines (headers). */
function readPairs(text: string, separator: '=' | ':'): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(separator);
    if (at > 0) pairs[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return pairs;
}

/** Registers an MCP server: a command run over stdio, or a streamable HTTP URL, with its secrets. */
function RegisterServer({ onDone }: { onDone: () => void }) {
  const [transport, setTransport] = useState<'stdio' | 'http'>('http');
  const [form, setForm] = useState({ name: '', command: '', args: '', url: '', secrets: '' });
  const register = useMutation({
    mutationFn: (body: unknown) => api<McpServer>('POST', '/api/admin/mcp-servers', body),
    onSuccess: (server) => {
      toast.success(
        server.lastError
          ? `Registered ${server.name}, but it cannot be reached: ${server.lastError}`
          : `Registered ${server.name}: ${server.tools.length} tools to review`,
      );
      setForm({ name: '', command: '', args: '', url: '', secrets: '' });
      onDone();
    },
    onError: (e) => toast.error(describeError(e).message),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    register.mutate(
      transport === 'stdio'
        ? {
            name: form.name,
            transport,
            command: form.command,
            args: form.args
              .split('\n')
              .map((a) => a.trim())
              .filter(Boolean),
            env: readPairs(form.secrets, '='),
          }
        : { name: form.name, transport, url: form.url, headers: readPairs(form.secrets, ':') },
    );
  };
  return (
    <form
      onSubmit={submit}
      className="space-y-2 rounded-xl border border-zinc-200 p-3 dark:border-zinc-800"
      aria-label="Register an MCP server"
    >
      <h3 className="font-semibold">Register an MCP server</h3>
      <div className="grid gap-2 sm:grid-cols-2">
        <label className={label}>
          Name
          <input
            className={field}
            required
            pattern="[a-z0-9][a-z0-9-]{0,39}"
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
        </label>
        <label className={label}>
          Transport
          <select className={field} value={transport} onChange={(e) => setTransport(e.target.value as 'stdio' | 'http')}>
            <option value="http">Streamable HTTP</option>
            <option value="stdio">Command (stdio)</option>
          </select>
        </label>
      </div>
      {transport === 'http' ? (
        <label className={label}>
          URL
          <input className={field} required type="url" value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />
        </label>
      ) : (
        <div className="grid gap-2 sm:grid-cols-2">
          <label className={label}>
            Command
            <input className={field} required value={form.command} onChange={(e) => setForm({ ...form, command: e.target.value })} />
          </label>
          <label className={label}>
            Arguments (one per line)
            <textarea
              className={clsx(field, 'h-16 font-mono text-xs')}
              value={form.args}
              onChange={(e) => setForm({ ...form, args: e.target.value })}
            />
          </label>
        </div>
      )}
      <label className={label}>
        {transport === 'http' ? 'Headers (Name: value per line; kept secret)' : 'Environment (NAME=value per line; kept secret)'}
        <textarea
          className={clsx(field, 'h-16 font-mono text-xs')}
          value={form.secrets}
          onChange={(e) => setForm({ ...form, secrets: e.target.value })}
        />
      </label>
      <Button type="submit" variant="primary" disabled={register.isPending}>
        Register
      </Button>
    </form>
  );
}

/** Tools for admins: MCP servers and the approval of each tool (by its hash), datasets, the URL tool's allow-list. */
export function ToolsPage() {
  const client = useQueryClient();
  const servers = useQuery({ queryKey: ['mcp-servers'], queryFn: () => api<{ items: McpServer[] }>('GET', '/api/admin/mcp-servers') });
  const datasets = useQuery({ queryKey: ['datasets'], queryFn: () => api<{ items: Dataset[] }>('GET', '/api/admin/datasets') });
  const allowList = useQuery({
    queryKey: ['fetch-allow-list'],
    queryFn: () => api<{ hosts: string[] }>('GET', '/api/admin/fetch-allow-list'),
  });
  const [hosts, setHosts] = useState('');
  useEffect(() => setHosts(allowList.data?.hosts.join('\n') ?? ''), [allowList.data]);
  const refresh = () => client.invalidateQueries({ queryKey: ['mcp-servers'] });
  const onError = (e: unknown) => toast.error(describeError(e).message);
  const approve = useMutation({
    mutationFn: (input: { server: string; tool: string; hash: string; approval: string }) =>
      api('POST', `/api/admin/mcp-servers/${input.server}/approve`, { tool: input.tool, hash: input.hash, approval: input.approval }),
    onSuccess: () => void refresh(),
    onError,
  });
  const relist = useMutation({
    mutationFn: (id: string) => api('POST', `/api/admin/mcp-servers/${id}/refresh`),
    onSuccess: () => void refresh(),
    onError,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api('DELETE', `/api/admin/mcp-servers/${id}`),
    onSuccess: () => void refresh(),
    onError,
  });
  const saveHosts = useMutation({
    mutationFn: () =>
      api('PUT', '/api/admin/fetch-allow-list', {
        hosts: hosts
          .split('\n')
          .map((h) => h.trim())
          .filter(Boolean),
      }),
    onSuccess: () => {
      toast.success('Allow-list saved');
      void client.invalidateQueries({ queryKey: ['fetch-allow-list'] });
    },
    onError,
  });
  const [approvals, setApprovals] = useState<Record<string, string>>({});

  return (
    <main className="mx-auto h-full w-full max-w-5xl space-y-6 overflow-y-auto p-6">
      <h1 className="text-xl font-semibold">Tools</h1>
      <section className="space-y-3" aria-label="MCP servers">
        <h2 className="text-lg font-semibold">MCP servers</h2>
        {servers.data?.items.length === 0 && (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">
            No MCP servers yet. Register one below; its tools become grantable once you approve them.
          </p>
        )}
        {servers.data?.items.map((server) => (
          <article key={server.id} className="rounded-xl border border-zinc-200 p-3 dark:border-zinc-800" data-testid="mcp-server">
            <header className="flex flex-wrap items-center gap-2">
              <h3 className="font-semibold">{server.name}</h3>
              <span className="font-mono text-xs text-zinc-500 dark:text-zinc-400">
                {server.transport === 'stdio' ? `${server.command} ${server.args.join(' ')}` : server.url}
              </span>
              {server.secretNames.length > 0 && (
                <span className="text-xs text-zinc-500 dark:text-zinc-400">secrets: {server.secretNames.join(', ')}</span>
              )}
              <span className="flex-1" />
              <Button className="py-0.5 text-xs" onClick={() => relist.mutate(server.id)}>
                Refresh
              </Button>
              <Button className="py-0.5 text-xs" variant="danger" onClick={() => remove.mutate(server.id)}>
                Remove
              </Button>
            </header>
            {server.lastError && (
              <p role="alert" className="mt-1 text-sm text-red-700 dark:text-red-300">
                Cannot be reached: {server.lastError}
              </p>
            )}
            <table className="mt-2 w-full text-left text-sm">
              <thead className="text-xs text-zinc-500 dark:text-zinc-400">
                <tr>
                  <th className="font-medium">Tool</th>
                  <th className="font-medium">Status</th>
                  <th className="font-medium">Asks the user</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {server.tools.map((tool) => {
                  const key = `${server.id}/${tool.name}`;
                  return (
                    <tr
                      key={tool.name}
                      className="border-t border-zinc-100 align-top dark:border-zinc-900"
                      data-testid="mcp-tool"
                      data-status={tool.status}
                    >
                      <td className="py-1 pr-2">
                        <span className="font-mono text-xs">{tool.grantName}</span>
                        <span className="block text-xs text-zinc-500 dark:text-zinc-400">{tool.description}</span>
                        <span className="block font-mono text-[10px] text-zinc-400">sha256 {tool.hash.slice(0, 16)}…</span>
                      </td>
                      <td
                        className={clsx('py-1 pr-2 text-xs', tool.status === 'changed' && 'font-semibold text-red-700 dark:text-red-300')}
                      >
                        {tool.status === 'changed' ? 'changed since approval: disabled' : tool.status}
                      </td>
                      <td className="py-1 pr-2">
                        <select
                          aria-label={`When ${tool.name} asks the user`}
                          className="rounded border border-zinc-300 bg-white px-1 text-xs dark:border-zinc-700 dark:bg-zinc-900"
                          value={approvals[key] ?? tool.approval}
                          onChange={(e) => setApprovals({ ...approvals, [key]: e.target.value })}
                        >
                          <option value="auto">{tool.readOnly ? 'auto (read-only: no)' : 'auto (changes things: yes)'}</option>
                          <option value="always">always</option>
                          <option value="never">never</option>
                        </select>
                      </td>
                      <td className="py-1 text-right">
                        {(tool.status !== 'approved' || (approvals[key] && approvals[key] !== tool.approval)) && (
                          <Button
                            className="py-0.5 text-xs"
                            variant="primary"
                            onClick={() =>
                              approve.mutate({
                                server: server.id,
                                tool: tool.name,
                                hash: tool.hash,
                                approval: approvals[key] ?? tool.approval,
                              })
                            }
                          >
                            Approve
                          </Button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </article>
        ))}
        <RegisterServer onDone={() => void refresh()} />
      </section>
      <section aria-label="Datasets">
        <h2 className="mb-2 text-lg font-semibold">Datasets</h2>
        {datasets.data?.items.length === 0 && (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">No datasets yet (npx axon demo finance loads treasury_yields).</p>
        )}
        <ul className="space-y-1 text-sm">
          {datasets.data?.items.map((d) => (
            <li key={d.name}>
              <span className="font-mono">{d.name}</span>{' '}
              <span className="text-zinc-500 dark:text-zinc-400">
                — {d.tables.map((t) => `${t.rows} rows, ${t.columns.length} columns`).join('; ')}
              </span>
              {d.description && <span className="block text-xs text-zinc-500 dark:text-zinc-400">{d.description}</span>}
            </li>
          ))}
        </ul>
      </section>
      <section aria-label="URL allow-list">
        <h2 className="mb-2 text-lg font-semibold">fetch_url allow-list</h2>
        <p className="mb-1 text-sm text-zinc-500 dark:text-zinc-400">
          Hosts (host or host:port, one per line) that fetch_url may reach even though they resolve to internal addresses.
        </p>
        <textarea
          aria-label="Allowed hosts"
          className={clsx(field, 'h-20 font-mono text-xs')}
          value={hosts}
          onChange={(e) => setHosts(e.target.value)}
        />
        <Button className="mt-2" onClick={() => saveHosts.mutate()}>
          Save allow-list
        </Button>
      </section>
    </main>
  );
}
