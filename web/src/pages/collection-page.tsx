import type { Collection, DocumentInfo, UploadResult } from '@axon/contracts';
import { useQueryClient } from '@tanstack/react-query';
import { clsx } from 'clsx';
import { Download, FileUp, Trash2 } from 'lucide-react';
import { type DragEvent, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { toast } from 'sonner';
import { describeError } from '../api/api-client';
import {
  useCollection,
  useCollectionDocuments,
  useDeleteCollection,
  useDeleteDocument,
  useUpdateCollection,
  useUpdateDocument,
} from '../api/queries';
import { uploadFiles } from '../api/upload-files';
import { Button, IconButton } from '../ui/button';
import { CollectionMembers } from './collection-members';

interface UploadRow {
  key: string;
  name: string;
  progress: number;
  /** Set once the server answered: the document, or why the file was refused. */
  documentId?: string;
  error?: string;
}

const STATUS_LABEL: Record<DocumentInfo['status'], string> = {
  queued: 'Queued',
  parsing: 'Reading',
  chunking: 'Chunking',
  indexing: 'Indexing',
  ready: 'Ready',
  failed: 'Failed',
};

function formatSize(bytes: number) {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/** One collection: its documents with their processing status, uploads by drag and drop, settings. */
export function CollectionPage() {
  const { id = '' } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const collection = useCollection(id);
  const documents = useCollectionDocuments(id);
  const removeDocument = useDeleteDocument(id);
  const removeCollection = useDeleteCollection();
  const update = useUpdateCollection(id);
  const [uploads, setUploads] = useState<UploadRow[]>([]);
  const [dragging, setDragging] = useState(false);
  const inputRef = useRef<HTMLInputElement>(null);
  const canEdit = collection.data?.access === 'owner' || collection.data?.access === 'editor';

  const startUploads = (files: File[]) => {
    if (!canEdit || files.length === 0) return;
    const rows = files.map((file, i) => ({ key: `${Date.now()}-${i}-${file.name}`, name: file.name, progress: 0 }));
    setUploads((current) => [...rows, ...current]);
    files.forEach((file, i) => {
      const key = rows[i]?.key as string;
      const patch = (change: Partial<UploadRow>) =>
        setUploads((current) => current.map((row) => (row.key === key ? { ...row, ...change } : row)));
      uploadFiles(id, [file], (progress) => patch({ progress }))
        .then(({ status, body }) => {
          const entry = (body as UploadResult).files?.[0];
          if (entry?.document)
            patch({ progress: 1, documentId: entry.document.id, ...(entry.duplicateOf ? { error: 'Already in this collection' } : {}) });
          else patch({ progress: 1, error: entry?.error ?? (body as { detail?: string }).detail ?? `HTTP ${status}` });
          void queryClient.invalidateQueries({ queryKey: ['collection-documents', id] });
        })
        .catch((error: Error) => patch({ error: error.message }));
    });
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    startUploads([...event.dataTransfer.files]);
  };

  if (collection.isError) {
    return (
      <main className="p-6">
        <p role="alert">{describeError(collection.error).message}</p>
        <Link to="/collections" className="text-sm underline">
          All collections
        </Link>
      </main>
    );
  }
  const pending = uploads.filter((u) => !u.documentId || u.error);

  return (
    <main
      className={clsx('relative mx-auto h-full w-full max-w-4xl overflow-y-auto p-6', dragging && 'bg-indigo-50 dark:bg-indigo-950/40')}
      onDragOver={(e) => {
        if (!canEdit) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <Link to="/collections" className="text-xs text-zinc-500 dark:text-zinc-400 hover:underline">
        ← Collections
      </Link>
      <div className="mb-4 flex flex-wrap items-center gap-2">
        <h1 className="flex-1 text-xl font-semibold">{collection.data?.name ?? 'Collection'}</h1>
        {collection.data?.access === 'owner' && (
          <>
            <label className="flex items-center gap-1 text-sm">
              <span className="text-zinc-500 dark:text-zinc-400">Visible to</span>
              <select
                aria-label="Visibility"
                value={collection.data.visibility}
                onChange={(e) =>
                  update.mutate(
                    { visibility: e.target.value as 'private' | 'organisation' },
                    { onError: (err) => toast.error(describeError(err).message) },
                  )
                }
                className="rounded-lg border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900"
              >
                <option value="private">me and members</option>
                <option value="organisation">everyone</option>
              </select>
            </label>
            <Button
              variant="secondary"
              onClick={() => {
                if (!window.confirm(`Delete the collection “${collection.data?.name}” and its documents?`)) return;
                removeCollection.mutate(id, {
                  onSuccess: () => navigate('/collections'),
                  onError: (e) => toast.error(describeError(e).message),
                });
              }}
            >
              <Trash2 className="size-4" /> Delete
            </Button>
          </>
        )}
      </div>
      {collection.data?.access === 'owner' && (
        <CollectionMembers collectionId={id} members={collection.data.members} visibility={collection.data.visibility} />
      )}
      {canEdit && collection.data && <RetrievalSettings collection={collection.data} update={update} />}
      {canEdit && (
        <button
          type="button"
          onClick={() => inputRef.current?.click()}
          className="mb-4 flex w-full flex-col items-center gap-1 rounded-xl border-2 border-dashed border-zinc-300 p-6 text-sm text-zinc-600 hover:border-indigo-400 dark:border-zinc-700 dark:text-zinc-400"
        >
          <FileUp className="size-6" />
          Drop files here or choose them — PDF, Word, Excel, PowerPoint, HTML, Markdown, text, CSV, images (read by OCR)
        </button>
      )}
      <input
        ref={inputRef}
        type="file"
        multiple
        aria-label="Choose files to upload"
        className="hidden"
        accept=".pdf,.docx,.xlsx,.pptx,.html,.htm,.md,.markdown,.txt,.csv,.png,.jpg,.jpeg"
        onChange={(e) => {
          startUploads([...(e.target.files ?? [])]);
          e.target.value = '';
        }}
      />
      {pending.length > 0 && (
        <ul className="mb-4 space-y-2" aria-label="Uploads">
          {pending.map((u) => (
            <li key={u.key} className="rounded-lg border border-zinc-200 p-2 text-sm dark:border-zinc-800" data-testid="upload-row">
              <div className="flex justify-between gap-2">
                <span className="truncate">{u.name}</span>
                <span className={clsx('shrink-0 text-xs', u.error ? 'text-red-600 dark:text-red-400' : 'text-zinc-500')}>
                  {u.error ?? `Uploading ${Math.round(u.progress * 100)}%`}
                </span>
              </div>
              {!u.error && (
                <div
                  className="mt-1 h-1.5 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800"
                  role="progressbar"
                  aria-valuenow={Math.round(u.progress * 100)}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-label={`Uploading ${u.name}`}
                >
                  <div className="h-full bg-indigo-500 transition-all" style={{ width: `${u.progress * 100}%` }} />
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {documents.data?.items.length === 0 && pending.length === 0 && (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          This collection is empty. {canEdit ? 'Drop documents on this page to add them.' : ''}
        </p>
      )}
      <ul className="divide-y divide-zinc-200 dark:divide-zinc-800" aria-label="Documents">
        {documents.data?.items.map((d) => (
          <li key={d.id} className="flex items-center gap-3 py-2 text-sm" data-testid="document-row" data-status={d.status}>
            <div className="min-w-0 flex-1">
              <div className="truncate font-medium">{d.name}</div>
              <div className={clsx('text-xs', d.status === 'failed' ? 'text-red-600 dark:text-red-400' : 'text-zinc-500')}>
                {d.status === 'failed'
                  ? d.error
                  : `${STATUS_LABEL[d.status]} · ${formatSize(d.size)}${d.pages ? ` · ${d.pages} pages` : ''}${d.status === 'ready' ? ` · ${d.chunkCount} passages` : ''}`}
              </div>
              <DocumentDescription document={d} canEdit={canEdit} collectionId={id} />
              {d.status !== 'ready' && d.status !== 'failed' && (
                <div className="mt-1 h-1 overflow-hidden rounded bg-zinc-200 dark:bg-zinc-800">
                  <div className="h-full w-1/3 animate-pulse bg-indigo-400" />
                </div>
              )}
            </div>
            <a
              href={`/api/documents/${d.id}/file`}
              aria-label={`Download ${d.name}`}
              title="Download"
              className="inline-flex size-8 items-center justify-center rounded-lg text-zinc-500 dark:text-zinc-400 hover:bg-zinc-100 dark:hover:bg-zinc-800"
            >
              <Download className="size-4" />
            </a>
            {canEdit && (
              <IconButton
                label={`Delete ${d.name}`}
                onClick={() => {
                  if (window.confirm(`Delete “${d.name}”?`))
                    removeDocument.mutate(d.id, { onError: (e) => toast.error(describeError(e).message) });
                }}
              >
                <Trash2 className="size-4" />
              </IconButton>
            )}
          </li>
        ))}
      </ul>
    </main>
  );
}

type CollectionUpdate = ReturnType<typeof useUpdateCollection>;

/** How many passages a question retrieves from this collection, the relevance floor, and MMR. */
function RetrievalSettings({ collection, update }: { collection: Collection; update: CollectionUpdate }) {
  const save = (patch: Partial<Pick<Collection, 'topK' | 'minScore' | 'mmr' | 'rerank'>>) =>
    update.mutate(patch, {
      onSuccess: () => toast.success('Retrieval settings saved'),
      onError: (err) => toast.error(describeError(err).message),
    });
  const field = 'w-20 rounded-lg border border-zinc-300 bg-transparent px-2 py-1 dark:border-zinc-700 dark:bg-zinc-900';
  return (
    <fieldset className="mb-4 flex flex-wrap items-center gap-x-6 gap-y-2 rounded-xl border border-zinc-200 px-4 py-3 text-sm dark:border-zinc-800">
      <legend className="px-1 text-xs font-medium text-zinc-500 dark:text-zinc-400">Retrieval</legend>
      <label className="flex items-center gap-2">
        <span>Passages per question</span>
        <input
          key={`k-${collection.topK}`}
          type="number"
          min={1}
          max={50}
          defaultValue={collection.topK}
          aria-label="Passages per question"
          className={field}
          onBlur={(e) => {
            const topK = Number(e.target.value);
            if (Number.isInteger(topK) && topK >= 1 && topK <= 50 && topK !== collection.topK) save({ topK });
          }}
        />
      </label>
      <label className="flex items-center gap-2">
        <span>Minimum relevance</span>
        <input
          key={`s-${collection.minScore}`}
          type="number"
          min={0}
          max={1}
          step={0.05}
          defaultValue={collection.minScore}
          aria-label="Minimum relevance"
          title="Passages scoring below this share of the best one are left out (0 keeps all)"
          className={field}
          onBlur={(e) => {
            const minScore = Number(e.target.value);
            if (minScore >= 0 && minScore <= 1 && minScore !== collection.minScore) save({ minScore });
          }}
        />
      </label>
      <label className="flex items-center gap-2" title="Prefer passages that add something over near-duplicates of ones already chosen">
        <input type="checkbox" checked={collection.mmr} onChange={(e) => save({ mmr: e.target.checked })} />
        <span>Diversify passages</span>
      </label>
      <label
        className="flex items-center gap-2"
        title="Reorder the retrieved passages with the configured rerank model (a second stage after search); without one, nothing changes"
      >
        <input type="checkbox" checked={collection.rerank} onChange={(e) => save({ rerank: e.target.checked })} />
        <span>Rerank passages</span>
      </label>
    </fieldset>
  );
}

const DATE_SOURCE: Record<NonNullable<DocumentInfo['dateSource']>, string> = {
  metadata: 'from the file',
  name: 'from its name',
  text: 'from its text',
  manual: 'set by hand',
};

/** Metadata fields as lines of `key: value`; `tags` takes a comma-separated list. */
function metadataToText(metadata: DocumentInfo['metadata']): string {
  return Object.entries(metadata)
    .map(([key, value]) => `${key}: ${Array.isArray(value) ? value.join(', ') : value}`)
    .join('\n');
}

function textToMetadata(text: string): DocumentInfo['metadata'] {
  const metadata: DocumentInfo['metadata'] = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at <= 0) continue;
    const key = line.slice(0, at).trim();
    const value = line.slice(at + 1).trim();
    if (!key || !value) continue;
    metadata[key] =
      key === 'tags'
        ? value
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean)
        : value;
  }
  return metadata;
}

/** A document's date (and where it came from) and metadata fields, editable by editors. */
function DocumentDescription({ document, canEdit, collectionId }: { document: DocumentInfo; canEdit: boolean; collectionId: string }) {
  const update = useUpdateDocument(collectionId);
  const [editing, setEditing] = useState(false);
  const [date, setDate] = useState(document.date ?? '');
  const [fields, setFields] = useState(metadataToText(document.metadata));
  const summary = [
    document.date ? `Dated ${document.date}${document.dateSource ? ` (${DATE_SOURCE[document.dateSource]})` : ''}` : 'No date',
    ...Object.entries(document.metadata).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`),
  ].join(' · ');
  if (!editing)
    return (
      <div className="flex items-center gap-2 text-xs text-zinc-500 dark:text-zinc-400" data-testid="document-description">
        <span className="truncate">{summary}</span>
        {canEdit && (
          <button
            type="button"
            className="shrink-0 underline"
            aria-label={`Edit the date and fields of ${document.name}`}
            onClick={() => {
              setDate(document.date ?? '');
              setFields(metadataToText(document.metadata));
              setEditing(true);
            }}
          >
            Edit
          </button>
        )}
      </div>
    );
  return (
    <form
      className="mt-1 flex flex-wrap items-start gap-2 text-xs"
      aria-label={`Date and fields of ${document.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        update.mutate(
          { id: document.id, date: date || null, metadata: textToMetadata(fields) },
          {
            onSuccess: () => {
              setEditing(false);
              toast.success('Document saved');
            },
            onError: (err) => toast.error(describeError(err).message),
          },
        );
      }}
    >
      <label className="flex items-center gap-1">
        <span>Date</span>
        <input
          type="date"
          value={date}
          onChange={(e) => setDate(e.target.value)}
          aria-label="Document date"
          className="rounded border border-zinc-300 bg-transparent px-1 py-0.5 dark:border-zinc-700"
        />
      </label>
      <label className="flex min-w-48 flex-1 flex-col gap-0.5">
        <span>Fields (one “key: value” a line; tags: a, b)</span>
        <textarea
          value={fields}
          onChange={(e) => setFields(e.target.value)}
          rows={2}
          aria-label="Document fields"
          className="rounded border border-zinc-300 bg-transparent px-1 py-0.5 font-mono dark:border-zinc-700"
        />
      </label>
      <Button type="submit" variant="secondary">
        Save
      </Button>
      <Button type="button" variant="secondary" onClick={() => setEditing(false)}>
        Cancel
      </Button>
    </form>
  );
}
