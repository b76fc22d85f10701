import './parse-without-eval';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { Toaster } from 'sonner';
import { ApiError } from './api/api-client';
import { AppShell } from './app';
import { AdminPage } from './pages/admin-page';
import { AgentsPage } from './pages/agents-page';
import { AuditPage } from './pages/audit-page';
import { ChatPage } from './pages/chat-page';
import { CollectionPage } from './pages/collection-page';
import { CollectionsPage } from './pages/collections-page';
import { DeploymentsPage } from './pages/deployments-page';
import { OrganisationPage } from './pages/organisation-page';
import { PromptLogPage } from './pages/prompt-log-page';
import { PromptsPage } from './pages/prompts-page';
import { ResetPasswordPage } from './pages/reset-password-page';
import { SettingsPage } from './pages/settings-page';
import { SharedConversationPage } from './pages/shared-conversation-page';
import { ToolsPage } from './pages/tools-page';
import { UsagePage } from './pages/usage-page';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      refetchOnWindowFocus: false,
      retry: (failures, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && failures < 2,
    },
  },
});

const router = createBrowserRouter([
  // Reached signed out, from a link an administrator made: outside the signed-in shell.
  { path: '/reset-password', element: <ResetPasswordPage /> },
  {
    element: <AppShell />,
    children: [
      { path: '/', element: <ChatPage /> },
      { path: '/c/:id', element: <ChatPage /> },
      { path: '/shared/:token', element: <SharedConversationPage /> },
      { path: '/settings', element: <SettingsPage /> },
      { path: '/audit', element: <AuditPage /> },
      { path: '/prompts', element: <PromptsPage /> },
      { path: '/agents', element: <AgentsPage /> },
      { path: '/deployments', element: <DeploymentsPage /> },
      { path: '/tools', element: <ToolsPage /> },
      { path: '/usage', element: <UsagePage /> },
      { path: '/admin', element: <AdminPage /> },
      { path: '/organisation', element: <OrganisationPage /> },
      { path: '/prompt-log', element: <PromptLogPage /> },
      { path: '/collections', element: <CollectionsPage /> },
      { path: '/collections/:id', element: <CollectionPage /> },
      { path: '*', element: <ChatPage /> },
    ],
  },
]);

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
      <Toaster richColors position="bottom-right" />
    </QueryClientProvider>
  </StrictMode>,
);
