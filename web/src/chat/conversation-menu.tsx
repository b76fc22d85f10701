import type { Conversation } from '@axon/contracts';
import { Archive, ArchiveRestore, FileBraces, FileDown, Folder, MoreHorizontal, Pin, PinOff, Share2 } from 'lucide-react';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import { useUpdateConversation } from '../api/queries';
import { downloadConversation } from '../api/share-queries';
import { IconButton } from '../ui/button';
import { ShareDialog } from './share-dialog';

/** A conversation's "More" menu in the sidebar: pin, file in a folder, archive, share with the organisation, export. */
export function ConversationMenu({ conversation }: { conversation: Conversation }) {
  const [open, setOpen] = useState(false);
  const [sharing, setSharing] = useState(false);
  const rootRef = useRef<HTMLDivElement>(null);
  const update = useUpdateConversation();

  useEffect(() => {
    if (!open) return;
    const close = (event: Event) => {
      if (event instanceof KeyboardEvent ? event.key === 'Escape' : !rootRef.current?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    rootRef.current?.querySelector<HTMLButtonElement>('[role="menuitem"]')?.focus();
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  const change = (patch: { pinned?: boolean; archived?: boolean; folder?: string | null }, done: string) => {
    setOpen(false);
    update.mutate(
      { id: conversation.id, ...patch },
      { onSuccess: () => toast.success(done), onError: (e) => toast.error(describeError(e).message) },
    );
  };
  const moveToFolder = () => {
    const name = window.prompt('Folder name (empty to take it out of its folder)', conversation.folder ?? '');
    if (name === null) return setOpen(false);
    const folder = name.trim().slice(0, 60) || null;
    change({ folder }, folder ? `Moved to ${folder}` : 'Taken out of its folder');
  };
  const item = (label: string, icon: ReactNode, onClick: () => void) => (
    <button
      type="button"
      role="menuitem"
      onClick={onClick}
      onKeyDown={(e) => {
        if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
        e.preventDefault();
        const items = [...(rootRef.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]') ?? [])];
        const at = items.indexOf(e.currentTarget);
        items[(at + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length]?.focus();
      }}
      className="flex w-full items-center gap-2 rounded px-2 py-1.5 text-left text-sm text-zinc-800 hover:bg-zinc-100 focus:bg-zinc-100 dark:text-zinc-200 dark:hover:bg-zinc-800 dark:focus:bg-zinc-800"
    >
      {icon}
      {label}
    </button>
  );

  return (
    <div ref={rootRef} className="relative">
      <IconButton label={`More actions for ${conversation.title}`} aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        <MoreHorizontal className="size-3.5" />
      </IconButton>
      {open && (
        <div
          role="menu"
          aria-label={`Actions for ${conversation.title}`}
          className="absolute top-8 right-0 z-30 w-48 rounded-lg border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
        >
          {conversation.pinnedAt
            ? item('Unpin', <PinOff className="size-3.5" />, () => change({ pinned: false }, 'Unpinned'))
            : item('Pin', <Pin className="size-3.5" />, () => change({ pinned: true }, 'Pinned'))}
          {item(conversation.folder ? 'Move to another folder…' : 'Move to folder…', <Folder className="size-3.5" />, moveToFolder)}
          {conversation.archivedAt
            ? item('Unarchive', <ArchiveRestore className="size-3.5" />, () => change({ archived: false }, 'Back in the list'))
            : item('Archive', <Archive className="size-3.5" />, () => change({ archived: true }, 'Archived'))}
          <hr className="my-1 border-zinc-200 dark:border-zinc-700" />
          {item('Share…', <Share2 className="size-3.5" />, () => {
            setOpen(false);
            setSharing(true);
          })}
          {item('Export as Markdown', <FileDown className="size-3.5" />, () => {
            setOpen(false);
            downloadConversation(conversation.id, 'markdown');
          })}
          {item('Export as JSON', <FileBraces className="size-3.5" />, () => {
            setOpen(false);
            downloadConversation(conversation.id, 'json');
          })}
        </div>
      )}
      {sharing && (
        <ShareDialog
          conversation={conversation}
          onClose={() => {
            setSharing(false);
            rootRef.current?.querySelector<HTMLButtonElement>('button[aria-haspopup]')?.focus();
          }}
        />
      )}
    </div>
  );
}
