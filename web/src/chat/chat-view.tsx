import { Chat, useChat } from '@ai-sdk/react';
import {
  type AssistantMetadata,
  type Citation,
  type Conversation,
  type ConversationSettings,
  type ConversationWithMessages,
  IMAGE_ATTACHMENT_TYPES,
  MAX_IMAGE_ATTACHMENT_BYTES,
  type Message,
  type MessageAttachment,
  type MessageFeedback,
  type TreasurySummary,
} from '@axon/contracts';
import { useQueryClient } from '@tanstack/react-query';
import { DefaultChatTransport, type UIMessage } from 'ai';
import { clsx } from 'clsx';
import { ArrowDown, ArrowUp, ChevronLeft, ChevronRight, FileText, Library, Paperclip, Pencil, RotateCcw, Square, X } from 'lucide-react';
import {
  type ClipboardEvent,
  type DragEvent,
  type KeyboardEvent,
  type RefObject,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import { Link } from 'react-router';
import { type AgentDataParts, ApprovalCard, StepCard, TreasurySummaryCard } from '../agents/agent-parts';
import { api, csrfHeaders, describeError } from '../api/api-client';
import { useCollections, useModels, usePromptTemplates } from '../api/queries';
import { uploadFiles } from '../api/upload-files';
import { Button, IconButton } from '../ui/button';
import { AnswerFeedback } from './answer-feedback';
import { CitationPanel } from './citation-panel';
import { ConversationSettingsButton, NO_SETTINGS } from './conversation-settings';
import { CopyButton, Markdown } from './markdown';
import { ModelPicker } from './model-picker';
import { type ResumeAnswer, useResumeAnswer } from './use-resume-answer';

/** Where a message sits in the conversation's tree: what it follows, and its versions (itself included). */
export interface ThreadPlace {
  parentId: string | null;
  versions: string[];
}

export type ChatMessage = UIMessage<
  AssistantMetadata,
  { citations: Citation[]; attachments: MessageAttachment[]; thread: ThreadPlace; feedback: MessageFeedback } & AgentDataParts
>;

export function toUiMessages(messages: Message[]): ChatMessage[] {
  return messages.map((m) => ({
    id: m.id,
    role: m.role,
    parts: [
      ...(m.citations.length > 0 ? [{ type: 'data-citations' as const, data: m.citations }] : []),
      ...(m.attachments.length > 0 ? [{ type: 'data-attachments' as const, data: m.attachments }] : []),
      { type: 'data-thread' as const, data: { parentId: m.parentId, versions: m.versions } },
      ...(m.feedback ? [{ type: 'data-feedback' as const, data: m.feedback }] : []),
      ...(m.agentRun?.steps ?? []).map((step) => ({ type: 'data-step' as const, id: step.id, data: step })),
      ...(m.agentRun?.summary ? [{ type: 'data-treasury-summary' as const, data: m.agentRun.summary }] : []),
      { type: 'text' as const, text: m.content },
    ],
    metadata:
      m.role === 'assistant'
        ? { messageId: m.id, model: m.model ?? undefined, status: m.status, usage: m.usage, timing: m.timing, error: m.error }
        : undefined,
  }));
}

const textOf = (m: ChatMessage) => m.parts.map((p) => (p.type === 'text' ? p.text : '')).join('');
const citationsOf = (m: ChatMessage): Citation[] => m.parts.flatMap((p) => (p.type === 'data-citations' ? p.data : []));
const summaryOf = (m: ChatMessage): TreasurySummary | undefined =>
  m.parts.find((p) => p.type === 'data-treasury-summary')?.data as TreasurySummary | undefined;

/** An agent's steps (collapsible cards) and the approvals it waits for, above its answer. */
function AgentParts({ message }: { message: ChatMessage }) {
  const steps = message.parts.flatMap((p) => (p.type === 'data-step' ? [p.data] : []));
  const approvals = message.parts.flatMap((p) => (p.type === 'data-approval' ? [p.data] : []));
  if (steps.length === 0 && approvals.length === 0) return null;
  return (
    <section className="mb-3 flex flex-col gap-1.5" aria-label="Agent steps">
      {steps.map((step) => (
        <StepCard key={step.id} step={step} />
      ))}
      {approvals.map((approval) => (
        <ApprovalCard key={approval.id} approval={approval} />
      ))}
    </section>
  );
}
const attachmentsOf = (m: ChatMessage): MessageAttachment[] => m.parts.flatMap((p) => (p.type === 'data-attachments' ? p.data : []));
const threadOf = (m: ChatMessage): ThreadPlace | undefined =>
  m.parts.find((p) => p.type === 'data-thread')?.data as ThreadPlace | undefined;

/** ‹ 2/3 ›: moves between the versions of a question or an answer. */
function VersionSwitcher({ message, disabled, onPick }: { message: ChatMessage; disabled: boolean; onPick: (id: string) => void }) {
  const versions = threadOf(message)?.versions ?? [];
  const at = versions.indexOf(message.id);
  if (versions.length < 2 || at < 0) return null;
  const step = (by: number) => {
    const next = versions[at + by];
    if (next) onPick(next);
  };
  return (
    <span className="inline-flex items-center text-xs text-zinc-600 dark:text-zinc-400" data-testid="versions">
      <IconButton label="Previous version" className="size-6" disabled={disabled || at === 0} onClick={() => step(-1)}>
        <ChevronLeft className="size-3.5" />
      </IconButton>
      <span className="tabular-nums" aria-hidden="true">
        {at + 1}/{versions.length}
      </span>
      <span className="sr-only">
        Version {at + 1} of {versions.length}
      </span>
      <IconButton label="Next version" className="size-6" disabled={disabled || at === versions.length - 1} onClick={() => step(1)}>
        <ChevronRight className="size-3.5" />
      </IconButton>
    </span>
  );
}

/** Sources under an answer: the passages it cites (or, if it cites none, those it was given). */
function SourcesRow({ citations, text, onOpen }: { citations: Citation[]; text: string; onOpen: (c: Citation) => void }) {
  const cited = new Set([...text.matchAll(/\[(\d{1,3})\]/g)].map((m) => Number(m[1])));
  const shown = citations.some((c) => cited.has(c.n)) ? citations.filter((c) => cited.has(c.n)) : citations;
  if (shown.length === 0) return null;
  return (
    <section className="mt-2 flex gap-2 overflow-x-auto pb-1" aria-label="Sources">
      {shown.map((c) => (
        <button
          type="button"
          key={c.n}
          onClick={() => onOpen(c)}
          className="w-52 shrink-0 rounded-lg border border-zinc-200 p-2 text-left text-xs hover:bg-zinc-50 dark:border-zinc-800 dark:hover:bg-zinc-900"
          data-testid="source-card"
        >
          <span className="flex items-center gap-1 font-medium">
            <span className="rounded bg-indigo-100 px-1 text-indigo-700 dark:bg-indigo-900 dark:text-indigo-200">{c.n}</span>
            <span className="truncate">{c.documentName}</span>
          </span>
          <span className="block text-zinc-500 dark:text-zinc-400">
            {[c.documentDate ?? undefined, c.page !== null ? `Page ${c.page}` : (c.section ?? undefined)].filter(Boolean).join(' · ') ||
              ' '}
          </span>
          <span className="line-clamp-2 text-zinc-600 dark:text-zinc-400">{c.text}</span>
        </button>
      ))}
    </section>
  );
}

interface Attachment {
  key: string;
  name: string;
  size: number;
  progress: number;
  documentId?: string;
  status: 'uploading' | 'processing' | 'ready' | 'failed';
  error?: string;
  /** Set for an image a model may be given as it is. */
  mediaType?: string;
  /** The image as a data URL, shown while it uploads (the CSP allows `data:` images, not `blob:`). */
  preview?: string;
}

const IMAGE_TYPES = new Set<string>(IMAGE_ATTACHMENT_TYPES);
const isImage = (mediaType: string | undefined) => mediaType !== undefined && IMAGE_TYPES.has(mediaType);

/** What the file picker offers: the document types Axon reads, and images. */
const ATTACHABLE = ['.pdf', '.docx', '.xlsx', '.pptx', '.md', '.markdown', '.txt', '.csv', '.html', '.htm', ...IMAGE_ATTACHMENT_TYPES].join(
  ',',
);

/** How the chosen model takes an attachment: an image as it is (it reads images, and it is small enough), else its text. */
function readsAs(attachment: Pick<Attachment, 'mediaType' | 'size'>, readsImages: boolean): 'image' | 'text' | undefined {
  if (!isImage(attachment.mediaType)) return undefined;
  return readsImages && attachment.size <= MAX_IMAGE_ATTACHMENT_BYTES ? 'image' : 'text';
}

/** An attachment that can go with the next message: its text is read, or the model is shown the image itself. */
const sendable = (a: Attachment, readsImages: boolean) =>
  a.documentId !== undefined && (a.status === 'ready' || (readsAs(a, readsImages) === 'image' && a.status !== 'uploading'));

/** Pasted images all come named `image.png`: each gets a name of its own (a same-named upload replaces the earlier one). */
function namePasted(file: File): File {
  if (!isImage(file.type) || !/^image\.\w+$/.test(file.name)) return file;
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const extension = file.type.split('/')[1]?.replace('jpeg', 'jpg') ?? 'png';
  return new File([file], `Pasted image ${stamp}-${Math.random().toString(36).slice(2, 6)}.${extension}`, { type: file.type });
}

function readDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

/** An attachment's progress in the composer: how far it uploaded, then whether it can go. */
function AttachmentStatus({ attachment: a, readsImages }: { attachment: Attachment; readsImages: boolean }) {
  if (a.status === 'uploading') return <span className="text-zinc-500">{Math.round(a.progress * 100)}%</span>;
  // An image the model is shown as it is goes as soon as it is uploaded, whatever OCR makes of it.
  if (a.documentId && readsAs(a, readsImages) === 'image') return <span className="text-zinc-500">✓</span>;
  if (a.status === 'processing') return <span className="text-zinc-500">reading…</span>;
  if (a.status === 'failed') return <span className="text-red-600 dark:text-red-400">{a.error}</span>;
  return <span className="text-zinc-500">✓</span>;
}

/** A file on a sent message: an image as a thumbnail (opening the original), any other file by its name. */
function SentAttachment({ attachment: a }: { attachment: MessageAttachment }) {
  const [broken, setBroken] = useState(false);
  const chip = (
    <span className="flex min-w-0 items-center gap-1 rounded-lg border border-zinc-200 px-2 py-1 text-xs text-zinc-700 dark:border-zinc-700 dark:text-zinc-300">
      <FileText className="size-3.5 shrink-0" aria-hidden="true" />
      <span className="truncate">{a.name}</span>
    </span>
  );
  const url = `/api/documents/${encodeURIComponent(a.documentId)}/file`;
  return (
    <li className="flex min-w-0 flex-col items-end gap-0.5" data-testid="sent-attachment">
      {isImage(a.mediaType) && !broken ? (
        <a href={url} target="_blank" rel="noopener noreferrer" title={a.name}>
          <img
            src={url}
            alt={a.name}
            onError={() => setBroken(true)}
            className="max-h-40 max-w-60 rounded-lg border border-zinc-200 object-cover dark:border-zinc-700"
            data-testid="sent-thumbnail"
          />
        </a>
      ) : (
        chip
      )}
      {a.readAs === 'text' && (
        <span className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="attachment-note">
          Its text was used, not the image.
        </span>
      )}
    </li>
  );
}

/** Files attached to the next message: uploaded at once, then read and indexed before it is sent. */
function useAttachments() {
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const patch = useCallback(
    (key: string, change: Partial<Attachment>) => setAttachments((all) => all.map((a) => (a.key === key ? { ...a, ...change } : a))),
    [],
  );
  const add = useCallback(
    (files: File[]) => {
      for (const file of files) {
        const key = `${Date.now()}-${Math.random()}`;
        const mediaType = isImage(file.type) ? file.type : undefined;
        setAttachments((all) => [
          ...all,
          { key, name: file.name, size: file.size, progress: 0, status: 'uploading', ...(mediaType ? { mediaType } : {}) },
        ]);
        if (mediaType)
          readDataUrl(file)
            .then((preview) => patch(key, { preview }))
            .catch(() => undefined);
        uploadFiles(null, [file], (progress) => patch(key, { progress }))
          .then(async ({ body }) => {
            const entry = 'files' in body ? body.files[0] : undefined;
            const document = entry?.document;
            if (!document)
              return patch(key, { status: 'failed', error: entry?.error ?? (body as { detail?: string }).detail ?? 'The upload failed' });
            // The type Axon read from the bytes decides whether it is an image.
            patch(key, {
              status: 'processing',
              documentId: document.id,
              progress: 1,
              mediaType: isImage(document.mime) ? document.mime : undefined,
            });
            for (let i = 0; i < 600; i++) {
              const current = await api<{ status: string; error: string | null }>('GET', `/api/documents/${document.id}`);
              if (current.status === 'ready') return patch(key, { status: 'ready' });
              if (current.status === 'failed') return patch(key, { status: 'failed', error: current.error ?? 'It could not be read' });
              await new Promise((r) => setTimeout(r, 500));
            }
          })
          .catch((error: Error) => patch(key, { status: 'failed', error: error.message }));
      }
    },
    [patch],
  );
  const remove = useCallback((key: string) => setAttachments((all) => all.filter((a) => a.key !== key)), []);
  const clear = useCallback(() => setAttachments([]), []);
  return { attachments, add, remove, clear };
}

/** Picks the collections a conversation searches. */
function CollectionsPicker({
  selected,
  onChange,
  detailsRef,
}: {
  selected: string[];
  onChange: (ids: string[]) => void;
  detailsRef: RefObject<HTMLDetailsElement | null>;
}) {
  const collections = useCollections();
  // Closes on a click elsewhere and on Esc, as a menu does.
  useEffect(() => {
    const close = (event: Event) => {
      const details = detailsRef.current;
      if (!details?.open) return;
      if (event instanceof globalThis.KeyboardEvent ? event.key === 'Escape' : !details.contains(event.target as Node))
        details.open = false;
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, [detailsRef]);
  const items = collections.data?.items ?? [];
  if (items.length === 0) return null;
  const label =
    selected.length === 0
      ? 'No documents'
      : selected.length === 1
        ? (items.find((c) => c.id === selected[0])?.name ?? '1 collection')
        : `${selected.length} collections`;
  return (
    <details ref={detailsRef} className="relative min-w-0 shrink">
      <summary
        className="flex max-w-44 cursor-pointer list-none items-center gap-1 whitespace-nowrap rounded-lg border border-zinc-200 px-2 py-1 text-xs dark:border-zinc-700"
        aria-label={`Collections to search: ${label}`}
      >
        <Library className="size-3.5 shrink-0" aria-hidden="true" /> <span className="truncate">{label}</span>
      </summary>
      <fieldset className="absolute bottom-9 left-0 z-20 w-64 rounded-lg border border-zinc-200 bg-white p-2 shadow-lg dark:border-zinc-700 dark:bg-zinc-900">
        <legend className="sr-only">Collections to search</legend>
        {items.map((c) => (
          <label key={c.id} className="flex items-center gap-2 rounded px-1 py-1 text-sm hover:bg-zinc-100 dark:hover:bg-zinc-800">
            <input
              type="checkbox"
              checked={selected.includes(c.id)}
              onChange={(e) => onChange(e.target.checked ? [...selected, c.id] : selected.filter((id) => id !== c.id))}
            />
            <span className="truncate">{c.name}</span>
            <span className="ml-auto text-xs text-zinc-500 dark:text-zinc-400">{c.documentCount}</span>
          </label>
        ))}
      </fieldset>
    </details>
  );
}

const EXAMPLES = [
  'Summarize the text I paste below in three bullet points.',
  'Explain the difference between the 2-year and 10-year Treasury yields.',
  'What did the Federal Reserve decide at its last meeting?',
  'Summarize today’s treasury yield movement.',
  'Draft a short, friendly reply declining a meeting.',
];

function formatMs(ms: number | null | undefined): string | undefined {
  if (ms === null || ms === undefined) return undefined;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function AnswerMeta({
  metadata,
  onRegenerate,
  text,
  busy,
  feedback,
}: {
  metadata: AssistantMetadata | undefined;
  onRegenerate?: (() => void) | undefined;
  text: string;
  busy: boolean;
  feedback: MessageFeedback | null;
}) {
  const parts = [
    metadata?.model,
    metadata?.usage?.outputTokens != null ? `${metadata.usage.inputTokens ?? '?'} → ${metadata.usage.outputTokens} tokens` : undefined,
    metadata?.timing?.ttftMs != null ? `first token ${formatMs(metadata.timing.ttftMs)}` : undefined,
    metadata?.timing?.totalMs != null ? `total ${formatMs(metadata.timing.totalMs)}` : undefined,
  ].filter(Boolean);
  return (
    <div className="mt-1 flex flex-wrap items-center gap-x-2 text-xs text-zinc-500 dark:text-zinc-400" data-testid="answer-meta">
      {metadata?.status === 'stopped' && (
        <span className="rounded bg-zinc-100 px-1.5 py-0.5 font-medium text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">Stopped</span>
      )}
      {!busy && <span>{parts.join(' · ')}</span>}
      {!busy && (
        <span className="flex flex-wrap items-center">
          <span className="[&_button]:text-zinc-500 [&_button:hover]:bg-zinc-100 [&_button:hover]:text-zinc-900 dark:[&_button]:text-zinc-400 dark:[&_button:hover]:bg-zinc-800 dark:[&_button:hover]:text-zinc-100">
            <CopyButton text={text} label="Copy answer" />
          </span>
          {onRegenerate && (
            <IconButton label="Regenerate" onClick={onRegenerate} className="size-6">
              <RotateCcw className="size-3.5" />
            </IconButton>
          )}
          {metadata?.messageId && metadata.status !== 'streaming' && (
            <AnswerFeedback key={metadata.messageId} messageId={metadata.messageId} initial={feedback} />
          )}
        </span>
      )}
    </div>
  );
}

function errorNotice(error: unknown): { text: string; action?: 'sign-in' } {
  const { message, code, retryAfterSeconds } = describeError(error);
  if (code === 'unauthenticated') return { text: 'You are signed out.', action: 'sign-in' };
  if (code === 'rate_limited') return { text: `Rate limited — try again in ${retryAfterSeconds ?? 'a few'} s.` };
  if (code === 'network') return { text: 'Axon is not reachable. Check your connection and try again.' };
  if (code?.startsWith('upstream')) return { text: `The model provider is not reachable or failed: ${message}` };
  return { text: message };
}

export interface ChatViewProps {
  conversation: Conversation | undefined;
  initialMessages: ChatMessage[];
  /** Called once the first message of a new chat has created its conversation. */
  onCreated: (conversation: Conversation) => void;
}

/** One conversation: the message list, streaming through `useChat`, and the composer. */
export function ChatView({ conversation, initialMessages, onCreated }: ChatViewProps) {
  const queryClient = useQueryClient();
  const models = useModels();
  const idRef = useRef(conversation?.id);
  const [model, setModel] = useState<string | undefined>(conversation?.model ?? undefined);
  const selectedModel = model ?? models.data?.defaultModel;
  const modelRef = useRef(selectedModel);
  modelRef.current = selectedModel;
  const templates = usePromptTemplates();
  const [prompt, setPrompt] = useState<string | null>(conversation?.prompt ?? null);
  const promptRef = useRef(prompt);
  promptRef.current = prompt;
  const [settings, setSettings] = useState<ConversationSettings>(
    conversation
      ? { systemPrompt: conversation.systemPrompt, temperature: conversation.temperature, maxTokens: conversation.maxTokens }
      : NO_SETTINGS,
  );
  const settingsRef = useRef(settings);
  settingsRef.current = settings;
  const [input, setInput] = useState('');
  const [collectionIds, setCollectionIds] = useState<string[]>(conversation?.collectionIds ?? []);
  const collectionIdsRef = useRef(collectionIds);
  collectionIdsRef.current = collectionIds;
  const [openCitation, setOpenCitation] = useState<Citation | undefined>();
  const { attachments, add: addAttachments, remove: removeAttachment, clear: clearAttachments } = useAttachments();
  const attachmentsRef = useRef<string[]>([]);
  /** For an edited question: the message it follows (null: a new first message). */
  const parentIdRef = useRef<string | null | undefined>(undefined);
  const refreshRef = useRef<() => Promise<void>>(async () => undefined);
  const fileInputRef = useRef<HTMLInputElement>(null);
  /** Whether the chosen model is shown images as they are (unless its capabilities say it does not read them). */
  const readsImages = models.data?.models.find((m) => m.id === selectedModel)?.capabilities.vision !== false;
  const attaching = attachments.some((a) => a.status === 'uploading' || (a.status === 'processing' && readsAs(a, readsImages) !== 'image'));
  const [dragging, setDragging] = useState(false);
  const [createError, setCreateError] = useState<unknown>();
  const collectionsRef = useRef<HTMLDetailsElement>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const scrollRef = useRef<HTMLDivElement>(null);
  const [following, setFollowing] = useState(true);

  const transport = useMemo(
    () =>
      new DefaultChatTransport<ChatMessage>({
        api: '/api/conversations',
        credentials: 'same-origin',
        headers: () => csrfHeaders(),
        prepareSendMessagesRequest: ({ messages, trigger }) => {
          const last = messages.at(-1);
          return {
            api: `/api/conversations/${idRef.current}/chat`,
            headers: csrfHeaders(),
            body: {
              trigger,
              ...(modelRef.current ? { model: modelRef.current } : {}),
              ...(trigger === 'submit-message' && last ? { message: { id: last.id, text: textOf(last) } } : {}),
              ...(trigger === 'submit-message' && attachmentsRef.current.length > 0 ? { attachments: attachmentsRef.current } : {}),
              ...(trigger === 'submit-message' && parentIdRef.current !== undefined ? { parentId: parentIdRef.current } : {}),
              // A reload or a dropped connection does not stop the answer: the page picks it up again.
              resumable: true,
            },
          };
        },
        prepareReconnectToStreamRequest: () => ({
          api: `/api/conversations/${idRef.current}/stream`,
          credentials: 'same-origin',
        }),
      }),
    [],
  );

  const resumerRef = useRef<ResumeAnswer | undefined>(undefined);
  // The chat is made here rather than by useChat, so that it keeps this transport as it is: useChat's
  // wrapper of a transport drops `resumeStreamIsReplay`, and a replayed answer would then be added
  // to what was already shown instead of replacing it.
  const [chat] = useState(
    () =>
      new Chat<ChatMessage>({
        ...(conversation ? { id: conversation.id } : {}),
        messages: initialMessages,
        transport,
        onFinish: ({ isAbort, isError, isDisconnect }) => {
          void queryClient.invalidateQueries({ queryKey: ['conversations'] });
          // The saved branch, with the server's ids and each message's versions.
          if (!isAbort && !isError) void refreshRef.current();
          if (isDisconnect && idRef.current) resumerRef.current?.onDisconnect();
        },
        onError: () => resumerRef.current?.onError(),
      }),
  );
  const { messages, sendMessage, status, stop, regenerate, error, clearError, setMessages } = useChat<ChatMessage>({
    chat,
    experimental_throttle: 30,
  });
  const resumer = useResumeAnswer(chat.resumeStream, () => refreshRef.current());
  resumerRef.current = resumer;
  // A page opened (or reloaded) while an answer is being written picks it up where it is.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, for the messages the page opened with
  useEffect(() => {
    const last = initialMessages.at(-1);
    if (idRef.current && last?.role === 'assistant' && last.metadata?.status === 'streaming') void resumer.resume();
  }, []);
  const showThread = useCallback((fresh: ConversationWithMessages) => setMessages(toUiMessages(fresh.messages)), [setMessages]);
  refreshRef.current = async () => {
    if (idRef.current) showThread(await api<ConversationWithMessages>('GET', `/api/conversations/${idRef.current}`));
  };
  const pickVersion = (messageId: string) => {
    if (!idRef.current) return;
    api<ConversationWithMessages>('POST', `/api/conversations/${idRef.current}/branch`, { messageId })
      .then(showThread)
      .catch((e: unknown) => setCreateError(e));
  };
  const [editing, setEditing] = useState<{ id: string; text: string } | undefined>();
  const sendEdit = (index: number) => {
    const message = messages[index];
    if (!editing || !message || !editing.text.trim() || busy) return;
    // The edited question becomes a version of the original: a message with the same parent.
    parentIdRef.current = threadOf(message)?.parentId ?? messages[index - 1]?.id ?? null;
    setEditing(undefined);
    setMessages(messages.slice(0, index));
    setFollowing(true);
    void sendMessage({ text: editing.text.trim() }).finally(() => {
      parentIdRef.current = undefined;
    });
  };
  const busy = status === 'submitted' || status === 'streaming';

  // Stop reaches the server that writes the answer (whichever it is), then ends the stream; the server
  // saves the partial answer as stopped, and the answer says so at once.
  const stopAnswer = useCallback(async () => {
    if (idRef.current) await api('POST', `/api/conversations/${idRef.current}/stop`, {}).catch(() => undefined);
    await stop();
    setMessages((all) => {
      const last = all.at(-1);
      if (last?.role !== 'assistant' || (last.metadata?.status && last.metadata.status !== 'streaming')) return all;
      return [...all.slice(0, -1), { ...last, metadata: { ...last.metadata, status: 'stopped' } }];
    });
  }, [stop, setMessages]);

  const send = useCallback(
    async (text: string) => {
      const trimmed = text.trim();
      if (!trimmed || busy || attaching) return;
      setCreateError(undefined);
      clearError();
      if (!idRef.current) {
        try {
          const created = await api<Conversation>('POST', '/api/conversations', {
            ...(modelRef.current ? { model: modelRef.current } : {}),
            ...(collectionIdsRef.current.length > 0 ? { collectionIds: collectionIdsRef.current } : {}),
            ...(promptRef.current ? { prompt: promptRef.current } : {}),
            ...Object.fromEntries(Object.entries(settingsRef.current).filter(([, v]) => v !== null)),
          });
          idRef.current = created.id;
          onCreated(created);
        } catch (e) {
          setCreateError(e);
          return;
        }
      }
      setInput('');
      setFollowing(true);
      const ready = attachments.filter((a) => sendable(a, readsImages));
      attachmentsRef.current = ready.map((a) => a.documentId as string);
      clearAttachments();
      if (collectionsRef.current) collectionsRef.current.open = false;
      const sent: MessageAttachment[] = ready.map((a) => {
        const readAs = readsAs(a, readsImages);
        return { documentId: a.documentId as string, name: a.name, ...(readAs ? { mediaType: a.mediaType, readAs } : {}) };
      });
      void sendMessage({
        parts: [...(sent.length > 0 ? [{ type: 'data-attachments' as const, data: sent }] : []), { type: 'text' as const, text: trimmed }],
      }).finally(() => {
        attachmentsRef.current = [];
      });
    },
    [busy, attaching, clearError, onCreated, sendMessage, attachments, clearAttachments, readsImages],
  );

  // A pasted image (a screenshot, a copied picture) is attached; pasted text goes into the box as usual.
  const onPaste = (event: ClipboardEvent<HTMLTextAreaElement>) => {
    const files = [...event.clipboardData.files];
    if (files.length === 0) return;
    if (!event.clipboardData.types.includes('text/plain')) event.preventDefault();
    addAttachments(files.map(namePasted));
  };
  // Files dropped anywhere on the chat are attached to the next message.
  const carriesFiles = (event: DragEvent) => event.dataTransfer.types.includes('Files');
  const onDragOver = (event: DragEvent<HTMLDivElement>) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  };
  const onDragLeave = (event: DragEvent<HTMLDivElement>) => {
    if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
  };
  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    setDragging(false);
    addAttachments([...event.dataTransfer.files]);
  };

  const onCollectionsChange = (ids: string[]) => {
    setCollectionIds(ids);
    if (idRef.current) void api('PATCH', `/api/conversations/${idRef.current}`, { collectionIds: ids }).catch(() => undefined);
  };

  const onPromptChange = (value: string | null) => {
    setPrompt(value);
    if (idRef.current) void api('PATCH', `/api/conversations/${idRef.current}`, { prompt: value }).catch(() => undefined);
  };

  const onSettingsChange = (value: ConversationSettings) => {
    setSettings(value);
    if (idRef.current) void api('PATCH', `/api/conversations/${idRef.current}`, value).catch((e: unknown) => setCreateError(e));
  };

  const onModelChange = (value: string) => {
    setModel(value);
    if (idRef.current) void api('PATCH', `/api/conversations/${idRef.current}`, { model: value }).catch(() => undefined);
  };

  // Esc stops generation from anywhere on the page.
  useEffect(() => {
    const onKey = (event: globalThis.KeyboardEvent) => {
      if (event.key === 'Escape' && busy) {
        event.preventDefault();
        void stopAnswer();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [busy, stopAnswer]);

  // The message box grows with its text up to 240 px, and shrinks back when it is emptied (after sending).
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-measure whenever the text changes
  useLayoutEffect(() => {
    const el = inputRef.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, 240)}px`;
  }, [input]);

  useEffect(() => {
    inputRef.current?.focus();
  }, []);

  // Follow new text unless the reader scrolled up.
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-run whenever the messages change
  useEffect(() => {
    const el = scrollRef.current;
    if (el && following) el.scrollTop = el.scrollHeight;
  }, [messages, following]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (el) setFollowing(el.scrollHeight - el.scrollTop - el.clientHeight < 40);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void send(input);
    }
  };

  const notice = error ? errorNotice(error) : createError ? errorNotice(createError) : undefined;
  const lastAssistantIndex = messages.findLastIndex((m) => m.role === 'assistant');

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: a drop target for files dragged onto the chat; the paperclip button is the way to attach by keyboard
    <div className="relative flex h-full min-h-0 flex-col" onDragOver={onDragOver} onDragLeave={onDragLeave} onDrop={onDrop}>
      {dragging && (
        <div
          className="pointer-events-none absolute inset-2 z-30 flex items-center justify-center rounded-2xl border-2 border-dashed border-indigo-400 bg-indigo-50/80 text-sm font-medium text-indigo-800 dark:bg-indigo-950/80 dark:text-indigo-200"
          data-testid="drop-zone"
        >
          Drop files or images to attach them
        </div>
      )}
      {openCitation && <CitationPanel citation={openCitation} onClose={() => setOpenCitation(undefined)} />}
      <div ref={scrollRef} onScroll={onScroll} className="relative min-h-0 flex-1 overflow-y-auto">
        <div className="mx-auto flex max-w-3xl flex-col gap-6 px-4 py-6">
          {messages.length === 0 && (
            <div className="mt-[10vh] flex flex-col items-center gap-6 text-center">
              <h2 className="text-2xl font-semibold">How can I help?</h2>
              <div className="grid w-full gap-2 sm:grid-cols-2">
                {EXAMPLES.map((example) => (
                  <button
                    type="button"
                    key={example}
                    onClick={() => {
                      setInput(example);
                      inputRef.current?.focus();
                    }}
                    className="rounded-xl border border-zinc-200 p-3 text-left text-sm text-zinc-700 hover:bg-zinc-50 dark:border-zinc-800 dark:text-zinc-300 dark:hover:bg-zinc-900"
                  >
                    {example}
                  </button>
                ))}
              </div>
            </div>
          )}
          {messages.map((message, index) => {
            const text = textOf(message);
            if (message.role === 'user') {
              return (
                <div key={message.id} className="flex flex-col items-end gap-1" data-testid="user-message">
                  {attachmentsOf(message).length > 0 && (
                    <ul className="flex max-w-[85%] flex-wrap justify-end gap-1" aria-label="Attached files">
                      {attachmentsOf(message).map((a) => (
                        <SentAttachment key={a.documentId} attachment={a} />
                      ))}
                    </ul>
                  )}
                  {editing?.id === message.id ? (
                    <form
                      className="flex w-full max-w-[85%] flex-col gap-2 rounded-2xl bg-zinc-100 p-2 dark:bg-zinc-800"
                      aria-label="Edit message"
                      onSubmit={(e) => {
                        e.preventDefault();
                        sendEdit(index);
                      }}
                    >
                      <textarea
                        aria-label="Edited message"
                        value={editing.text}
                        rows={Math.min(8, editing.text.split('\n').length + 1)}
                        onChange={(e) => setEditing({ id: message.id, text: e.target.value })}
                        onKeyDown={(e) => {
                          if (e.key === 'Escape') setEditing(undefined);
                        }}
                        className="w-full resize-y rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
                      />
                      <span className="flex justify-end gap-2">
                        <Button variant="secondary" onClick={() => setEditing(undefined)}>
                          Cancel
                        </Button>
                        <Button type="submit" variant="primary" disabled={!editing.text.trim() || busy}>
                          Send
                        </Button>
                      </span>
                    </form>
                  ) : (
                    <div className="max-w-[85%] rounded-2xl bg-zinc-100 px-4 py-2 break-words whitespace-pre-wrap dark:bg-zinc-800">
                      {text}
                    </div>
                  )}
                  {editing?.id !== message.id && (
                    <span className="flex items-center gap-1">
                      <VersionSwitcher message={message} disabled={busy} onPick={pickVersion} />
                      {!busy && (
                        <IconButton label="Edit message" className="size-6" onClick={() => setEditing({ id: message.id, text })}>
                          <Pencil className="size-3.5" />
                        </IconButton>
                      )}
                    </span>
                  )}
                </div>
              );
            }
            const writing = busy && index === messages.length - 1;
            return (
              <article
                key={message.id}
                data-testid="assistant-message"
                data-status={writing ? 'streaming' : (message.metadata?.status ?? 'complete')}
                aria-busy={writing}
              >
                <AgentParts message={message} />
                {summaryOf(message) ? (
                  <TreasurySummaryCard summary={summaryOf(message) as TreasurySummary} />
                ) : (
                  <div className={clsx('prose-answer', writing && 'streaming-caret')} aria-live={writing ? 'polite' : undefined}>
                    <Markdown
                      text={text}
                      citationNumbers={new Set(citationsOf(message).map((c) => c.n))}
                      onCite={(n) => setOpenCitation(citationsOf(message).find((c) => c.n === n))}
                    />
                  </div>
                )}
                {!writing && <SourcesRow citations={citationsOf(message)} text={text} onOpen={setOpenCitation} />}
                {message.metadata?.status === 'error' && message.metadata.error && !writing && (
                  <p className="mt-2 rounded-lg bg-red-50 p-2 text-sm text-red-700 dark:bg-red-950 dark:text-red-300">
                    {message.metadata.error}
                  </p>
                )}
                {!writing && <VersionSwitcher message={message} disabled={busy} onPick={pickVersion} />}
                <AnswerMeta
                  metadata={message.metadata}
                  feedback={(message.parts.find((p) => p.type === 'data-feedback')?.data as MessageFeedback | undefined) ?? null}
                  text={text}
                  busy={writing}
                  onRegenerate={index === lastAssistantIndex && !busy ? () => void regenerate() : undefined}
                />
              </article>
            );
          })}
          {status === 'submitted' && messages.at(-1)?.role === 'user' && (
            <p className="text-sm text-zinc-500 dark:text-zinc-400" aria-live="polite">
              Thinking…
            </p>
          )}
          {notice && (
            <div
              role="alert"
              className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800 dark:border-red-900 dark:bg-red-950 dark:text-red-200"
            >
              {notice.text}{' '}
              {notice.action === 'sign-in' && (
                <Link to="/" reloadDocument className="font-medium underline">
                  Sign in again
                </Link>
              )}
            </div>
          )}
        </div>
        {!following && (
          <button
            type="button"
            onClick={() => setFollowing(true)}
            className="sticky bottom-3 left-1/2 flex -translate-x-1/2 items-center gap-1 rounded-full border border-zinc-300 bg-white px-3 py-1 text-xs shadow dark:border-zinc-700 dark:bg-zinc-900"
          >
            <ArrowDown className="size-3.5" /> Jump to latest
          </button>
        )}
      </div>
      <form
        className="mx-auto w-full max-w-3xl px-4 pb-4"
        onSubmit={(event) => {
          event.preventDefault();
          void send(input);
        }}
      >
        <div
          className="relative rounded-2xl border border-zinc-300 bg-white p-2 shadow-sm focus-within:border-indigo-500 dark:border-zinc-700 dark:bg-zinc-900"
          data-testid="composer"
        >
          {attachments.length > 0 && (
            <ul className="flex flex-wrap gap-1 px-1 pb-1" aria-label="Attached files">
              {attachments.map((a) => (
                <li
                  key={a.key}
                  className="flex max-w-full items-center gap-1 rounded-lg border border-zinc-200 px-2 py-0.5 text-xs dark:border-zinc-700"
                  data-testid="attachment"
                  data-status={a.status}
                >
                  {a.preview && (
                    <img src={a.preview} alt="" className="size-9 shrink-0 rounded object-cover" data-testid="attachment-thumbnail" />
                  )}
                  <span className="flex min-w-0 flex-col">
                    <span className="flex items-center gap-1">
                      <span className="max-w-40 truncate">{a.name}</span>
                      <AttachmentStatus attachment={a} readsImages={readsImages} />
                    </span>
                    {readsAs(a, readsImages) === 'text' && (
                      <span className="text-zinc-600 dark:text-zinc-400" data-testid="attachment-note">
                        {readsImages
                          ? `Over ${MAX_IMAGE_ATTACHMENT_BYTES / 1_048_576} MB, too large to show the model; its text is used.`
                          : 'This model does not read images; its text is used.'}
                      </span>
                    )}
                  </span>
                  <button
                    type="button"
                    aria-label={`Remove ${a.name}`}
                    onClick={() => removeAttachment(a.key)}
                    className="text-zinc-400 hover:text-zinc-700"
                  >
                    <X className="size-3" />
                  </button>
                </li>
              ))}
            </ul>
          )}
          <textarea
            ref={inputRef}
            aria-label="Message"
            placeholder="Message Axon"
            rows={1}
            value={input}
            maxLength={100_000}
            onChange={(e) => setInput(e.target.value)}
            onKeyDown={onKeyDown}
            onPaste={onPaste}
            className="block max-h-60 w-full resize-none bg-transparent px-2 py-1.5 outline-none"
          />
          <div className="flex items-center gap-2 pt-1">
            <div className="flex min-w-0 flex-1 items-center gap-1.5" data-testid="composer-tools">
              <IconButton label="Attach files or images" onClick={() => fileInputRef.current?.click()} className="size-7 shrink-0">
                <Paperclip className="size-4" />
              </IconButton>
              <input
                ref={fileInputRef}
                type="file"
                multiple
                accept={ATTACHABLE}
                aria-label="Files to attach"
                className="hidden"
                onChange={(e) => {
                  addAttachments([...(e.target.files ?? [])]);
                  e.target.value = '';
                }}
              />
              <ConversationSettingsButton value={settings} onChange={onSettingsChange} />
              <CollectionsPicker selected={collectionIds} onChange={onCollectionsChange} detailsRef={collectionsRef} />
              {(templates.data?.items.length ?? 0) > 0 && (
                <select
                  aria-label="Prompt template"
                  value={prompt ?? ''}
                  onChange={(e) => onPromptChange(e.target.value || null)}
                  className="w-0 min-w-0 max-w-40 flex-1 truncate rounded-lg border border-zinc-200 bg-transparent px-2 py-1 text-xs dark:border-zinc-700 dark:bg-zinc-900"
                >
                  <option value="">No template</option>
                  {templates.data?.items.map((t) => (
                    <option key={t.id} value={t.name}>
                      {t.name}
                    </option>
                  ))}
                </select>
              )}
              <ModelPicker
                models={models.data?.models ?? []}
                value={selectedModel}
                onChange={onModelChange}
                className="w-0 max-w-60 flex-[2_1_0%]"
              />
            </div>
            {busy ? (
              <button
                type="button"
                onClick={() => void stopAnswer()}
                aria-label="Stop"
                title="Stop (Esc)"
                className="flex size-8 shrink-0 items-center justify-center rounded-full bg-zinc-900 text-white dark:bg-zinc-100 dark:text-zinc-900"
              >
                <Square className="size-3.5 fill-current" />
              </button>
            ) : (
              <button
                type="submit"
                aria-label="Send"
                disabled={!input.trim() || attaching}
                className="flex size-8 shrink-0 items-center justify-center rounded-full bg-indigo-600 text-white disabled:bg-zinc-300 dark:disabled:bg-zinc-700"
              >
                <ArrowUp className="size-4" />
              </button>
            )}
          </div>
        </div>
        <p className="mt-1 hidden truncate text-center text-xs text-zinc-600 sm:block dark:text-zinc-400" data-testid="composer-hint">
          Enter to send · Shift+Enter for a new line{busy ? ' · Esc to stop' : ''}
        </p>
      </form>
    </div>
  );
}
