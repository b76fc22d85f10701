import type { Account, ApiKey, Role, User } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { useSession } from '../api/queries';
import { Button } from '../ui/button';
import { ScrollBox } from '../ui/scroll-box';
import { TextField } from '../ui/text-field';
import { AccountActions, ResetLinkNotice, type ShownResetLink } from './account-actions';

const ROLES: Role[] = ['admin', 'builder', 'member', 'auditor'];

/** Accounts (roles, disabled or not, password reset links, deletion), and every API key with its owner and last use. */
export function AdminPage() {
  const client = useQueryClient();
  const selfId = useSession().data?.user?.id;
  const [resetLink, setResetLink] = useState<ShownResetLink | undefined>();
  const users = useQuery({ queryKey: ['admin-users'], queryFn: () => api<{ items: Account[] }>('GET', '/api/admin/users') });
  const keys = useQuery({
    queryKey: ['admin-keys'],
    queryFn: () => api<{ items: Array<ApiKey & { userEmail: string | null }> }>('GET', '/api/admin/keys'),
  });
  const onError = (e: unknown) => toast.error(describeError(e).message);
  const setRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: Role }) => api('PATCH', `/api/admin/users/${id}`, { role }),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['admin-users'] });
      toast.success('Role changed');
    },
    onError,
  });
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [newRole, setNewRole] = useState<Role>('member');
  const addUser = useMutation({
    mutationFn: () => api<User>('POST', '/api/admin/users', { email, password, role: newRole }),
    onSuccess: (user) => {
      void client.invalidateQueries({ queryKey: ['admin-users'] });
      toast.success(`Account for ${user.email} created`);
      setEmail('');
      setPassword('');
    },
    onError,
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api('DELETE', `/api/admin/keys/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['admin-keys'] }),
    onError,
  });
  return (
    <main className="mx-auto h-full w-full max-w-5xl space-y-8 overflow-y-auto p-4 sm:p-6">
      <section>
        <h1 className="mb-3 text-xl font-semibold">Users</h1>
        <form
          aria-label="Add an account"
          className="mb-4 flex flex-wrap items-end gap-2"
          onSubmit={(event) => {
            event.preventDefault();
            addUser.mutate();
          }}
        >
          <TextField label="New account's email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <TextField
            label="Password"
            type="password"
            autoComplete="new-password"
            required
            minLength={10}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <select
            aria-label="New account's role"
            value={newRole}
            onChange={(e) => setNewRole(e.target.value as Role)}
            className="rounded-lg border border-zinc-300 bg-transparent px-2 py-2 text-sm dark:border-zinc-700 dark:bg-zinc-900"
          >
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <Button type="submit" variant="primary" disabled={addUser.isPending}>
            Add account
          </Button>
        </form>
        {resetLink && <ResetLinkNotice link={resetLink} onDismiss={() => setResetLink(undefined)} />}
        {/* On a phone the columns are narrowed to fit (emails wrap, no date); what cannot scrolls in its own box. */}
        <ScrollBox label="Users">
          <table className="w-full text-left text-sm">
            <thead className="text-xs text-zinc-500 dark:text-zinc-400">
              <tr>
                <th className="py-1 font-medium">Email</th>
                <th className="py-1 font-medium">Role</th>
                <th className="hidden py-1 font-medium sm:table-cell">Since</th>
                <th className="py-1 font-medium">Status</th>
                <th className="py-1 font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data?.items.map((u) => (
                <tr key={u.id} data-testid="admin-user" className="border-t border-zinc-100 dark:border-zinc-800">
                  <td className="py-1.5 pr-2 break-all">{u.email}</td>
                  <td className="py-1.5">
                    <select
                      aria-label={`Role of ${u.email}`}
                      value={u.role}
                      onChange={(e) => setRole.mutate({ id: u.id, role: e.target.value as Role })}
                      className="rounded-lg border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
                    >
                      {ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  </td>
                  <td className="hidden py-1.5 text-xs text-zinc-500 sm:table-cell dark:text-zinc-400">
                    {new Date(u.createdAt).toLocaleDateString()}
                  </td>
                  <td className="py-1.5 text-xs">
                    {u.disabledAt ? (
                      <span
                        className="rounded bg-red-100 px-1.5 py-0.5 text-red-800 dark:bg-red-950 dark:text-red-200"
                        title={`since ${new Date(u.disabledAt).toLocaleString()}`}
                      >
                        disabled
                      </span>
                    ) : (
                      <span className="text-zinc-500 dark:text-zinc-400">active</span>
                    )}
                  </td>
                  <td className="py-1.5">
                    <AccountActions account={u} isSelf={u.id === selfId} onResetLink={setResetLink} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      </section>
      <section>
        <h2 className="mb-3 text-lg font-semibold">API keys</h2>
        <ScrollBox label="API keys">
          <table className="w-full text-left text-sm">
            <thead className="text-xs text-zinc-500 dark:text-zinc-400">
              <tr>
                {['Owner', 'Name', 'Key', 'Scopes', 'Limits', 'Expires', 'Last used', ''].map((h) => (
                  <th key={h} className="py-1 pr-2 font-medium">
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {keys.data?.items.map((k) => (
                <tr key={k.id} data-testid="admin-key" className="border-t border-zinc-100 dark:border-zinc-800">
                  <td className="py-1.5 pr-2">{k.userEmail}</td>
                  <td className="py-1.5 pr-2">{k.name}</td>
                  <td className="py-1.5 pr-2 font-mono text-xs">{k.prefix}…</td>
                  <td className="py-1.5 pr-2 text-xs">{k.scopes.join(', ')}</td>
                  <td className="py-1.5 pr-2 text-xs">
                    {[k.rpm && `${k.rpm} req/min`, k.tpm && `${k.tpm} tok/min`].filter(Boolean).join(', ') || '—'}
                  </td>
                  <td className="py-1.5 pr-2 text-xs">{k.expiresAt ? new Date(k.expiresAt).toLocaleDateString() : 'never'}</td>
                  <td className="py-1.5 pr-2 text-xs">{k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : 'never'}</td>
                  <td className="py-1.5 text-right">
                    {k.revokedAt ? (
                      <span className="text-xs text-zinc-500 dark:text-zinc-400">revoked</span>
                    ) : (
                      <Button variant="secondary" onClick={() => revoke.mutate(k.id)}>
                        Revoke
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollBox>
      </section>
    </main>
  );
}
