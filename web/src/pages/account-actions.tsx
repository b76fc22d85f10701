import type { Account, PasswordResetLink } from '@axon/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { CopyButton } from '../chat/markdown';
import { Button } from '../ui/button';

/** A reset link made for an account, shown once. */
export interface ShownResetLink extends PasswordResetLink {
  email: string;
}

/** Disable or enable, reset the password of, and delete one account (not one's own, except the reset). */
export function AccountActions({
  account,
  isSelf,
  onResetLink,
}: {
  account: Account;
  isSelf: boolean;
  onResetLink: (link: ShownResetLink) => void;
}) {
  const client = useQueryClient();
  const refresh = () => {
    void client.invalidateQueries({ queryKey: ['admin-users'] });
    void client.invalidateQueries({ queryKey: ['admin-keys'] });
  };
  const onError = (e: unknown) => toast.error(describeError(e).message);
  const setDisabled = useMutation({
    mutationFn: (disabled: boolean) => api<Account>('POST', `/api/admin/users/${account.id}/${disabled ? 'disable' : 'enable'}`),
    onSuccess: (updated) => {
      refresh();
      toast.success(updated.disabledAt ? `${updated.email} is disabled` : `${updated.email} is enabled`);
    },
    onError,
  });
  const remove = useMutation({
    mutationFn: () => api<void>('DELETE', `/api/admin/users/${account.id}`),
    onSuccess: () => {
      refresh();
      toast.success(`${account.email} deleted`);
    },
    onError,
  });
  const reset = useMutation({
    mutationFn: () => api<PasswordResetLink>('POST', `/api/admin/users/${account.id}/password-reset`),
    onSuccess: (link) => onResetLink({ ...link, email: account.email }),
    onError,
  });
  const disabled = account.disabledAt !== null;

  return (
    <div className="flex flex-wrap justify-end gap-1">
      {!disabled && (
        <Button variant="secondary" disabled={reset.isPending} onClick={() => reset.mutate()}>
          Reset password
        </Button>
      )}
      {!isSelf && (
        <Button variant="secondary" disabled={setDisabled.isPending} onClick={() => setDisabled.mutate(!disabled)}>
          {disabled ? 'Enable' : 'Disable'}
        </Button>
      )}
      {!isSelf && (
        <Button
          variant="danger"
          disabled={remove.isPending}
          onClick={() => {
            if (
              window.confirm(
                `Delete ${account.email}? Their conversations, API keys and private collections are deleted; collections they shared with the organisation stay. This cannot be undone.`,
              )
            )
              remove.mutate();
          }}
        >
          Delete
        </Button>
      )}
    </div>
  );
}

/** The link just made, with a copy button; it is not shown again once dismissed. */
export function ResetLinkNotice({ link, onDismiss }: { link: ShownResetLink; onDismiss: () => void }) {
  return (
    <div role="status" className="mb-4 rounded-lg border border-amber-300 bg-amber-50 p-3 text-sm dark:border-amber-800 dark:bg-amber-950">
      <p className="mb-2 font-medium">
        Password reset link for {link.email}, valid until {new Date(link.expiresAt).toLocaleTimeString()} and only once. Copy it now and
        send it to them: it will not be shown again.
      </p>
      <div className="flex items-center gap-2 rounded bg-zinc-900 p-2 font-mono text-xs text-zinc-100">
        <span data-testid="reset-link" className="flex-1 break-all">
          {link.url}
        </span>
        <CopyButton text={link.url} label="Copy link" />
      </div>
      <Button variant="ghost" className="mt-2" onClick={onDismiss}>
        Done
      </Button>
    </div>
  );
}
