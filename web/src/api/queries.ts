import type {
  ApiKey,
  Conversation,
  ConversationPage,
  ConversationWithMessages,
  CreatedApiKey,
  ModelList,
  SessionInfo,
} from '@axon/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, setCsrfToken } from './api-client';

export const keys = {
  session: ['session'] as const,
  conversations: (q: string) => ['conversations', q] as const,
  conversation: (id: string) => ['conversation', id] as const,
  models: ['models'] as const,
  apiKeys: ['api-keys'] as const,
};

export function useSession() {
  return useQuery({
    queryKey: keys.session,
    queryFn: async () => {
      const info = await api<SessionInfo>('GET', '/api/auth/session');
      setCsrfToken(info.csrfToken);
      return info;
    },
    staleTime: 60_000,
  });
}

export function useSignIn(kind: 'login' | 'setup') {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { email: string; password: string }) => api<SessionInfo>('POST', `/api/auth/${kind}`, input),
    onSuccess: (info) => {
      setCsrfToken(info.csrfToken);
      client.setQueryData(keys.session, info);
    },
  });
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<void>('POST', '/api/auth/logout'),
    onSettled: () => {
      setCsrfToken(null);
      client.clear();
      void client.invalidateQueries({ queryKey: keys.session });
    },
  });
}

export function useConversations(q: string) {
  return useQuery({
    queryKey: keys.conversations(q),
    queryFn: () => api<ConversationPage>('GET', `/api/conversations?limit=100${q ? `&q=${encodeURIComponent(q)}` : ''}`),
  });
}

export function useConversation(id: string | undefined) {
  return useQuery({
    queryKey: keys.conversation(id ?? ''),
    queryFn: () => api<ConversationWithMessages>('GET', `/api/conversations/${id}`),
    enabled: Boolean(id),
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
  });
}

export function useModels() {
  return useQuery({ queryKey: keys.models, queryFn: () => api<ModelList>('GET', '/api/models'), staleTime: 5 * 60_000 });
}

export function useRenameConversation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, title }: { id: string; title: string }) => api<Conversation>('PATCH', `/api/conversations/${id}`, { title }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['conversations'] }),
  });
}

export function useDeleteConversation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>('DELETE', `/api/conversations/${id}`),
    onSuccess: (_data, id) => {
      client.removeQueries({ queryKey: keys.conversation(id) });
      return client.invalidateQueries({ queryKey: ['conversations'] });
    },
  });
}

export function useApiKeys() {
  return useQuery({ queryKey: keys.apiKeys, queryFn: () => api<{ items: ApiKey[] }>('GET', '/api/keys') });
}

export function useCreateApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => api<CreatedApiKey>('POST', '/api/keys', { name }),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.apiKeys }),
  });
}

export function useRevokeApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>('DELETE', `/api/keys/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.apiKeys }),
  });
}
