import { randomUUID } from 'node:crypto';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import type { GenerationParams, ModelAlias, ModelInfo, TrafficPolicy } from '@axon/contracts';
import type { FastifyRequest } from 'fastify';
import type { CallerModels } from '../chat/chat-pipeline';
import { AppError } from '../errors';
import type { InvalidationBus } from '../invalidation/invalidation-bus';
import type { ModelCatalog, ResolvedModel } from '../providers';
import { assign } from './traffic/assign';
import type { Assignment, ModelRegistryRepository } from './types';

/** How long a replica serves an alias from memory; a change made anywhere is announced on the bus at once. */
const ALIAS_TTL_MS = 5000;

/** `chat-default`, or `chat-default@3` to pin a version. Aliases hold no `/`, which tells them from catalog ids. */
const ALIAS_REF = /^([a-z0-9][a-z0-9._-]{0,62})(?:@(\d{1,6}))?$/;

export function parseAliasRef(id: string): { alias: string; version?: number } | undefined {
  const match = ALIAS_REF.exec(id);
  if (!match?.[1]) return undefined;
  return match[2] ? { alias: match[1], version: Number(match[2]) } : { alias: match[1] };
}

/** The versions a policy may send traffic to; the first is the one the alias "is" when listed. */
export function policyVersions(policy: TrafficPolicy): number[] {
  switch (policy.type) {
    case 'fixed':
      return [policy.version];
    case 'weighted':
      return policy.split.map((s) => s.version);
    case 'canary':
      return [policy.stable, policy.candidate];
    case 'ab':
      return policy.variants.map((v) => v.version);
  }
}

/**
 * The key a sticky policy hashes: the conversation (the web chat's conversation, or a `/v1`
 * caller's `X-Axon-Conversation` header or `metadata.conversation_id`), else the user.
 */
function stickyKeys(request: FastifyRequest | undefined): { userId: string; conversationId?: string; requestId: string } {
  const userId = request?.principal?.user.id ?? 'anonymous';
  const requestId = request?.id ? `${request.id}:${randomUUID()}` : randomUUID();
  if (!request) return { userId, requestId };
  const url = request.url;
  const params = request.params as { id?: unknown } | undefined;
  if (url.startsWith('/api/conversations/') && typeof params?.id === 'string') return { userId, conversationId: params.id, requestId };
  const header = request.headers['x-axon-conversation'];
  if (typeof header === 'string' && header.length > 0 && header.length <= 200) return { userId, conversationId: header, requestId };
  const metadata = (request.body as { metadata?: { conversation_id?: unknown } } | undefined)?.metadata;
  if (typeof metadata?.conversation_id === 'string') return { userId, conversationId: metadata.conversation_id.slice(0, 200), requestId };
  return { userId, requestId };
}

export interface AliasModels extends CallerModels {
  /** The alias as the registry holds it now (from the replica's cache). */
  get(name: string): Promise<ModelAlias | undefined>;
}

/**
 * Model aliases served as models: `chat-default` resolves, per request, to the version its traffic
 * policy assigns (sticky per conversation or user), `chat-default@3` to that version. The answer's
 * model is the version's catalog model with the version's parameters and prompt template, which the
 * call sites apply from `served`, and report its outcome for the experiment's figures.
 */
export function createAliasModels(deps: {
  registry: Pick<ModelRegistryRepository, 'getAlias' | 'listAliases'>;
  catalog: ModelCatalog;
  bus?: InvalidationBus | undefined;
  now?: () => number;
}): AliasModels {
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { alias: ModelAlias | undefined; at: number }>();
  let listing: { aliases: ModelAlias[]; at: number } | undefined;
  deps.bus?.subscribe('model-aliases', (name) => {
    listing = undefined;
    if (name === undefined) cache.clear();
    else cache.delete(name);
  });

  async function get(name: string): Promise<ModelAlias | undefined> {
    const hit = cache.get(name);
    if (hit && now() - hit.at < ALIAS_TTL_MS) return hit.alias;
    const alias = await deps.registry.getAlias(name);
    cache.set(name, { alias, at: now() });
    return alias;
  }

  async function all(): Promise<ModelAlias[]> {
    if (listing && now() - listing.at < ALIAS_TTL_MS) return listing.aliases;
    const aliases = await deps.registry.listAliases();
    listing = { aliases, at: now() };
    for (const alias of aliases) cache.set(alias.name, { alias, at: listing.at });
    return aliases;
  }

  /** An alias listed as a model: what its versions can all do, so a capability is never promised that one variant lacks. */
  async function describe(alias: ModelAlias): Promise<ModelInfo | undefined> {
    const infos: ModelInfo[] = [];
    for (const n of policyVersions(alias.policy)) {
      const version = alias.versions.find((v) => v.version === n);
      if (!version) continue;
      const info = await deps.catalog.resolve(version.model).then(
        (r) => r.info,
        () => undefined,
      );
      if (info) infos.push(info);
    }
    const [first, ...rest] = infos;
    if (!first) return undefined;
    const every = (key: 'tools' | 'vision' | 'structuredOutputs') => infos.every((i) => i.capabilities[key] !== false);
    const windows = infos.map((i) => i.capabilities.contextWindow).filter((w): w is number => typeof w === 'number');
    return {
      id: alias.name,
      name: alias.name,
      connection: 'alias',
      kind: rest.every((i) => i.kind === first.kind) ? first.kind : 'remote',
      description: alias.description ?? `Alias of ${first.id}`,
      capabilities: {
        tools: every('tools'),
        vision: every('vision'),
        structuredOutputs: every('structuredOutputs'),
        ...(windows.length === infos.length && windows.length > 0 ? { contextWindow: Math.min(...windows) } : {}),
      },
    };
  }

  return {
    get,
    owns: (id) => !id.includes('/') && parseAliasRef(id) !== undefined,
    async list() {
      const described = await Promise.all((await all()).map(describe));
      return described.filter((m): m is ModelInfo => m !== undefined);
    },
    async resolve(id, request): Promise<ResolvedModel> {
      const ref = parseAliasRef(id);
      const alias = ref ? await get(ref.alias) : undefined;
      if (!ref || !alias)
        throw new AppError('model_not_found', {
          detail: `The model '${id}' does not exist or is not offered here; GET /v1/models lists the models you can use.`,
        });
      let assignment: Assignment;
      if (ref.version !== undefined) {
        if (!alias.versions.some((v) => v.version === ref.version))
          throw new AppError('model_not_found', { detail: `The alias '${alias.name}' has no version ${ref.version}.` });
        assignment = { alias: alias.name, version: ref.version, arm: 'pinned', revision: alias.revision };
      } else {
        assignment = assign(alias, stickyKeys(request));
      }
      const version = alias.versions.find((v) => v.version === assignment.version);
      if (!version)
        throw new AppError('upstream_error', { detail: `The alias '${alias.name}' sends traffic to a version it does not have.` });
      const resolved = await deps.catalog.resolve(version.model);
      return { ...resolved, info: { ...resolved.info, id }, served: { assignment, version, cache: alias.cache } };
    },
  };
}

/** Where each wire carries a version's generation parameters; a parameter a wire lacks is left out of its body. */
const PARAM_FIELDS: Record<'chat' | 'messages' | 'responses', Partial<Record<keyof GenerationParams, string>>> = {
  chat: {
    temperature: 'temperature',
    top_p: 'top_p',
    max_tokens: 'max_tokens',
    presence_penalty: 'presence_penalty',
    frequency_penalty: 'frequency_penalty',
    seed: 'seed',
    stop: 'stop',
  },
  messages: { temperature: 'temperature', top_p: 'top_p', max_tokens: 'max_tokens', stop: 'stop_sequences' },
  responses: { temperature: 'temperature', top_p: 'top_p', max_tokens: 'max_output_tokens' },
};

/**
 * Writes an alias version's generation parameters into a request body of a wire (`chat`:
 * `/v1/chat/completions`, `messages`: `/v1/messages`, `responses`: `/v1/responses`), under that
 * wire's names, where the caller set none of their own: the caller's values win. On chat
 * completions `max_tokens` is not added when the caller sent `max_completion_tokens`.
 */
export function applyVersionParams(body: Record<string, unknown>, params: GenerationParams, wire: keyof typeof PARAM_FIELDS): void {
  const fields = PARAM_FIELDS[wire];
  for (const [key, value] of Object.entries(params) as Array<[keyof GenerationParams, unknown]>) {
    const field = fields[key];
    if (!field || value === undefined || body[field] !== undefined) continue;
    if (wire === 'chat' && key === 'max_tokens' && body.max_completion_tokens !== undefined) continue;
    body[field] = key === 'stop' && wire === 'messages' && typeof value === 'string' ? [value] : value;
  }
}

/**
 * Fills the call options of a translated request with an alias version's generation parameters
 * where they hold none, the caller's (from the body) winning: also those the caller's wire has no
 * field for (penalties and seed on `/v1/messages` and `/v1/responses`, stop sequences on the latter).
 */
export function fillCallOptions<O extends Omit<LanguageModelV3CallOptions, 'abortSignal'>>(options: O, params: GenerationParams): O {
  const stop = params.stop === undefined ? undefined : Array.isArray(params.stop) ? params.stop : [params.stop];
  const filled: O = { ...options };
  filled.temperature ??= params.temperature;
  filled.topP ??= params.top_p;
  filled.maxOutputTokens ??= params.max_tokens;
  filled.presencePenalty ??= params.presence_penalty;
  filled.frequencyPenalty ??= params.frequency_penalty;
  filled.seed ??= params.seed;
  if (stop && !filled.stopSequences?.length) filled.stopSequences = stop;
  for (const key of Object.keys(filled) as Array<keyof O>) if (filled[key] === undefined) delete filled[key];
  return filled;
}

/**
 * The catalog with model aliases resolved too, for callers that hold a catalog (agents' planner
 * models): `summarizer@2` pins a version; an alias without one is assigned as for a request.
 */
export function aliasAwareCatalog(catalog: ModelCatalog, aliases: AliasModels): ModelCatalog {
  return {
    ...catalog,
    resolve: (id) => (aliases.owns(id) ? aliases.resolve(id, undefined) : catalog.resolve(id)),
  };
}
