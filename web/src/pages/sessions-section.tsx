import type { SessionSummary } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';

const SESSIONS = ['auth-sessions'] as const;

/** A short name for a browser from its user agent ("Firefox on Linux"), or the raw string when unknown. */
function describeAgent(agent: string | null): string {
  if (!agent) return 'Unknown browser';
  const browser = /Edg\//.test(agent)
    ? 'Edge'
    : /Firefox\//.test(agent)
      ? 'Firefox'
      : /Chrome\/|Chromium\//.test(agent)
        ? 'Chrome'
        : /Safari\//.test(agent)
          ? 'Safari'
          : undefined;
  const system = /Windows/.test(agent)
    ? 'Windows'
    : /Mac OS X|Macintosh/.test(agent)
      ? 'macOS'
      : /Android/.test(agent)
        ? 'Android'
        : /iPhone|iPad/.test(agent)
          ? 'iOS'
          : /Linux/.test(agent)
            ? 'Linux'
            : undefined;
  if (!browser) return agent.slice(0, 80);
  return system ? `${browser} on ${system}` : browser;
}

/** Where the person is signed in; any session but this one can be ended from here (this one too, which signs out). */
export function SessionsSection() {
  const client = useQueryClient();
  const sessions = useQuery({ queryKey: SESSIONS, queryFn: () => api<{ items: SessionSummary[] }>('GET', '/api/auth/sessions') });
  const revoke = useMutation({
    mutationFn: (session: SessionSummary) => api<void>('DELETE', `/api/auth/sessions/${session.id}`),
    onSuccess: (_answer, session) => {
      if (session.current) {
        client.clear();
        window.location.assign('/');
        return;
      }
      toast.success('Session ended');
      void client.invalidateQueries({ queryKey: SESSIONS });
    },
    onError: (e) => toast.error(describeError(e).message),
  });

  return (
    <section aria-labelledby="sessions-title" className="mt-10">
      <h2 id="sessions-title" className="mb-1 text-lg font-semibold">
        Sessions
      </h2>
      <p className="mb-3 text-sm text-zinc-600 dark:text-zinc-400">Browsers signed in to your account. End any you do not recognise.</p>
      {sessions.isError && <p role="alert">{describeError(sessions.error).message}</p>}
      <div className="overflow-x-auto">
        <table className="w-full text-left text-sm">
          <thead className="text-xs text-zinc-500 dark:text-zinc-400">
            <tr>
              <th className="py-2 pr-3 font-medium">Browser</th>
              <th className="py-2 pr-3 font-medium">Address</th>
              <th className="py-2 pr-3 font-medium">Signed in</th>
              <th className="py-2 pr-3 font-medium">Last active</th>
              <th className="py-2 font-medium">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sessions.data?.items.map((session) => (
              <tr key={session.id} data-testid="session" className="border-t border-zinc-200 dark:border-zinc-800">
                <td className="py-2 pr-3" title={session.userAgent ?? undefined}>
                  {describeAgent(session.userAgent)}
                  {session.current && (
                    <span className="ml-2 rounded bg-indigo-100 px-1.5 py-0.5 text-xs text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200">
                      this browser
                    </span>
                  )}
                </td>
                <td className="py-2 pr-3 font-mono text-xs">{session.ip ?? '—'}</td>
                <td className="py-2 pr-3">{new Date(session.createdAt).toLocaleString()}</td>
                <td className="py-2 pr-3">{session.lastSeenAt ? new Date(session.lastSeenAt).toLocaleString() : '—'}</td>
                <td className="py-2 text-right">
                  <Button
                    variant="secondary"
                    disabled={revoke.isPending}
                    onClick={() => {
                      if (!session.current || window.confirm('End this session? You will be signed out here.')) revoke.mutate(session);
                    }}
                  >
                    {session.current ? 'Sign out here' : 'End session'}
                  </Button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
