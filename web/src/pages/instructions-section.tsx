import type { Preferences } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';

/** The person's default instructions, sent before every conversation's own. */
export function InstructionsSection() {
  const client = useQueryClient();
  const preferences = useQuery({ queryKey: ['preferences'], queryFn: () => api<Preferences>('GET', '/api/account/preferences') });
  const [text, setText] = useState('');
  useEffect(() => {
    if (preferences.data) setText(preferences.data.instructions);
  }, [preferences.data]);
  const save = useMutation({
    mutationFn: (instructions: string) => api<Preferences>('PUT', '/api/account/preferences', { instructions }),
    onSuccess: (saved) => {
      client.setQueryData(['preferences'], saved);
      toast.success('Instructions saved');
    },
    onError: (e) => toast.error(describeError(e).message),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(text);
  };
  return (
    <section aria-labelledby="instructions-heading" className="mb-8">
      <h1 id="instructions-heading" className="mb-1 text-xl font-semibold">
        Default instructions
      </h1>
      <p className="mb-2 text-sm text-zinc-600 dark:text-zinc-400">
        Sent to the model before every chat (each chat can add its own in its settings).
      </p>
      <form onSubmit={submit} className="flex flex-col gap-2">
        <textarea
          aria-label="Default instructions"
          rows={4}
          maxLength={8000}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder="e.g. I work on the treasury desk; keep answers short and cite sources."
          className="w-full rounded-lg border border-zinc-300 bg-white px-3 py-2 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
        />
        <div>
          <Button type="submit" variant="primary" disabled={save.isPending || !preferences.isSuccess}>
            Save instructions
          </Button>
        </div>
      </form>
    </section>
  );
}
