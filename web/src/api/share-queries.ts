import type { ConversationShare, ConversationShareState, ExportFormat, SharedConversation } from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './api-client';

export const shareKeys = {
  /** A conversation's own link, as its owner sees it. */
  link: (conversationId: string) => ['conversation-share', conversationId] as const,
  /** What a link shows. */
  shared: (token: string) => ['shared-conversation', token] as const,
};

/** The conversation's live link, or null. */
export function useConversationShare(conversationId: string, enabled = true) {
  return useQuery({
    queryKey: shareKeys.link(conversationId),
    queryFn: () => api<ConversationShareState>('GET', `/api/conversations/${conversationId}/share`),
    enabled,
  });
}

/** Makes the conversation's link (or gives back the live one). */
export function useShareConversation(conversationId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<ConversationShare>('POST', `/api/conversations/${conversationId}/share`),
    onSuccess: (share) => client.setQueryData<ConversationShareState>(shareKeys.link(conversationId), { share }),
  });
}

/** Revokes the conversation's link: it stops opening at once. */
export function useRevokeShare(conversationId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<void>('DELETE', `/api/conversations/${conversationId}/share`),
    onSuccess: () => client.setQueryData<ConversationShareState>(shareKeys.link(conversationId), { share: null }),
  });
}

/** A shared conversation, read-only. */
export function useSharedConversation(token: string) {
  return useQuery({
    queryKey: shareKeys.shared(token),
    queryFn: () => api<SharedConversation>('GET', `/api/shared/${encodeURIComponent(token)}`),
    retry: false,
  });
}

/** The address of a link, as a person copies it. */
export const shareUrl = (share: ConversationShare) => new URL(share.path, window.location.origin).toString();

/** Downloads the conversation as a file (the server names it and sends it as an attachment). */
export function downloadConversation(conversationId: string, format: ExportFormat): void {
  const link = document.createElement('a');
  link.href = `/api/conversations/${conversationId}/export?format=${format}`;
  link.download = '';
  link.rel = 'noopener';
  document.body.append(link);
  link.click();
  link.remove();
}
