import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';
import { TextField } from '../ui/text-field';

/** The token of a reset link: in the fragment (`#token=…`, as Axon makes them) or the query. */
function tokenFromLocation(): string | null {
  const fromHash = new URLSearchParams(window.location.hash.replace(/^#/, '')).get('token');
  return fromHash ?? new URLSearchParams(window.location.search).get('token');
}

/** Where a one-time link from an administrator leads: the person chooses a new password. */
export function ResetPasswordPage() {
  const [token] = useState(tokenFromLocation);
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const reset = useMutation({ mutationFn: () => api<void>('POST', '/api/auth/password-reset', { token, password }) });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setMismatch(password !== repeated);
    if (password === repeated) reset.mutate();
  };

  const problem = reset.error ? describeError(reset.error) : undefined;
  return (
    <main className="flex min-h-full items-center justify-center p-4">
      <form
        onSubmit={submit}
        className="flex w-full max-w-sm flex-col gap-4 rounded-2xl border border-zinc-200 p-6 shadow-sm dark:border-zinc-800"
        aria-labelledby="reset-title"
      >
        <div className="flex items-center gap-2">
          <img src="/favicon.svg" alt="" className="size-8" />
          <h1 id="reset-title" className="text-xl font-semibold">
            Choose a new password
          </h1>
        </div>
        {!token ? (
          <p role="alert" className="text-sm">
            This link has no reset token. Open the whole link your administrator sent, or ask for a new one.
          </p>
        ) : reset.isSuccess ? (
          <>
            <p role="status" className="rounded-lg bg-emerald-50 p-2 text-sm text-emerald-800 dark:bg-emerald-950 dark:text-emerald-200">
              Your password has been changed, and you have been signed out everywhere.
            </p>
            <a
              href="/"
              className="inline-flex h-9 items-center justify-center rounded-lg bg-indigo-600 px-3 text-sm font-medium text-white hover:bg-indigo-500"
            >
              Sign in
            </a>
          </>
        ) : (
          <>
            <TextField
              label="New password"
              type="password"
              autoComplete="new-password"
              required
              minLength={10}
              maxLength={256}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            <TextField
              label="Repeat the new password"
              type="password"
              autoComplete="new-password"
              required
              value={repeated}
              onChange={(e) => setRepeated(e.target.value)}
              error={mismatch ? 'The two passwords differ.' : undefined}
            />
            <p className="-mt-2 text-xs text-zinc-500 dark:text-zinc-400">At least 10 characters.</p>
            {problem && (
              <p role="alert" className="rounded-lg bg-red-50 p-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">
                {problem.message}
              </p>
            )}
            <Button type="submit" variant="primary" disabled={reset.isPending}>
              Set password
            </Button>
          </>
        )}
      </form>
    </main>
  );
}
