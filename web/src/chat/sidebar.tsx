import type { Conversation } from '@axon/contracts';
import { clsx } from 'clsx';
import { Archive, Check, MessageSquarePlus, Pencil, Search, Trash2, X } from 'lucide-react';
import { type FormEvent, type RefObject, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import { useConversations, useDeleteConversation, useRenameConversation } from '../api/queries';
import { IconButton } from '../ui/button';
import { ConversationMenu } from './conversation-menu';

function groupOf(updatedAt: string, now: Date): string {
  const startOfToday = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  const at = new Date(updatedAt).getTime();
  if (at >= startOfToday) return 'Today';
  if (at >= startOfToday - 7 * 86_400_000) return 'Previous 7 days';
  return 'Older';
}

function ConversationRow({ conversation, active, onNavigate }: { conversation: Conversation; active: boolean; onNavigate: () => void }) {
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState(conversation.title);
  const rename = useRenameConversation();
  const remove = useDeleteConversation();
  const navigate = useNavigate();

  const save = (event: FormEvent) => {
    event.preventDefault();
    if (!title.trim()) return;
    rename.mutate(
      { id: conversation.id, title: title.trim() },
      { onSuccess: () => setEditing(false), onError: (e) => toast.error(describeError(e).message) },
    );
  };

  if (editing) {
    return (
      <form onSubmit={save} className="flex items-center gap-1 px-1">
        <input
          aria-label="Conversation title"
          // biome-ignore lint/a11y/noAutofocus: the field appears because the person asked to rename
          autoFocus
          value={title}
          maxLength={200}
          onChange={(e) => setTitle(e.target.value)}
          onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}
          className="min-w-0 flex-1 rounded border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900"
        />
        <IconButton label="Save title" type="submit">
          <Check className="size-4" />
        </IconButton>
        <IconButton label="Cancel" onClick={() => setEditing(false)}>
          <X className="size-4" />
        </IconButton>
      </form>
    );
  }
  return (
    <div
      className={clsx(
        'group flex items-center rounded-lg',
        active ? 'bg-zinc-200 dark:bg-zinc-800' : 'hover:bg-zinc-100 dark:hover:bg-zinc-900',
      )}
    >
      <Link
        to={`/c/${conversation.id}`}
        onClick={onNavigate}
        className="min-w-0 flex-1 px-2 py-1.5 text-sm"
        aria-current={active ? 'page' : undefined}
      >
        <span className="block truncate">{conversation.title}</span>
        {conversation.snippet && conversation.snippet !== conversation.title && (
          <span className="line-clamp-2 text-xs text-zinc-600 dark:text-zinc-400" data-testid="search-snippet">
            {conversation.snippet}
          </span>
        )}
      </Link>
      <div className="flex opacity-100 md:opacity-0 md:group-focus-within:opacity-100 md:group-hover:opacity-100">
        <IconButton
          label={`Rename ${conversation.title}`}
          onClick={() => {
            setTitle(conversation.title);
            setEditing(true);
          }}
        >
          <Pencil className="size-3.5" />
        </IconButton>
        <IconButton
          label={`Delete ${conversation.title}`}
          onClick={() => {
            if (!window.confirm(`Delete “${conversation.title}”? This cannot be undone.`)) return;
            remove.mutate(conversation.id, {
              onSuccess: () => {
                toast.success('Conversation deleted');
                if (active) navigate('/');
              },
              onError: (e) => toast.error(describeError(e).message),
            });
          }}
        >
          <Trash2 className="size-3.5" />
        </IconButton>
        <ConversationMenu conversation={conversation} />
      </div>
    </div>
  );
}

export function Sidebar({
  activeId,
  searchRef,
  onNavigate,
}: {
  activeId: string | undefined;
  searchRef: RefObject<HTMLInputElement | null>;
  onNavigate: () => void;
}) {
  const [query, setQuery] = useState('');
  const [archived, setArchived] = useState(false);
  const conversations = useConversations(query.trim(), archived);
  const now = new Date();
  // Search results and the archive are one list; otherwise pinned first, then folders, then by date.
  const groups = new Map<string, Conversation[]>();
  for (const c of conversations.data?.items ?? []) {
    const group = query.trim()
      ? 'Results'
      : archived
        ? 'Archived'
        : c.pinnedAt
          ? 'Pinned'
          : c.folder
            ? `Folder: ${c.folder}`
            : groupOf(c.updatedAt, now);
    groups.set(group, [...(groups.get(group) ?? []), c]);
  }
  const order = (group: string) =>
    group === 'Pinned' ? 0 : group.startsWith('Folder: ') ? 1 : ['Today', 'Previous 7 days', 'Older'].indexOf(group) + 2;
  const sorted = [...groups].sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));

  return (
    <nav aria-label="Conversations" className="flex h-full flex-col gap-2 p-2">
      <Link
        to="/"
        onClick={onNavigate}
        className="flex items-center gap-2 rounded-lg border border-zinc-300 px-3 py-2 text-sm font-medium hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-900"
      >
        <MessageSquarePlus className="size-4" /> New chat
      </Link>
      <div className="relative">
        <Search className="pointer-events-none absolute top-2.5 left-2.5 size-4 text-zinc-400" />
        <input
          ref={searchRef}
          type="search"
          aria-label="Search conversations"
          placeholder="Search (Ctrl+K)"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          className="w-full rounded-lg border border-zinc-300 bg-white py-2 pr-2 pl-8 text-sm dark:border-zinc-700 dark:bg-zinc-900"
        />
      </div>
      <div className="-mx-1 flex-1 overflow-y-auto px-1">
        {conversations.isError && <p className="p-2 text-sm text-red-600">{describeError(conversations.error).message}</p>}
        {conversations.data?.items.length === 0 && (
          <p className="p-2 text-sm text-zinc-600 dark:text-zinc-400">
            {query ? 'No conversation matches.' : archived ? 'Nothing archived.' : 'No conversations yet.'}
          </p>
        )}
        {sorted.map(([group, items]) => (
          <section key={group} className="mb-3" aria-label={group}>
            <h2 className="px-2 py-1 text-xs font-medium text-zinc-500 dark:text-zinc-400">{group}</h2>
            <ul>
              {items.map((c) => (
                <li key={c.id}>
                  <ConversationRow conversation={c} active={c.id === activeId} onNavigate={onNavigate} />
                </li>
              ))}
            </ul>
          </section>
        ))}
      </div>
      <button
        type="button"
        aria-pressed={archived}
        onClick={() => setArchived(!archived)}
        className="flex items-center gap-2 rounded-lg px-2 py-1.5 text-sm text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-900"
      >
        <Archive className="size-4" aria-hidden="true" /> {archived ? 'Back to conversations' : 'Archived conversations'}
      </button>
    </nav>
  );
}
