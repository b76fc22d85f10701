import type { ModelInfo } from '@axon/contracts';
import { clsx } from 'clsx';
import { Braces, Check, ChevronDown, Image, Search, Wrench } from 'lucide-react';
import {
  type CSSProperties,
  type KeyboardEvent,
  type ReactNode,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from 'react';

/** From this many models on, the picker has a search box. */
const SEARCH_FROM = 7;
const POPOVER_WIDTH = 368;

/** A context window in a few characters: 131072 → "128K", 200000 → "200K", 1048576 → "1M". */
function formatContextWindow(tokens: number): string {
  if (tokens >= 1_000_000) return `${Number((tokens / (tokens % 1_048_576 === 0 ? 1_048_576 : 1_000_000)).toFixed(1))}M`;
  if (tokens >= 1000) return `${Math.round(tokens % 1024 === 0 ? tokens / 1024 : tokens / 1000)}K`;
  return String(tokens);
}

/** The model's description and capabilities in words, for the picker's tooltip. */
function describeModel(model: ModelInfo | undefined): string | undefined {
  if (!model) return undefined;
  const c = model.capabilities;
  const lines = [
    model.description,
    `Tools: ${c.tools ? 'yes' : 'no'} · Images: ${c.vision ? 'yes' : 'no'} · Structured outputs: ${c.structuredOutputs ? 'yes' : 'no'}`,
    c.contextWindow ? `Context: ${c.contextWindow.toLocaleString()} tokens` : undefined,
  ];
  return lines.filter(Boolean).join('\n');
}

/** Whether every word of the query is in the model's name, id or description. */
function matches(model: ModelInfo, query: string): boolean {
  const haystack = `${model.name} ${model.id} ${model.description ?? ''}`.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .every((word) => haystack.includes(word));
}

function Badge({ children, title }: { children: ReactNode; title: string }) {
  return (
    <span className="model-badge" title={title}>
      {children}
    </span>
  );
}

/** What the model can do, as small badges: tools, images, JSON, its context window. */
function CapabilityBadges({ model }: { model: ModelInfo }) {
  const c = model.capabilities;
  const none = !c.tools && !c.vision && !c.structuredOutputs;
  return (
    <span className="flex flex-wrap gap-1" data-testid="model-badges">
      {c.tools && (
        <Badge title="Can call tools">
          <Wrench className="size-3" aria-hidden="true" /> Tools
        </Badge>
      )}
      {c.vision && (
        <Badge title="Reads images">
          <Image className="size-3" aria-hidden="true" /> Images
        </Badge>
      )}
      {c.structuredOutputs && (
        <Badge title="Structured outputs (JSON)">
          <Braces className="size-3" aria-hidden="true" /> JSON
        </Badge>
      )}
      {none && <Badge title="Text in, text out">Text only</Badge>}
      {c.contextWindow && (
        <Badge title={`${c.contextWindow.toLocaleString()} tokens of context`}>{formatContextWindow(c.contextWindow)} context</Badge>
      )}
    </span>
  );
}

/** Where the popover goes: above the button when there is room (the composer sits at the bottom), else below; inside the window. */
function placePopover(trigger: HTMLElement): CSSProperties {
  const box = trigger.getBoundingClientRect();
  const viewportWidth = document.documentElement.clientWidth;
  const viewportHeight = window.innerHeight;
  const width = Math.min(POPOVER_WIDTH, viewportWidth - 16);
  const left = Math.max(8, Math.min(box.right - width, viewportWidth - width - 8));
  const above = box.top - 14;
  const below = viewportHeight - box.bottom - 14;
  return above >= Math.min(280, below)
    ? { left, width, bottom: viewportHeight - box.top + 6, maxHeight: Math.min(460, above) }
    : { left, width, top: box.bottom + 6, maxHeight: Math.min(460, below) };
}

/**
 * The composer's model picker: a button with the model's name opening a list of every model with
 * its description and what it can do. The ARIA select-only combobox pattern: ↑ ↓ Home End move,
 * Enter or a click chooses, Esc closes, typing searches (in a search box once the list is long).
 */
export function ModelPicker({
  models,
  value,
  onChange,
  className,
}: {
  models: ModelInfo[];
  value: string | undefined;
  onChange: (id: string) => void;
  className?: string;
}) {
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState('');
  const [active, setActive] = useState(0);
  const [place, setPlace] = useState<CSSProperties>({});
  const rootRef = useRef<HTMLDivElement>(null);
  const triggerRef = useRef<HTMLButtonElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);
  const typed = useRef({ text: '', at: 0 });
  const listId = useId();
  const optionId = (index: number) => `${listId}-option-${index}`;

  const searchable = models.length >= SEARCH_FROM;
  const shown = useMemo(() => (query.trim() ? models.filter((m) => matches(m, query.trim())) : models), [models, query]);
  const selected = models.find((m) => m.id === value);

  const show = (initialQuery = '', at?: number) => {
    const list = initialQuery ? models.filter((m) => matches(m, initialQuery)) : models;
    const current = list.findIndex((m) => m.id === value);
    setQuery(initialQuery);
    setActive(at === undefined ? Math.max(0, current) : at < 0 ? list.length - 1 : at);
    if (triggerRef.current) setPlace(placePopover(triggerRef.current));
    setOpen(true);
  };
  const hide = (focusTrigger: boolean) => {
    setOpen(false);
    setQuery('');
    if (focusTrigger) triggerRef.current?.focus();
  };
  const choose = (model: ModelInfo | undefined) => {
    if (model && model.id !== value) onChange(model.id);
    hide(true);
  };

  useEffect(() => {
    if (open && searchable) searchRef.current?.focus();
  }, [open, searchable]);

  // Closes on a press outside; follows the button when the window changes size.
  // biome-ignore lint/correctness/useExhaustiveDependencies: hide only sets state and moves no focus here
  useEffect(() => {
    if (!open) return;
    const onPointerDown = (event: PointerEvent) => {
      if (!rootRef.current?.contains(event.target as Node)) hide(false);
    };
    const onResize = () => triggerRef.current && setPlace(placePopover(triggerRef.current));
    document.addEventListener('pointerdown', onPointerDown);
    window.addEventListener('resize', onResize);
    return () => {
      document.removeEventListener('pointerdown', onPointerDown);
      window.removeEventListener('resize', onResize);
    };
  }, [open]);

  useLayoutEffect(() => {
    if (open) document.getElementById(optionId(active))?.scrollIntoView({ block: 'nearest' });
  });

  /** Type-ahead without a search box: moves to the first model whose name starts with what was typed in the last half second. */
  const typeAhead = (key: string) => {
    const now = Date.now();
    typed.current = { text: now - typed.current.at < 500 ? typed.current.text + key : key, at: now };
    const text = typed.current.text.toLowerCase();
    const at = models.findIndex((m) => m.name.toLowerCase().startsWith(text) || m.id.toLowerCase().startsWith(text));
    return at;
  };

  const onKeyDown = (event: KeyboardEvent<HTMLElement>) => {
    const inSearch = event.currentTarget === searchRef.current;
    const printable = event.key.length === 1 && !event.ctrlKey && !event.metaKey && !event.altKey;
    let handled = true;
    if (!open) {
      if (['ArrowDown', 'ArrowUp', 'Enter', ' '].includes(event.key)) show();
      else if (event.key === 'Home') show('', 0);
      else if (event.key === 'End') show('', -1);
      else if (printable && searchable) show(event.key);
      else if (printable) {
        const at = typeAhead(event.key);
        show('', at < 0 ? undefined : at);
      } else handled = false;
    } else if (event.key === 'ArrowDown') setActive((i) => Math.min(i + 1, shown.length - 1));
    else if (event.key === 'ArrowUp') setActive((i) => Math.max(i - 1, 0));
    else if (event.key === 'PageDown') setActive((i) => Math.min(i + 5, shown.length - 1));
    else if (event.key === 'PageUp') setActive((i) => Math.max(i - 5, 0));
    else if (event.key === 'Home' && !inSearch) setActive(0);
    else if (event.key === 'End' && !inSearch) setActive(shown.length - 1);
    else if (event.key === 'Enter' || (event.key === ' ' && !inSearch)) choose(shown[active]);
    else if (event.key === 'Escape') hide(true);
    else if (event.key === 'Tab') {
      hide(false);
      handled = false;
    } else if (printable && searchable && !inSearch) {
      searchRef.current?.focus();
      setQuery((q) => q + event.key);
      setActive(0);
    } else if (printable && !inSearch) {
      const at = typeAhead(event.key);
      if (at >= 0) setActive(at);
    } else handled = false;
    if (handled) {
      event.preventDefault();
      // Esc here closes the list, not the answer being written; ? types, not opens the shortcut sheet.
      event.stopPropagation();
    }
  };

  const activeId = open && shown[active] ? optionId(active) : undefined;

  return (
    <div ref={rootRef} className={clsx('min-w-0', className)}>
      <button
        ref={triggerRef}
        type="button"
        role="combobox"
        aria-label="Model"
        aria-haspopup="listbox"
        aria-expanded={open}
        aria-controls={open ? listId : undefined}
        aria-activedescendant={searchable ? undefined : activeId}
        data-value={value}
        title={describeModel(selected)}
        onClick={() => (open ? hide(false) : show())}
        onKeyDown={onKeyDown}
        className="flex w-full min-w-0 items-center gap-1 rounded-lg border border-zinc-200 px-2 py-1 text-left text-xs dark:border-zinc-700"
      >
        <span className="min-w-0 flex-1 truncate">{selected?.name ?? value ?? 'Loading models…'}</span>
        <ChevronDown className="size-3.5 shrink-0 text-zinc-500 dark:text-zinc-400" aria-hidden="true" />
      </button>
      {open && (
        <div className="model-picker-popover" style={place} data-testid="model-picker">
          {searchable && (
            <div className="flex items-center gap-2 border-b border-zinc-200 px-3 py-2 dark:border-zinc-700">
              <Search className="size-4 shrink-0 text-zinc-500 dark:text-zinc-400" aria-hidden="true" />
              <input
                ref={searchRef}
                type="search"
                aria-label="Search models"
                placeholder="Search models"
                aria-controls={listId}
                aria-autocomplete="list"
                aria-activedescendant={activeId}
                value={query}
                onChange={(e) => {
                  setQuery(e.target.value);
                  setActive(0);
                }}
                onKeyDown={onKeyDown}
                className="min-w-0 flex-1 bg-transparent text-sm outline-none placeholder:text-zinc-500 dark:placeholder:text-zinc-400"
              />
            </div>
          )}
          {/* Pressing an option must not take the focus from the search box before the click chooses it. */}
          <div
            role="listbox"
            id={listId}
            aria-label="Models"
            className="min-h-0 flex-1 overflow-y-auto p-1"
            onMouseDown={(e) => e.preventDefault()}
          >
            {shown.map((m, index) => (
              // biome-ignore lint/a11y/useFocusableInteractive: options take no focus; the combobox or search box points at the active one
              // biome-ignore lint/a11y/useKeyWithClickEvents: the keyboard works through the combobox (↑ ↓ Enter)
              <div
                key={m.id}
                id={optionId(index)}
                role="option"
                aria-selected={m.id === value}
                data-model-id={m.id}
                data-active={index === active}
                onClick={() => choose(m)}
                onMouseMove={() => index !== active && setActive(index)}
                className="model-option"
              >
                <span className="flex min-w-0 items-center gap-2">
                  <span className="truncate text-sm font-medium">{m.name}</span>
                  <span className="min-w-0 flex-1 truncate font-mono text-[0.7rem] text-zinc-600 dark:text-zinc-400">{m.id}</span>
                  {m.id === value && <Check className="size-4 shrink-0 text-indigo-600 dark:text-indigo-400" aria-hidden="true" />}
                </span>
                {m.description && (
                  <span className="line-clamp-2 text-xs text-zinc-600 dark:text-zinc-400" data-testid="model-description">
                    {m.description}
                  </span>
                )}
                <CapabilityBadges model={m} />
              </div>
            ))}
          </div>
          {shown.length === 0 && <p className="px-3 py-3 text-sm text-zinc-600 dark:text-zinc-400">No model matches “{query.trim()}”.</p>}
        </div>
      )}
    </div>
  );
}
