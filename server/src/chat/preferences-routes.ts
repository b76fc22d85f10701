import { type Preferences, UpdatePreferencesSchema } from '@axon/contracts';
import type { FastifyInstance } from 'fastify';
import { parseInput } from '../http/parse-input';
import { requirePrincipal } from '../http/require-principal';
import type { Store } from '../store';

/** Each person's own chat settings: the default instructions sent before every conversation's own. */
export function registerPreferencesRoutes(app: FastifyInstance, { store }: { store: Store }): void {
  app.get('/api/account/preferences', async (request): Promise<Preferences> => store.preferences.get(requirePrincipal(request).user.id));

  app.put('/api/account/preferences', async (request): Promise<Preferences> => {
    const body = parseInput(UpdatePreferencesSchema, request.body, 'body');
    return store.preferences.set(requirePrincipal(request).user.id, body);
  });
}
