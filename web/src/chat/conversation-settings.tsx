import type { ConversationSettings } from '@axon/contracts';
import { SlidersHorizontal } from 'lucide-react';
import { useEffect, useId, useRef, useState } from 'react';
import { Button, IconButton } from '../ui/button';

export const NO_SETTINGS: ConversationSettings = { systemPrompt: null, temperature: null, maxTokens: null };

const field =
  'w-full rounded-lg border border-zinc-300 bg-white px-2 py-1.5 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100';

/** A number typed in a field, or null when it is empty. */
const numberOrNull = (text: string) => (text.trim() === '' ? null : Number(text));

/**
 * The conversation's own instructions, temperature and answer length, edited in a small panel above
 * the composer; a dot on the button says some are set.
 */
export function ConversationSettingsButton({
  value,
  onChange,
}: {
  value: ConversationSettings;
  onChange: (settings: ConversationSettings) => void;
}) {
  const [open, setOpen] = useState(false);
  const [systemPrompt, setSystemPrompt] = useState('');
  const [temperature, setTemperature] = useState('');
  const [maxTokens, setMaxTokens] = useState('');
  const panelRef = useRef<HTMLDivElement>(null);
  const id = useId();
  const set = value.systemPrompt !== null || value.temperature !== null || value.maxTokens !== null;

  useEffect(() => {
    if (open) panelRef.current?.querySelector('textarea')?.focus();
  }, [open]);
  const toggle = () => {
    if (!open) {
      setSystemPrompt(value.systemPrompt ?? '');
      setTemperature(value.temperature === null ? '' : String(value.temperature));
      setMaxTokens(value.maxTokens === null ? '' : String(value.maxTokens));
    }
    setOpen(!open);
  };

  const save = () => {
    onChange({ systemPrompt: systemPrompt.trim() || null, temperature: numberOrNull(temperature), maxTokens: numberOrNull(maxTokens) });
    setOpen(false);
  };

  return (
    <>
      <IconButton
        label={set ? 'Chat settings (changed)' : 'Chat settings'}
        aria-expanded={open}
        onClick={toggle}
        className="relative size-7 shrink-0"
      >
        <SlidersHorizontal className="size-4" />
        {set && <span className="absolute top-1 right-1 size-1.5 rounded-full bg-indigo-600" aria-hidden="true" />}
      </IconButton>
      {open && (
        <div
          ref={panelRef}
          role="dialog"
          aria-label="Chat settings"
          className="absolute right-0 bottom-full left-0 z-30 mb-2 rounded-xl border border-zinc-200 bg-white p-3 shadow-lg dark:border-zinc-700 dark:bg-zinc-900"
          onKeyDown={(e) => {
            if (e.key === 'Escape') {
              e.stopPropagation();
              setOpen(false);
            }
            // Enter in a number field saves the settings instead of sending the composer's message.
            if (e.key === 'Enter' && e.target instanceof HTMLInputElement) {
              e.preventDefault();
              save();
            }
          }}
        >
          {/* Not a form of its own: the panel sits inside the composer's form. */}
          <div className="flex flex-col gap-3">
            <div>
              <label htmlFor={`${id}-system`} className="mb-1 block text-sm font-medium">
                Instructions for this chat
              </label>
              <textarea
                id={`${id}-system`}
                rows={3}
                maxLength={8000}
                value={systemPrompt}
                onChange={(e) => setSystemPrompt(e.target.value)}
                placeholder="e.g. Answer as a fixed-income analyst, in short bullet points."
                className={field}
              />
            </div>
            <div className="flex flex-wrap gap-3">
              <div className="min-w-32 flex-1">
                <label htmlFor={`${id}-temperature`} className="mb-1 block text-sm font-medium">
                  Temperature
                </label>
                <input
                  id={`${id}-temperature`}
                  type="number"
                  min={0}
                  max={2}
                  step={0.1}
                  value={temperature}
                  onChange={(e) => setTemperature(e.target.value)}
                  placeholder="Model default"
                  aria-describedby={`${id}-temperature-help`}
                  className={field}
                />
                <span id={`${id}-temperature-help`} className="mt-0.5 block text-xs text-zinc-600 dark:text-zinc-400">
                  0 focused · 2 varied
                </span>
              </div>
              <div className="min-w-32 flex-1">
                <label htmlFor={`${id}-max`} className="mb-1 block text-sm font-medium">
                  Max tokens
                </label>
                <input
                  id={`${id}-max`}
                  type="number"
                  min={1}
                  max={200000}
                  step={1}
                  value={maxTokens}
                  onChange={(e) => setMaxTokens(e.target.value)}
                  placeholder="Model default"
                  className={field}
                />
              </div>
            </div>
            <div className="flex justify-end gap-2">
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button variant="primary" onClick={save}>
                Save settings
              </Button>
            </div>
          </div>
        </div>
      )}
    </>
  );
}
