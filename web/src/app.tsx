import { clsx } from 'clsx';
import {
  BarChart3,
  Building2,
  FileCode2,
  KeyRound,
  Library,
  LogOut,
  Menu,
  MessageSquareText,
  Moon,
  ScrollText,
  Sun,
  Users,
  X,
} from 'lucide-react';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { Link, Navigate, Outlet, useLocation, useNavigate, useParams } from 'react-router';
import { describeError } from './api/api-client';
import { useSession, useSignOut } from './api/queries';
import { Sidebar } from './chat/sidebar';
import { AuthPage } from './pages/auth-page';
import { IconButton } from './ui/button';
import { useTheme } from './ui/use-theme';

function HeaderLink({ to, label, children }: { to: string; label: string; children: ReactNode }) {
  return (
    <Link
      to={to}
      aria-label={label}
      title={label}
      className="inline-flex size-8 items-center justify-center rounded-lg text-zinc-500 hover:bg-zinc-100 dark:hover:bg-zinc-800"
    >
      {children}
    </Link>
  );
}

/** The signed-in shell: sidebar (a drawer on phones), header and the page. */
export function AppShell() {
  const session = useSession();
  const signOut = useSignOut();
  const { toggle } = useTheme();
  const { id } = useParams();
  const navigate = useNavigate();
  const [drawerOpen, setDrawerOpen] = useState(false);
  const location = useLocation();
  const searchRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      if (mod && event.key.toLowerCase() === 'k') {
        event.preventDefault();
        setDrawerOpen(true);
        searchRef.current?.focus();
      } else if (mod && event.shiftKey && event.key.toLowerCase() === 'o') {
        event.preventDefault();
        navigate('/');
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [navigate]);

  if (session.isPending) return <div className="flex h-full items-center justify-center text-sm text-zinc-500">Loading…</div>;
  if (session.isError) {
    return (
      <div role="alert" className="flex h-full items-center justify-center p-6">
        {describeError(session.error).message}
      </div>
    );
  }
  if (!session.data.user) return <AuthPage mode={session.data.needsSetup ? 'setup' : 'login'} signInOptions={session.data.signIn} />;
  const permissions = new Set(session.data.permissions);
  // Auditors read the audit trail, the prompt log and usage, and nothing else: no chats, no documents.
  const chats = permissions.has('chat');
  if (!chats && !['/audit', '/usage', '/prompt-log'].includes(location.pathname)) return <Navigate to="/audit" replace />;

  return (
    <div className="flex h-full">
      <aside
        className={clsx(
          'fixed inset-y-0 left-0 z-30 w-72 border-r border-zinc-200 bg-zinc-50 transition-transform md:static md:w-64 md:translate-x-0 dark:border-zinc-800 dark:bg-zinc-950',
          drawerOpen ? 'translate-x-0' : 'max-md:invisible -translate-x-full',
          !chats && 'hidden md:hidden',
        )}
      >
        <div className="flex justify-end p-1 md:hidden">
          <IconButton label="Close menu" onClick={() => setDrawerOpen(false)}>
            <X className="size-4" />
          </IconButton>
        </div>
        {chats && <Sidebar activeId={id} searchRef={searchRef} onNavigate={() => setDrawerOpen(false)} />}
      </aside>
      {drawerOpen && <div className="fixed inset-0 z-20 bg-black/30 md:hidden" aria-hidden="true" onClick={() => setDrawerOpen(false)} />}
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex items-center gap-1 border-b border-zinc-200 px-2 py-1.5 dark:border-zinc-800">
          <IconButton label="Open menu" className="md:hidden" onClick={() => setDrawerOpen(true)}>
            <Menu className="size-4" />
          </IconButton>
          <Link to="/" className="flex items-center gap-2 px-2 font-semibold">
            <img src="/favicon.svg" alt="" className="size-5" /> Axon
          </Link>
          <div className="flex-1" />
          <span className="hidden text-xs text-zinc-500 sm:inline" data-testid="signed-in-as">
            {session.data.user.email}
            {session.data.organization && session.data.organization.slug !== 'default' ? ` · ${session.data.organization.name}` : ''}
          </span>
          <IconButton label="Toggle dark mode" onClick={toggle}>
            <Sun className="hidden size-4 dark:block" />
            <Moon className="size-4 dark:hidden" />
          </IconButton>
          {permissions.has('prompts:manage') && (
            <HeaderLink to="/prompts" label="Prompt templates">
              <FileCode2 className="size-4" />
            </HeaderLink>
          )}
          {permissions.has('users:manage') && (
            <HeaderLink to="/admin" label="Users and keys">
              <Users className="size-4" />
            </HeaderLink>
          )}
          {permissions.has('users:manage') && (
            <HeaderLink to="/organisation" label="Organisation and limits">
              <Building2 className="size-4" />
            </HeaderLink>
          )}
          {permissions.has('usage:read') && (
            <HeaderLink to="/usage" label="Usage">
              <BarChart3 className="size-4" />
            </HeaderLink>
          )}
          {permissions.has('audit:read') && (
            <HeaderLink to="/audit" label="Audit trail">
              <ScrollText className="size-4" />
            </HeaderLink>
          )}
          {permissions.has('audit:read') && (
            <HeaderLink to="/prompt-log" label="Prompt log">
              <MessageSquareText className="size-4" />
            </HeaderLink>
          )}
          {chats && (
            <HeaderLink to="/collections" label="Collections">
              <Library className="size-4" />
            </HeaderLink>
          )}
          <HeaderLink to="/settings" label="API keys">
            <KeyRound className="size-4" />
          </HeaderLink>
          <IconButton label="Sign out" onClick={() => signOut.mutate()}>
            <LogOut className="size-4" />
          </IconButton>
        </header>
        <div className="min-h-0 flex-1">
          <Outlet />
        </div>
      </div>
    </div>
  );
}
