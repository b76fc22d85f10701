import { type FormEvent, useState } from 'react';
import { describeError } from '../api/api-client';
import { useSignIn } from '../api/queries';
import { Button } from '../ui/button';
import { TextField } from '../ui/text-field';

/** What went wrong on the way back from an identity provider (`?sso_error=`), in words. */
const SSO_ERRORS: Record<string, string> = {
  cancelled: 'Sign-in was cancelled at the identity provider.',
  state: 'That sign-in link has expired or was already used. Start again.',
  failed: 'The identity provider’s answer could not be verified, so you were not signed in. Try again or ask your administrator.',
  organization: 'Your account cannot sign in here: its organisation is not set up. Ask your administrator.',
  disabled: 'Your account is disabled. Ask your administrator to enable it.',
  unavailable: 'The identity provider could not be reached. Try again in a moment.',
};

/** Sign-in (password and/or identity providers), or first-run set-up of the admin account when no account exists yet. */
export function AuthPage({
  mode,
  signInOptions = { password: true, providers: [] },
}: {
  mode: 'login' | 'setup';
  signInOptions?: { password: boolean; providers: Array<{ id: string; name: string }> };
}) {
  const ssoError = new URLSearchParams(window.location.search).get('sso_error');
  const returnTo = `${window.location.pathname === '/' ? '/' : window.location.pathname}`;
  const signIn = useSignIn(mode);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const problem = signIn.error ? describeError(signIn.error) : undefined;
  const fieldErrors = Object.fromEntries(
    ((signIn.error as { problem?: { errors?: Array<{ path: string; message: string }> } } | null)?.problem?.errors ?? []).map((e) => [
      e.path.replace('body.', ''),
      e.message,
    ]),
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ email, password });
  };

  const providers = signInOptions.providers;
  const withPassword = mode === 'setup' || signInOptions.password;
  return (
    <main className="flex min-h-full items-center justify-center p-4">
      <form
        onSubmit={withPassword ? submit : (event) => event.preventDefault()}
        className="flex w-full max-w-sm flex-col gap-4 rounded-2xl border border-zinc-200 p-6 shadow-sm dark:border-zinc-800"
        aria-labelledby="auth-title"
      >
        <div className="flex items-center gap-2">
          <img src="/favicon.svg" alt="" className="size-8" />
          <h1 id="auth-title" className="text-xl font-semibold">
            {mode === 'setup' ? 'Set up Axon' : 'Sign in to Axon'}
          </h1>
        </div>
        {mode === 'setup' && (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">Create the first account. It becomes the administrator.</p>
        )}
        {ssoError && (
          <p role="alert" className="rounded-lg bg-red-50 p-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">
            {SSO_ERRORS[ssoError] ?? 'Single sign-on failed.'}
          </p>
        )}
        {providers.map((provider) => (
          <a
            key={provider.id}
            href={`/api/auth/sso/${provider.id}/start?returnTo=${encodeURIComponent(returnTo)}`}
            className="inline-flex h-9 items-center justify-center rounded-lg border border-zinc-300 px-3 text-sm font-medium hover:bg-zinc-50 dark:border-zinc-700 dark:hover:bg-zinc-900"
          >
            Sign in with {provider.name}
          </a>
        ))}
        {providers.length > 0 && withPassword && (
          <div className="flex items-center gap-2 text-xs text-zinc-500 dark:text-zinc-400">
            <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" /> or with a password{' '}
            <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-800" />
          </div>
        )}
        {withPassword && (
          <>
            <TextField
              label="Email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              error={fieldErrors.email}
            />
            <TextField
              label="Password"
              type="password"
              autoComplete={mode === 'setup' ? 'new-password' : 'current-password'}
              required
              minLength={mode === 'setup' ? 10 : 1}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={fieldErrors.password ?? (mode === 'setup' ? undefined : undefined)}
            />
            {mode === 'setup' && <p className="-mt-2 text-xs text-zinc-500 dark:text-zinc-400">At least 10 characters.</p>}
            {problem && !Object.keys(fieldErrors).length && (
              <p role="alert" className="rounded-lg bg-red-50 p-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">
                {problem.code === 'rate_limited' && problem.retryAfterSeconds
                  ? `Too many attempts — try again in ${Math.ceil(problem.retryAfterSeconds / 60)} min.`
                  : problem.message}
              </p>
            )}
            <Button type="submit" variant="primary" disabled={signIn.isPending}>
              {mode === 'setup' ? 'Create admin account' : 'Sign in'}
            </Button>
          </>
        )}
      </form>
    </main>
  );
}
