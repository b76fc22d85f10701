import type { Conversation } from '@axon/contracts';
import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useRef, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { describeError } from '../api/api-client';
import { useConversation } from '../api/queries';
import { ChatView, toUiMessages } from '../chat/chat-view';

/**
 * `/` (a new chat) and `/c/:id`. A new chat that creates its conversation keeps its view (and its
 * running stream) while the address changes to the conversation's.
 */
export function ChatPage() {
  const { id } = useParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const createdRef = useRef<string | undefined>(undefined);
  const [newChatKey, setNewChatKey] = useState(0);
  const lastIdRef = useRef(id);
  const conversation = useConversation(id && id !== createdRef.current ? id : undefined);

  if (lastIdRef.current !== id) {
    // Leaving a chat created here: the next visit loads it from the server.
    if (lastIdRef.current && lastIdRef.current === createdRef.current) createdRef.current = undefined;
    if (!id) setNewChatKey((k) => k + 1);
    lastIdRef.current = id;
  }

  const onCreated = useCallback(
    (created: Conversation) => {
      createdRef.current = created.id;
      lastIdRef.current = created.id;
      void queryClient.invalidateQueries({ queryKey: ['conversations'] });
      navigate(`/c/${created.id}`, { replace: true });
    },
    [navigate, queryClient],
  );

  if (!id || id === createdRef.current) {
    return <ChatView key={`new-${newChatKey}`} conversation={undefined} initialMessages={[]} onCreated={onCreated} />;
  }
  if (conversation.isError) {
    return (
      <div className="flex h-full items-center justify-center p-6 text-center">
        <p role="alert">{describeError(conversation.error).message}</p>
      </div>
    );
  }
  if (!conversation.data || !conversation.isFetchedAfterMount) {
    return <div className="flex h-full items-center justify-center text-sm text-zinc-500 dark:text-zinc-400">Loading…</div>;
  }
  return (
    <ChatView key={id} conversation={conversation.data} initialMessages={toUiMessages(conversation.data.messages)} onCreated={onCreated} />
  );
}
