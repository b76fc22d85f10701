import type { FeedbackValue, MessageFeedback } from '@axon/contracts';
import { clsx } from 'clsx';
import { ThumbsDown, ThumbsUp } from 'lucide-react';
import { type FormEvent, useId, useState } from 'react';
import { toast } from 'sonner';
import { api, describeError } from '../api/api-client';
import { Button } from '../ui/button';

/**
 * Thumbs up or down on an answer, with an optional comment asked for right after. Pressing the
 * pressed thumb again withdraws the feedback.
 */
export function AnswerFeedback({ messageId, initial }: { messageId: string; initial: MessageFeedback | null }) {
  const [feedback, setFeedback] = useState<MessageFeedback | null>(initial);
  const [asking, setAsking] = useState(false);
  const [comment, setComment] = useState(initial?.comment ?? '');
  const commentId = useId();

  const give = async (value: FeedbackValue, withComment: string | null) => {
    try {
      const saved = await api<MessageFeedback>('PUT', `/api/messages/${messageId}/feedback`, { value, comment: withComment });
      setFeedback(saved);
      return true;
    } catch (error) {
      toast.error(describeError(error).message);
      return false;
    }
  };
  const press = async (value: FeedbackValue) => {
    if (feedback?.value === value) {
      try {
        await api('DELETE', `/api/messages/${messageId}/feedback`);
        setFeedback(null);
        setAsking(false);
        setComment('');
      } catch (error) {
        toast.error(describeError(error).message);
      }
      return;
    }
    if (await give(value, feedback?.comment ?? null)) setAsking(true);
  };
  const sendComment = async (event: FormEvent) => {
    event.preventDefault();
    if (!feedback) return;
    if (await give(feedback.value, comment.trim() || null)) {
      setAsking(false);
      toast.success('Thanks for the feedback');
    }
  };

  const thumb = (value: FeedbackValue, label: string, Icon: typeof ThumbsUp) => (
    <button
      type="button"
      aria-label={label}
      title={label}
      aria-pressed={feedback?.value === value}
      onClick={() => void press(value)}
      className={clsx(
        'inline-flex size-6 items-center justify-center rounded-lg hover:bg-zinc-100 hover:text-zinc-900 dark:hover:bg-zinc-800 dark:hover:text-zinc-100',
        feedback?.value === value ? 'text-indigo-700 dark:text-indigo-300' : 'text-zinc-500',
      )}
    >
      <Icon className={clsx('size-3.5', feedback?.value === value && 'fill-current')} />
    </button>
  );

  return (
    <>
      {thumb('up', 'Good answer', ThumbsUp)}
      {thumb('down', 'Bad answer', ThumbsDown)}
      {asking && feedback && (
        <form
          onSubmit={(e) => void sendComment(e)}
          aria-label="Feedback comment"
          className="mt-1 flex basis-full flex-wrap items-center gap-2 rounded-lg border border-zinc-200 p-2 dark:border-zinc-700"
          data-testid="feedback-form"
        >
          <label htmlFor={commentId} className="text-xs text-zinc-700 dark:text-zinc-300">
            {feedback.value === 'up' ? 'What was good? (optional)' : 'What went wrong? (optional)'}
          </label>
          <input
            id={commentId}
            value={comment}
            maxLength={2000}
            onChange={(e) => setComment(e.target.value)}
            onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}
            className="min-w-0 flex-1 rounded border border-zinc-300 bg-white px-2 py-1 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
          />
          <Button type="submit" variant="primary" className="py-1 text-xs">
            Send feedback
          </Button>
          <Button onClick={() => setAsking(false)} className="py-1 text-xs">
            Skip
          </Button>
        </form>
      )}
    </>
  );
}
