import type { Citation, Message } from '@axon/contracts';
import { Eye, FileText } from 'lucide-react';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ApiError, describeError } from '../api/api-client';
import { useSharedConversation } from '../api/share-queries';
import { Markdown } from '../chat/markdown';

/** The passages an answer cites (or, when it cites none, those it was given), each opening to its whole text. */
function SharedSources({ message, open, onToggle }: { message: Message; open: number | undefined; onToggle: (n: number) => void }) {
  const cited = new Set([...message.content.matchAll(/\[(\d{1,3})\]/g)].map((m) => Number(m[1])));
  const shown = message.citations.some((c) => cited.has(c.n)) ? message.citations.filter((c) => cited.has(c.n)) : message.citations;
  if (shown.length === 0) return null;
  const where = (c: Citation) =>
    [c.documentDate ?? undefined, c.page !== null ? `Page ${c.page}` : (c.section ?? undefined)].filter(Boolean).join(' · ');
  return (
    <section className="mt-2 flex flex-col gap-2" aria-label="Sources">
      <div className="flex gap-2 overflow-x-auto pb-1">
        {shown.map((c) => (
          <button
            type="button"
            key={c.n}
            aria-expanded={open === c.n}
            onClick={() => onToggle(c.n)}
            className="w-52 shrink-0 rounded-lg border border-zinc-200 p-2 text-left text-xs hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900"
            data-testid="source-card"
          >
            <span className="flex items-center gap-1 font-medium">
              <span className="rounded bg-indigo-100 px-1 text-indigo-700 dark:bg-indigo-900 dark:text-indigo-200">{c.n}</span>
              <span className="truncate">{c.documentName}</span>
            </span>
            <span className="block text-zinc-500 dark:text-zinc-400">{where(c) || ' '}</span>
            <span className="line-clamp-2 text-zinc-600 dark:text-zinc-400">{c.text}</span>
          </button>
        ))}
      </div>
      {shown
        .filter((c) => c.n === open)
        .map((c) => (
          <blockquote
            key={c.n}
            className="rounded-lg border-l-4 border-indigo-400 bg-zinc-50 px-3 py-2 text-sm text-zinc-700 dark:bg-zinc-900 dark:text-zinc-300"
            data-testid="source-passage"
          >
            <p className="mb-1 text-xs font-medium text-zinc-500 dark:text-zinc-400">
              [{c.n}] {c.documentName}
              {where(c) ? ` · ${where(c)}` : ''}
            </p>
            <p className="whitespace-pre-wrap">{c.text}</p>
          </blockquote>
        ))}
    </section>
  );
}

function SharedAnswer({ message }: { message: Message }) {
  const [open, setOpen] = useState<number | undefined>();
  const toggle = (n: number) => setOpen((current) => (current === n ? undefined : n));
  return (
    <article data-testid="assistant-message" data-status={message.status}>
      <div className="prose-answer">
        <Markdown text={message.content} citationNumbers={new Set(message.citations.map((c) => c.n))} onCite={toggle} />
      </div>
      <SharedSources message={message} open={open} onToggle={toggle} />
      {message.status === 'error' && message.error && (
        <p className="mt-2 rounded-lg bg-red-50 p-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">{message.error}</p>
      )}
      {message.status === 'stopped' && <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">The answer was stopped here.</p>}
      {message.model && <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">{message.model}</p>}
    </article>
  );
}

/** A conversation someone of the organisation shared: read-only, the branch they show, with its sources. */
export function SharedConversationPage() {
  const { token = '' } = useParams();
  const shared = useSharedConversation(token);

  if (shared.isPending)
    return <div className="flex h-full items-center justify-center text-sm text-zinc-500 dark:text-zinc-400">Loading…</div>;
  if (shared.isError) {
    const missing = shared.error instanceof ApiError && (shared.error.status === 404 || shared.error.status === 400);
    return (
      <main className="flex h-full flex-col items-center justify-center gap-3 p-6 text-center">
        <h1 className="text-xl font-semibold">
          {missing ? 'This shared conversation is not available' : 'The conversation could not be loaded'}
        </h1>
        <p role="alert" className="max-w-md text-sm text-zinc-600 dark:text-zinc-400">
          {missing
            ? 'The link may have been revoked, or it was shared in another organisation. Ask the person who sent it for a new one.'
            : describeError(shared.error).message}
        </p>
        <Link to="/" className="text-sm font-medium text-indigo-700 underline dark:text-indigo-300">
          Back to chat
        </Link>
      </main>
    );
  }
  const conversation = shared.data;
  return (
    <main className="h-full overflow-y-auto" aria-labelledby="shared-title">
      <div className="mx-auto flex max-w-3xl flex-col gap-6 px-4 py-6">
        <header className="flex flex-col gap-1 border-b border-zinc-200 pb-4 dark:border-zinc-800">
          <h1 id="shared-title" className="text-xl font-semibold break-words">
            {conversation.title}
          </h1>
          <p className="flex flex-wrap items-center gap-2 text-sm text-zinc-600 dark:text-zinc-400">
            <span className="inline-flex items-center gap-1 rounded-full bg-zinc-100 px-2 py-0.5 text-xs font-medium text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
              <Eye className="size-3.5" aria-hidden="true" /> Read-only
            </span>
            <span>
              Shared by {conversation.sharedBy} on {new Date(conversation.sharedAt).toLocaleDateString()}
            </span>
          </p>
        </header>
        {conversation.messages.length === 0 && (
          <p className="text-sm text-zinc-500 dark:text-zinc-400">This conversation has no messages yet.</p>
        )}
        {conversation.messages.map((message) =>
          message.role === 'user' ? (
            <div key={message.id} className="flex flex-col items-end gap-1" data-testid="user-message">
              {message.attachments.length > 0 && (
                <ul className="flex max-w-[85%] flex-wrap justify-end gap-1" aria-label="Attached files">
                  {message.attachments.map((a) => (
                    <li
                      key={a.documentId}
                      className="flex min-w-0 items-center gap-1 rounded-lg border border-zinc-200 px-2 py-1 text-xs text-zinc-700 dark:border-zinc-700 dark:text-zinc-300"
                    >
                      <FileText className="size-3.5 shrink-0" aria-hidden="true" />
                      <span className="truncate">{a.name}</span>
                    </li>
                  ))}
                </ul>
              )}
              <div className="max-w-[85%] rounded-2xl bg-zinc-100 px-4 py-2 break-words whitespace-pre-wrap dark:bg-zinc-800">
                {message.content}
              </div>
            </div>
          ) : (
            <SharedAnswer key={message.id} message={message} />
          ),
        )}
      </div>
    </main>
  );
}
