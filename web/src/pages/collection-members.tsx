import type { CollectionRole } from '@axon/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Trash2, UserPlus } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { Button, IconButton } from '../ui/button';

interface Member {
  email: string;
  role: string;
}

const ROLE_LABEL: Record<CollectionRole, string> = { viewer: 'can read', editor: 'can add documents' };

/**
 * The people a collection is shared with (its owner's screen): who reads it when it is visible to
 * "me and members", and who may also add and remove documents.
 */
export function CollectionMembers({ collectionId, members, visibility }: { collectionId: string; members: Member[]; visibility: string }) {
  const client = useQueryClient();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<CollectionRole>('viewer');
  const save = useMutation({
    mutationFn: (next: Member[]) => api('PUT', `/api/collections/${collectionId}/members`, { members: next }),
    onSuccess: () => void client.invalidateQueries({ queryKey: ['collection', collectionId] }),
    onError: (e) => toast.error(describeError(e).message),
  });
  const add = (event: FormEvent) => {
    event.preventDefault();
    const address = email.trim().toLowerCase();
    if (!address) return;
    const others = members.filter((m) => m.email.toLowerCase() !== address);
    save.mutate([...others, { email: address, role }], { onSuccess: () => setEmail('') });
  };
  return (
    <section aria-labelledby="members-heading" className="mb-6 rounded-xl border border-zinc-200 p-4 dark:border-zinc-800">
      <h2 id="members-heading" className="text-sm font-semibold">
        Members
      </h2>
      <p className="mb-3 text-xs text-zinc-600 dark:text-zinc-400">
        {visibility === 'private'
          ? 'Only you and these people see this collection and its documents.'
          : 'Everyone in the organisation sees this collection; members listed here may also get the right to add documents.'}
      </p>
      {members.length > 0 ? (
        <ul className="mb-3 divide-y divide-zinc-100 text-sm dark:divide-zinc-800" aria-label="Members">
          {members.map((m) => (
            <li key={m.email} className="flex items-center gap-2 py-1.5" data-testid="collection-member">
              <span className="min-w-0 flex-1 truncate">{m.email}</span>
              <select
                aria-label={`Role of ${m.email}`}
                value={m.role}
                onChange={(e) => save.mutate(members.map((x) => (x.email === m.email ? { ...x, role: e.target.value } : x)))}
                className="rounded-lg border border-zinc-300 bg-transparent px-2 py-1 text-xs dark:border-zinc-700 dark:bg-zinc-900"
              >
                {Object.entries(ROLE_LABEL).map(([value, text]) => (
                  <option key={value} value={value}>
                    {text}
                  </option>
                ))}
              </select>
              <IconButton label={`Remove ${m.email}`} onClick={() => save.mutate(members.filter((x) => x.email !== m.email))}>
                <Trash2 className="size-4" />
              </IconButton>
            </li>
          ))}
        </ul>
      ) : (
        <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">No members yet.</p>
      )}
      <form onSubmit={add} className="flex flex-wrap items-end gap-2" aria-label="Add a member">
        <label className="flex min-w-0 flex-1 flex-col gap-1 text-xs font-medium text-zinc-700 dark:text-zinc-300">
          Email of someone in your organisation
          <input
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            placeholder="colleague@example.com"
            className="rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
          />
        </label>
        <label className="flex flex-col gap-1 text-xs font-medium text-zinc-700 dark:text-zinc-300">
          Access
          <select
            value={role}
            onChange={(e) => setRole(e.target.value as CollectionRole)}
            className="rounded-lg border border-zinc-300 bg-transparent px-2 py-1.5 text-sm dark:border-zinc-700 dark:bg-zinc-900"
          >
            {Object.entries(ROLE_LABEL).map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <Button type="submit" variant="secondary" disabled={save.isPending}>
          <UserPlus className="size-4" aria-hidden="true" /> Add member
        </Button>
      </form>
    </section>
  );
}
