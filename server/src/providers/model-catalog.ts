import type { LanguageModelV3 } from '@ai-sdk/provider';
import type { CachePolicy, ModelInfo, ModelVersion } from '@axon/contracts';
import { AppError } from '../errors';
import type { Assignment } from '../modelops/types';
import type { ModelConnection } from './model-connections';

export interface ResolvedModel {
  info: ModelInfo;
  model: LanguageModelV3;
  /** The connection that serves it (its wire target, its full-featured client). */
  connection: ModelConnection;
  /** The model's id at the upstream (without the connection prefix). */
  upstreamId: string;
  /** When the id named a model alias: the version and experiment arm that serve this request. */
  served?: AliasServing | undefined;
}

/** The alias version a request was given, with what the call sites apply and report. */
export interface AliasServing {
  assignment: Assignment;
  version: ModelVersion;
  /** The alias's response cache, when it turns one on. */
  cache?: CachePolicy | undefined;
}

/** Every model Axon offers, across connections. */
export interface ModelCatalog {
  /** All models, from cache when fresh; a connection that cannot be reached contributes none. */
  list(): Promise<ModelInfo[]>;
  /** The model for a namespaced id (`openai/gpt-4o-mini`); `model_not_found` if no connection offers it. */
  resolve(id: string): Promise<ResolvedModel>;
  /** The id used when a request names no model. */
  defaultModelId(): Promise<string>;
  /** Connections whose last listing failed, with the reason; for `/readyz` and the admin. */
  problems(): Record<string, string>;
  /**
   * Checks the configured default model against its connection's listing. When the listing is
   * there and does not offer it, the problem is returned and kept in `problems()` under
   * {@link DEFAULT_MODEL_PROBLEM}; undefined when it is offered or cannot be checked yet.
   */
  checkDefaultModel(): Promise<string | undefined>;
  /** The connection of that name (the prefix of its model ids). */
  connectionNamed(name: string): ModelConnection | undefined;
  /** Embedding models every connection offers, as namespaced ids. */
  embeddingModels(): Array<{ id: string; connection: ModelConnection; upstreamId: string }>;
  /**
   * Treats every listing as stale: the next use lists the connections again (waiting for the new
   * listing, so that a model added upstream is found at once). Called when a replica announces a change.
   */
  forget(): void;
}

export interface ModelCatalogOptions {
  connections: ModelConnection[];
  /** How long a fetched listing stays fresh, in ms. */
  ttlMs: number;
  /** The configured default model id, if any. */
  defaultModel?: string | undefined;
  /** How long to wait for one upstream listing. */
  listTimeoutMs?: number;
  now?: () => number;
  onListError?: (connection: string, error: unknown) => void;
}

/** The key of `problems()` for a configured default model that is not offered. */
export const DEFAULT_MODEL_PROBLEM = 'default model';

interface Listing {
  models: Map<string, ModelInfo>;
  fetchedAt: number;
  /** The `forget` count when it was fetched. */
  epoch: number;
}

/**
 * Caches each connection's listing: fresh listings are served from memory, stale ones are served
 * while a refresh runs in the background, and a model id is checked against the listing before
 * any request goes out, so an unknown id is refused and never passed through.
 */
export function createModelCatalog(options: ModelCatalogOptions): ModelCatalog {
  const { connections, ttlMs, listTimeoutMs = 5000, now = Date.now } = options;
  const byName = new Map(connections.map((c) => [c.name, c]));
  const listings = new Map<string, Listing>();
  // A listing being fetched, with the epoch it began in: one begun before a `forget` is not waited on for a newer one.
  const inflight = new Map<string, { epoch: number; pending: Promise<Listing | undefined> }>();
  const errors: Record<string, string> = {};
  let epoch = 0;

  function refresh(connection: ModelConnection): Promise<Listing | undefined> {
    const running = inflight.get(connection.name);
    if (running && running.epoch === epoch) return running.pending;
    const startedEpoch = epoch;
    const pending: Promise<Listing | undefined> = connection
      .listModels(AbortSignal.timeout(listTimeoutMs))
      .then((entries) => {
        const models = new Map<string, ModelInfo>();
        for (const entry of entries) {
          if (entry.type === 'embedding') continue;
          const id = `${connection.name}/${entry.id}`;
          const own = entry.capabilities ?? {};
          // A remote model is taken to have what its configuration does not deny: its upstream answers for itself.
          const capabilities = {
            tools: own.tools ?? connection.kind === 'remote',
            vision: own.vision ?? connection.kind === 'remote',
            structuredOutputs: own.structuredOutputs ?? connection.kind === 'remote',
            ...(own.contextWindow ? { contextWindow: own.contextWindow } : {}),
          };
          models.set(entry.id, {
            id,
            name: entry.name ?? entry.id,
            connection: connection.name,
            kind: connection.kind,
            ...(entry.description ? { description: entry.description } : {}),
            capabilities,
          });
        }
        const listing = { models, fetchedAt: now(), epoch: startedEpoch };
        // A fetch begun before a newer one finished does not replace what that one found.
        const newer = listings.get(connection.name);
        if (newer && newer.epoch > startedEpoch) return newer;
        listings.set(connection.name, listing);
        delete errors[connection.name];
        if (models.size === 0) {
          errors[connection.name] = 'it lists no models';
          options.onListError?.(connection.name, new Error('the upstream lists no models'));
        }
        return listing;
      })
      .catch((error: unknown) => {
        errors[connection.name] = error instanceof Error ? error.message : String(error);
        options.onListError?.(connection.name, error);
        // The old listing is kept, and after a `forget` it is not waited on again at every use.
        const kept = listings.get(connection.name);
        if (kept) kept.epoch = Math.max(kept.epoch, startedEpoch);
        return kept;
      })
      .finally(() => {
        if (inflight.get(connection.name)?.pending === pending) inflight.delete(connection.name);
      });
    inflight.set(connection.name, { epoch: startedEpoch, pending });
    return pending;
  }

  async function listingOf(connection: ModelConnection): Promise<Listing | undefined> {
    const listing = listings.get(connection.name);
    if (!listing) return refresh(connection);
    // A listing fetched before `forget` is fetched again, and waited for (the old one if that fails).
    if (listing.epoch < epoch) return (await refresh(connection)) ?? listing;
    if (now() - listing.fetchedAt > ttlMs) void refresh(connection);
    return listing;
  }

  const catalog: ModelCatalog = {
    async list() {
      const all = await Promise.all(connections.map((c) => listingOf(c)));
      return all.flatMap((listing) => (listing ? [...listing.models.values()] : []));
    },
    async resolve(id) {
      const slash = id.indexOf('/');
      const connection = slash > 0 ? byName.get(id.slice(0, slash)) : undefined;
      const modelId = id.slice(slash + 1);
      const notFound = () =>
        new AppError('model_not_found', {
          detail: `The model '${id}' does not exist or is not offered here; GET /v1/models lists the models you can use.`,
        });
      if (!connection || !modelId) throw notFound();
      const listing = await listingOf(connection);
      const info = listing?.models.get(modelId);
      if (!info) {
        if (errors[connection.name]) {
          throw new AppError('upstream_error', { detail: `Cannot list the models of '${connection.name}': ${errors[connection.name]}` });
        }
        throw notFound();
      }
      return { info, model: connection.languageModel(modelId), connection, upstreamId: modelId };
    },
    async defaultModelId() {
      if (options.defaultModel) return options.defaultModel;
      for (const connection of connections) {
        const first = (await listingOf(connection))?.models.values().next().value;
        if (first) return first.id;
      }
      return 'local/extractive';
    },
    async checkDefaultModel() {
      const id = options.defaultModel;
      if (!id) return undefined;
      const slash = id.indexOf('/');
      const connection = slash > 0 ? byName.get(id.slice(0, slash)) : undefined;
      const listing = connection ? await listingOf(connection) : undefined;
      if (connection && !listing) return undefined;
      if (listing?.models.has(id.slice(slash + 1))) {
        delete errors[DEFAULT_MODEL_PROBLEM];
        return undefined;
      }
      const offered = [...(listing?.models.values() ?? [])].slice(0, 5).map((m) => m.id);
      errors[DEFAULT_MODEL_PROBLEM] =
        `AXON_DEFAULT_MODEL is '${id}', which is not offered${offered.length ? ` (offered: ${offered.join(', ')})` : ''}; requests without a model will be refused`;
      return errors[DEFAULT_MODEL_PROBLEM];
    },
    problems: () => ({ ...errors }),
    connectionNamed: (name) => byName.get(name),
    embeddingModels: () =>
      connections.flatMap((connection) =>
        connection.embeddingModels.map((upstreamId) => ({ id: `${connection.name}/${upstreamId}`, connection, upstreamId })),
      ),
    forget() {
      epoch++;
    },
  };
  return catalog;
}
