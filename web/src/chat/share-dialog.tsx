import type { Conversation } from '@axon/contracts';
import { Link2, X } from 'lucide-react';
import { useEffect, useId, useRef } from 'react';
import { createPortal } from 'react-dom';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import { shareUrl, useConversationShare, useRevokeShare, useShareConversation } from '../api/share-queries';
import { Button, IconButton } from '../ui/button';

/**
 * Sharing a conversation with the organisation: make a read-only link, copy it, revoke it. A modal
 * dialog; Escape, Close or the backdrop closes it (`onClose` puts focus back where it belongs).
 */
export function ShareDialog({ conversation, onClose }: { conversation: Conversation; onClose: () => void }) {
  const state = useConversationShare(conversation.id);
  const share = useShareConversation(conversation.id);
  const revoke = useRevokeShare(conversation.id);
  const dialogRef = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const link = state.data?.share;

  useEffect(() => dialogRef.current?.focus(), []);
  // Escape closes it wherever focus is (a button that was clicked may be gone, leaving focus on the page).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      event.stopPropagation();
      onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [onClose]);
  // A link just made: its field takes focus, for copying.
  const linkPath = link?.path;
  useEffect(() => {
    if (linkPath) dialogRef.current?.querySelector<HTMLInputElement>('input')?.focus();
  }, [linkPath]);

  const copy = async (url: string) => {
    try {
      await navigator.clipboard.writeText(url);
      toast.success('Link copied');
    } catch {
      // Without clipboard access (an insecure origin), the address stays selected to copy by hand.
      dialogRef.current?.querySelector<HTMLInputElement>('input')?.select();
      toast.message('Select the link and copy it');
    }
  };
  const create = () =>
    share.mutate(undefined, {
      onSuccess: (made) => void copy(shareUrl(made)),
      onError: (e) => toast.error(describeError(e).message),
    });
  const stop = () =>
    revoke.mutate(undefined, {
      onSuccess: () => toast.success('Link revoked: it no longer opens'),
      onError: (e) => toast.error(describeError(e).message),
    });

  // In a portal: the sidebar it is opened from moves (a transform), which would confine a fixed box to it.
  return createPortal(
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/40 p-4"
      onPointerDown={(e) => e.target === e.currentTarget && onClose()}
    >
      <div
        ref={dialogRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        className="w-full max-w-md rounded-xl border border-zinc-200 bg-white p-4 shadow-xl outline-none dark:border-zinc-700 dark:bg-zinc-900"
      >
        <div className="flex items-start gap-2">
          <h2 id={titleId} className="flex-1 truncate text-base font-semibold">
            Share “{conversation.title}”
          </h2>
          <IconButton label="Close" className="-mt-1 -mr-1" onClick={onClose}>
            <X className="size-4" />
          </IconButton>
        </div>
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
          People of your organisation who have the link can read this conversation — the answers shown, with their sources. They cannot
          change it or continue it.
        </p>
        {state.isPending ? (
          <p className="mt-4 text-sm text-zinc-500 dark:text-zinc-400">Loading…</p>
        ) : state.isError ? (
          <p role="alert" className="mt-4 text-sm text-red-700 dark:text-red-300">
            {describeError(state.error).message}
          </p>
        ) : link ? (
          <div className="mt-4 flex flex-col gap-3">
            <div className="flex gap-2">
              <input
                readOnly
                aria-label="Link to this conversation"
                value={shareUrl(link)}
                onFocus={(e) => e.currentTarget.select()}
                className="min-w-0 flex-1 rounded-lg border border-zinc-300 bg-zinc-50 px-2 py-1.5 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-950 dark:text-zinc-100"
              />
              <Button variant="primary" onClick={() => void copy(shareUrl(link))}>
                Copy link
              </Button>
            </div>
            <div className="flex items-center justify-between gap-2">
              <span className="text-xs text-zinc-500 dark:text-zinc-400">Made {new Date(link.createdAt).toLocaleString()}</span>
              <Button variant="danger" disabled={revoke.isPending} onClick={stop}>
                Revoke link
              </Button>
            </div>
          </div>
        ) : (
          <div className="mt-4 flex justify-end gap-2">
            <Button onClick={onClose}>Cancel</Button>
            <Button variant="primary" disabled={share.isPending} onClick={create}>
              <Link2 className="size-4" aria-hidden="true" /> Create link
            </Button>
          </div>
        )}
      </div>
    </div>,
    document.body,
  );
}
