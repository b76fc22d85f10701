import { clsx } from 'clsx';
import {
  BarChart3,
  Bot,
  Building2,
  FileCode2,
  KeyRound,
  Library,
  LogOut,
  type LucideIcon,
  Menu,
  MessageSquareText,
  Moon,
  MoreVertical,
  Plug,
  Rocket,
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
import { ShortcutsDialog } from './ui/shortcuts-dialog';
import { useTheme } from './ui/use-theme';

function HeaderLink({ to, label, children }: { to: string; label: string; children: ReactNode }) {
  return (
    <Link
      to={to}
      aria-label={label}
      title={label}
      className="inline-flex size-8 items-center justify-center rounded-lg text-zinc-500 dark:text-zinc-400 hover:bg-zinc-100 dark:hover:bg-zinc-800"
    >
      {children}
    </Link>
  );
}

interface PageLink {
  to: string;
  label: string;
  icon: LucideIcon;
}

/** Every page of the header, in its order, and whether the person's permissions open it. */
function allPages(permissions: Set<string>): Array<PageLink & { when: boolean }> {
  return [
    { to: '/prompts', label: 'Prompt templates', icon: FileCode2, when: permissions.has('prompts:manage') },
    { to: '/agents', label: 'Agents', icon: Bot, when: permissions.has('agents:manage') },
    { to: '/deployments', label: 'Deployments', icon: Rocket, when: permissions.has('models:manage') },
    { to: '/tools', label: 'Tools and MCP servers', icon: Plug, when: permissions.has('tools:manage') },
    { to: '/admin', label: 'Users and keys', icon: Users, when: permissions.has('users:manage') },
    { to: '/organisation', label: 'Organisation and limits', icon: Building2, when: permissions.has('users:manage') },
    { to: '/usage', label: 'Usage', icon: BarChart3, when: permissions.has('usage:read') },
    { to: '/audit', label: 'Audit trail', icon: ScrollText, when: permissions.has('audit:read') },
    { to: '/prompt-log', label: 'Prompt log', icon: MessageSquareText, when: permissions.has('audit:read') },
    { to: '/collections', label: 'Collections', icon: Library, when: permissions.has('chat') },
    { to: '/settings', label: 'API keys', icon: KeyRound, when: true },
  ];
}

/** What a page the person's role does not include shows, instead of a form that cannot work. */
function NotAllowed({ page }: { page: string }) {
  return (
    <main className="flex h-full flex-col items-center justify-center gap-3 p-6 text-center">
      <h1 className="text-xl font-semibold">Not allowed</h1>
      <p className="max-w-md text-sm text-zinc-600 dark:text-zinc-400">
        Your role does not include {page}. An administrator can change your role under Users and keys.
      </p>
      <Link to="/" className="text-sm font-medium text-indigo-700 underline dark:text-indigo-300">
        Back to chat
      </Link>
    </main>
  );
}

/** On a phone, one button opens the pages, the theme and sign-out as a list of labelled items. */
function PhoneMenu({
  pages,
  email,
  onToggleTheme,
  onSignOut,
  pathname,
}: {
  pages: PageLink[];
  email: string;
  onToggleTheme: () => void;
  onSignOut: () => void;
  pathname: string;
}) {
  const [open, setOpen] = useState(false);
  const boxRef = useRef<HTMLDivElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: close whenever the page changes
  useEffect(() => setOpen(false), [pathname]);
  useEffect(() => {
    if (!open) return;
    const onPointer = (event: PointerEvent) => {
      if (!boxRef.current?.contains(event.target as Node)) setOpen(false);
    };
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') setOpen(false);
    };
    document.addEventListener('pointerdown', onPointer);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('pointerdown', onPointer);
      document.removeEventListener('keydown', onKey);
    };
  }, [open]);
  const item =
    'flex w-full items-center gap-3 rounded-lg px-3 py-2 text-left text-sm text-zinc-800 hover:bg-zinc-100 dark:text-zinc-100 dark:hover:bg-zinc-800';
  return (
    <div ref={boxRef} className="relative md:hidden">
      <IconButton label="Pages and settings" aria-expanded={open} aria-controls="phone-menu" onClick={() => setOpen((o) => !o)}>
        <MoreVertical className="size-4" />
      </IconButton>
      {open && (
        <nav
          id="phone-menu"
          aria-label="Pages and settings"
          className="absolute top-9 right-0 z-40 w-64 rounded-xl border border-zinc-200 bg-white p-1 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
        >
          <p className="truncate px-3 py-2 text-xs text-zinc-600 dark:text-zinc-400">{email}</p>
          <ul>
            {pages.map((p) => (
              <li key={p.to}>
                <Link to={p.to} className={item} aria-current={pathname === p.to ? 'page' : undefined}>
                  <p.icon className="size-4 shrink-0 text-zinc-500 dark:text-zinc-400" aria-hidden="true" /> {p.label}
                </Link>
              </li>
            ))}
            <li>
              <button type="button" className={item} onClick={onToggleTheme}>
                <Sun className="hidden size-4 shrink-0 text-zinc-500 dark:text-zinc-400 dark:block" aria-hidden="true" />
                <Moon className="size-4 shrink-0 text-zinc-500 dark:text-zinc-400 dark:hidden" aria-hidden="true" /> Dark or light theme
              </button>
            </li>
            <li>
              <button type="button" className={item} onClick={onSignOut}>
                <LogOut className="size-4 shrink-0 text-zinc-500 dark:text-zinc-400" aria-hidden="true" /> Sign out
              </button>
            </li>
          </ul>
        </nav>
      )}
    </div>
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

  if (session.isPending)
    return <div className="flex h-full items-center justify-center text-sm text-zinc-500 dark:text-zinc-400">Loading…</div>;
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
  const every = allPages(permissions);
  const pages = every.filter((p) => p.when);
  const closed = every.find((p) => !p.when && p.to === location.pathname);

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
          <span className="hidden truncate text-xs text-zinc-500 dark:text-zinc-400 lg:inline" data-testid="signed-in-as">
            {session.data.user.email}
            {session.data.organization && session.data.organization.slug !== 'default' ? ` · ${session.data.organization.name}` : ''}
          </span>
          <nav aria-label="Pages" className="hidden items-center gap-1 md:flex">
            <IconButton label="Toggle dark mode" onClick={toggle}>
              <Sun className="hidden size-4 dark:block" />
              <Moon className="size-4 dark:hidden" />
            </IconButton>
            {pages.map((p) => (
              <HeaderLink key={p.to} to={p.to} label={p.label}>
                <p.icon className="size-4" aria-hidden="true" />
              </HeaderLink>
            ))}
            <IconButton label="Sign out" onClick={() => signOut.mutate()}>
              <LogOut className="size-4" />
            </IconButton>
          </nav>
          <PhoneMenu
            pages={pages}
            email={session.data.user.email}
            onToggleTheme={toggle}
            onSignOut={() => signOut.mutate()}
            pathname={location.pathname}
          />
        </header>
        <div className="min-h-0 flex-1">{closed ? <NotAllowed page={closed.label.toLowerCase()} /> : <Outlet />}</div>
      </div>
      <ShortcutsDialog />
    </div>
  );
}
