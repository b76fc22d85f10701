import { FolderPlus, Library } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { Link } from 'react-router';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import { useCollections, useCreateCollection } from '../api/queries';
import { Button } from '../ui/button';
import { TextField } from '../ui/text-field';

/** The collections the person may read, and a form to create one. */
export function CollectionsPage() {
  const collections = useCollections();
  const create = useCreateCollection();
  const [name, setName] = useState('');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate(
      { name: name.trim() },
      {
        onSuccess: () => {
          setName('');
          toast.success('Collection created');
        },
        onError: (e) => toast.error(describeError(e).message),
      },
    );
  };

  return (
    <main className="mx-auto h-full w-full max-w-3xl overflow-y-auto p-6">
      <h1 className="mb-1 text-xl font-semibold">Collections</h1>
      <p className="mb-4 text-sm text-zinc-600 dark:text-zinc-400">
        Documents grouped for retrieval. Pick collections in a chat to ground its answers in them, with citations.
      </p>
      <form onSubmit={submit} className="mb-6 flex items-end gap-2">
        <TextField
          label="New collection"
          className="flex-1"
          required
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. Fed statements"
        />
        <Button type="submit" variant="primary" disabled={create.isPending || !name.trim()}>
          <FolderPlus className="size-4" /> Create
        </Button>
      </form>
      {collections.isError && <p role="alert">{describeError(collections.error).message}</p>}
      {collections.data?.items.length === 0 && (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          No collections yet. Create one, then drop your PDFs, Word, Excel and PowerPoint files, web pages, Markdown, text, CSV files or
          scans on it.
        </p>
      )}
      <ul className="grid gap-2 sm:grid-cols-2">
        {collections.data?.items.map((c) => (
          <li key={c.id}>
            <Link
              to={`/collections/${c.id}`}
              className="flex items-start gap-3 rounded-xl border border-zinc-200 p-3 hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900"
            >
              <Library className="mt-0.5 size-5 text-indigo-500" />
              <span className="min-w-0">
                <span className="block truncate font-medium">{c.name}</span>
                <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                  {c.documentCount} document{c.documentCount === 1 ? '' : 's'} · {c.access}
                  {c.visibility === 'organisation' ? ' · shared with everyone' : ''}
                </span>
              </span>
            </Link>
          </li>
        ))}
      </ul>
    </main>
  );
}
