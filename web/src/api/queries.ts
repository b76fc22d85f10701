import type {
  AliasInput,
  ApiKey,
  ApiKeyScope,
  AuditEvent,
  AuditVerdict,
  Collection,
  Conversation,
  ConversationPage,
  ConversationWithMessages,
  CreatedApiKey,
  DeploymentStatus,
  DocumentInfo,
  ModelAlias,
  ModelList,
  ModelVersion,
  ModelVersionInput,
  PromptTemplate,
  SessionInfo,
} from '@axon/contracts';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, setCsrfToken } from './api-client';

export const keys = {
  session: ['session'] as const,
  conversations: (q: string, archived = false) => ['conversations', q, archived] as const,
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

/** The person's conversations (pinned first), those matching `q` (with a snippet each), or the archived ones. */
export function useConversations(q: string, archived = false) {
  return useQuery({
    queryKey: keys.conversations(q, archived),
    queryFn: () =>
      api<ConversationPage>(
        'GET',
        `/api/conversations?limit=100${q ? `&q=${encodeURIComponent(q)}` : ''}${archived && !q ? '&archived=true' : ''}`,
      ),
  });
}

/** Pins, archives or files a conversation (or changes anything else the PATCH takes). */
export function useUpdateConversation() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...patch }: { id: string; pinned?: boolean; archived?: boolean; folder?: string | null }) =>
      api<Conversation>('PATCH', `/api/conversations/${id}`, patch),
    onSuccess: () => client.invalidateQueries({ queryKey: ['conversations'] }),
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

/** The organisation's prompt templates (chats and keys may be bound to one). */
export function usePromptTemplates() {
  return useQuery({
    queryKey: ['prompts'],
    queryFn: () => api<{ items: PromptTemplate[] }>('GET', '/api/prompts'),
    staleTime: 60_000,
  });
}

export function useModels() {
  return useQuery({ queryKey: keys.models, queryFn: () => api<ModelList>('GET', '/api/models'), staleTime: 5 * 60_000 });
}

/** Has every replica list the connections' models again (a model just deployed upstream); the picker gets the new list. */
export function useRefreshModels() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => api<ModelList & { problems: Record<string, string> }>('POST', '/api/models/refresh'),
    onSuccess: (list) => client.setQueryData(keys.models, { models: list.models, defaultModel: list.defaultModel }),
  });
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
    mutationFn: (input: {
      name: string;
      scopes?: ApiKeyScope[];
      expiresInDays?: number | null;
      prompt?: string | null;
      model?: string | null;
    }) => api<CreatedApiKey>('POST', '/api/keys', input),
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

export function useCollections() {
  return useQuery({ queryKey: ['collections'], queryFn: () => api<{ items: Collection[] }>('GET', '/api/collections') });
}

export function useCollection(id: string | undefined) {
  return useQuery({
    queryKey: ['collection', id],
    queryFn: () => api<Collection & { members: Array<{ email: string; role: string }> }>('GET', `/api/collections/${id}`),
    enabled: Boolean(id),
    retry: false,
  });
}

export function useCollectionDocuments(id: string | undefined) {
  return useQuery({
    queryKey: ['collection-documents', id],
    queryFn: () => api<{ items: DocumentInfo[] }>('GET', `/api/collections/${id}/documents`),
    enabled: Boolean(id),
    // Poll while anything is still being processed.
    refetchInterval: (query) => (query.state.data?.items.some((d) => d.status !== 'ready' && d.status !== 'failed') ? 1000 : false),
  });
}

export function useCreateCollection() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { name: string; description?: string }) => api<Collection>('POST', '/api/collections', input),
    onSuccess: () => client.invalidateQueries({ queryKey: ['collections'] }),
  });
}

export function useUpdateCollection(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (patch: Partial<Pick<Collection, 'name' | 'description' | 'visibility' | 'topK' | 'minScore' | 'mmr' | 'rerank'>>) =>
      api<Collection>('PATCH', `/api/collections/${id}`, patch),
    onSuccess: () =>
      Promise.all([client.invalidateQueries({ queryKey: ['collection', id] }), client.invalidateQueries({ queryKey: ['collections'] })]),
  });
}

export function useDeleteCollection() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>('DELETE', `/api/collections/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['collections'] }),
  });
}

export function useDeleteDocument(collectionId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api<void>('DELETE', `/api/documents/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ['collection-documents', collectionId] }),
  });
}

/** Sets a document's date by hand and/or replaces its metadata fields. */
export function useUpdateDocument(collectionId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...patch }: { id: string; date?: string | null; metadata?: DocumentInfo['metadata'] }) =>
      api<DocumentInfo>('PATCH', `/api/documents/${id}`, patch),
    onSuccess: () => client.invalidateQueries({ queryKey: ['collection-documents', collectionId] }),
  });
}

export function useAuditEvents(action: string) {
  return useInfiniteQuery({
    queryKey: ['audit', action],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam }) => {
      const params = new URLSearchParams({
        limit: '50',
        ...(pageParam ? { before: String(pageParam) } : {}),
        ...(action ? { action } : {}),
      });
      return api<{ items: AuditEvent[]; nextBefore: number | null }>('GET', `/api/admin/audit?${params}`);
    },
    getNextPageParam: (last) => last.nextBefore ?? undefined,
  });
}

export function useAuditVerdict() {
  return useQuery({ queryKey: ['audit-verify'], queryFn: () => api<AuditVerdict>('GET', '/api/admin/audit/verify') });
}

/** The organisation's model aliases, each with its versions, traffic policy and rollout state. */
export function useDeployments() {
  return useQuery({ queryKey: ['deployments'], queryFn: () => api<{ aliases: ModelAlias[] }>('GET', '/api/deployments') });
}

/** One alias with its live per-arm figures, refreshed every few seconds while the tab is visible. */
export function useDeployment(alias: string | undefined) {
  return useQuery({
    queryKey: ['deployment', alias],
    queryFn: () => api<DeploymentStatus>('GET', `/api/deployments/${encodeURIComponent(alias ?? '')}`),
    enabled: Boolean(alias),
    refetchInterval: 3000,
    retry: false,
  });
}

/** Every change to an alias refreshes the list and the alias's status. */
function useDeploymentMutation<TInput, TOutput>(request: (input: TInput) => Promise<TOutput>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: request,
    onSuccess: () =>
      Promise.all([client.invalidateQueries({ queryKey: ['deployments'] }), client.invalidateQueries({ queryKey: ['deployment'] })]),
  });
}

const aliasPath = (alias: string) => `/api/deployments/${encodeURIComponent(alias)}`;

export function useCreateDeployment() {
  return useDeploymentMutation((input: { name: string; description?: string; version: ModelVersionInput }) =>
    api<ModelAlias>('POST', '/api/deployments', input),
  );
}

/** Sets an alias's description and policies (fixed, weighted, canary, A/B; shadow; cache). */
export function useUpdateDeployment(alias: string) {
  return useDeploymentMutation((input: AliasInput) => api<ModelAlias>('PUT', aliasPath(alias), input));
}

export function useAddDeploymentVersion(alias: string) {
  return useDeploymentMutation((input: ModelVersionInput) => api<ModelVersion>('POST', `${aliasPath(alias)}/versions`, input));
}

/** Promotes (a version, or the canary's candidate / the A/B leader), rolls back to a version, pauses or resumes. */
export function useDeploymentAction(alias: string) {
  return useDeploymentMutation(
    (action: { kind: 'promote'; version?: number } | { kind: 'rollback'; version: number } | { kind: 'pause' | 'resume' }) => {
      const { kind, ...body } = action;
      return api<ModelAlias>('POST', `${aliasPath(alias)}/${kind}`, body);
    },
  );
}

export function useDeleteDeployment() {
  return useDeploymentMutation((alias: string) => api<void>('DELETE', aliasPath(alias)));
}
