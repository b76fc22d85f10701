import { useEffect, useRef, useState } from 'react';

/** Waits before each new try after a dropped connection: 0.5, 1, 2, 4, 8, 8, 8 s; then gives up. */
const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 8000, 8000];

export interface ResumeAnswer {
  /** Picks the answer being written up again now (a reloaded page). */
  resume(): Promise<void>;
  /** The stream dropped mid-answer: try again shortly, and as soon as the browser is back online. */
  onDisconnect(): void;
  /** An error of the chat; during a resume it means that try failed. */
  onError(): void;
}

interface ResumeActions {
  resumeStream: () => Promise<void>;
  showSaved: () => Promise<void>;
}

function createResumer(actions: () => ResumeActions): ResumeAnswer & { listen(): () => void } {
  let attempt = 0;
  let failed = false;
  let timer: number | undefined;
  const retryLater = () => {
    const delay = RETRY_DELAYS_MS[attempt];
    if (delay === undefined) return;
    attempt++;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void resume(), delay);
  };
  const resume = async () => {
    window.clearTimeout(timer);
    timer = undefined;
    failed = false;
    await actions().resumeStream();
    if (failed) return retryLater();
    attempt = 0;
    // The answer may have ended while the page was away (nothing to resume): show what was saved.
    await actions()
      .showSaved()
      .catch(() => undefined);
  };
  return {
    resume,
    onDisconnect() {
      attempt = 0;
      retryLater();
    },
    onError() {
      failed = true;
    },
    listen() {
      const onOnline = () => {
        if (timer !== undefined) void resume();
      };
      window.addEventListener('online', onOnline);
      return () => {
        window.removeEventListener('online', onOnline);
        window.clearTimeout(timer);
      };
    },
  };
}

/**
 * Picks up an answer after a reload or a dropped connection. The server replays the answer from its
 * start and goes on live (`useChat` resets the message on the replay's first event, so nothing
 * shows twice); when nothing is being written any more, the saved conversation is shown instead.
 */
export function useResumeAnswer(resumeStream: () => Promise<void>, showSaved: () => Promise<void>): ResumeAnswer {
  const latest = useRef<ResumeActions>({ resumeStream, showSaved });
  latest.current = { resumeStream, showSaved };
  const [resumer] = useState(() => createResumer(() => latest.current));
  useEffect(() => resumer.listen(), [resumer]);
  return resumer;
}
