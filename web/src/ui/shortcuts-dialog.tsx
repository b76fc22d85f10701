import { X } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { IconButton } from './button';

const MOD = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform) ? '⌘' : 'Ctrl';

/** The app's keyboard shortcuts, in groups, as the sheet lists them. */
export const SHORTCUTS: Array<{ group: string; items: Array<{ keys: string[]; what: string }> }> = [
  {
    group: 'Anywhere',
    items: [
      { keys: ['?'], what: 'Show this list of shortcuts' },
      { keys: [MOD, 'K'], what: 'Search conversations' },
      { keys: [MOD, 'Shift', 'O'], what: 'New chat' },
      { keys: ['Esc'], what: 'Close a dialog or menu' },
    ],
  },
  {
    group: 'Writing a message',
    items: [
      { keys: ['Enter'], what: 'Send the message' },
      { keys: ['Shift', 'Enter'], what: 'New line' },
      { keys: ['Esc'], what: 'Stop the answer being written' },
      { keys: ['Esc'], what: 'Cancel editing a message' },
    ],
  },
  {
    group: 'Menus',
    items: [{ keys: ['↑', '↓'], what: 'Move between the items of a conversation’s menu' }],
  },
];

/** Whether a key press goes into a field (so `?` types a question mark there). */
function typingInField(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** `?` opens the sheet of keyboard shortcuts (unless a field has focus); Esc, Close or the backdrop closes it. */
export function ShortcutsDialog() {
  const [open, setOpen] = useState(false);
  const dialogRef = useRef<HTMLDivElement>(null);
  const returnTo = useRef<HTMLElement | null>(null);
  const titleId = useId();

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== '?' || event.ctrlKey || event.metaKey || event.altKey || typingInField(event.target)) return;
      event.preventDefault();
      returnTo.current = document.activeElement instanceof HTMLElement ? document.activeElement : null;
      setOpen(true);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    if (!open) return;
    dialogRef.current?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape') return;
      event.stopPropagation();
      setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      returnTo.current?.focus();
    };
  }, [open]);

  if (!open) return null;
  return createPortal(
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/40 p-4"
      onPointerDown={(e) => e.target === e.currentTarget && setOpen(false)}
    >
      <div
        ref={dialogRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        className="max-h-full w-full max-w-md overflow-y-auto rounded-xl border border-zinc-200 bg-white p-4 shadow-xl outline-none dark:border-zinc-700 dark:bg-zinc-900"
      >
        <div className="flex items-start gap-2">
          <h2 id={titleId} className="flex-1 text-base font-semibold">
            Keyboard shortcuts
          </h2>
          <IconButton label="Close" className="-mt-1 -mr-1" onClick={() => setOpen(false)}>
            <X className="size-4" />
          </IconButton>
        </div>
        {SHORTCUTS.map((section) => (
          <section key={section.group} aria-label={section.group} className="mt-4">
            <h3 className="mb-1 text-xs font-medium text-zinc-600 dark:text-zinc-400">{section.group}</h3>
            <dl className="divide-y divide-zinc-100 text-sm dark:divide-zinc-800">
              {section.items.map((item) => (
                <div key={item.what} className="flex items-center justify-between gap-3 py-1.5" data-testid="shortcut">
                  <dt className="flex shrink-0 gap-1">
                    {item.keys.map((key) => (
                      <kbd
                        key={key}
                        className="rounded border border-zinc-300 bg-zinc-50 px-1.5 py-0.5 font-mono text-xs text-zinc-800 dark:border-zinc-600 dark:bg-zinc-800 dark:text-zinc-100"
                      >
                        {key}
                      </kbd>
                    ))}
                  </dt>
                  <dd className="text-right text-zinc-700 dark:text-zinc-300">{item.what}</dd>
                </div>
              ))}
            </dl>
          </section>
        ))}
      </div>
    </div>,
    document.body,
  );
}
