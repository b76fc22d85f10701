import {
  AliasNameSchema,
  CachePolicySchema,
  ModelVersionInputSchema,
  RoleSchema,
  ShadowPolicySchema,
  TrafficPolicySchema,
} from '@axon/contracts';
import { isSupportedCountry } from 'libphonenumber-js';
import { z } from 'zod';
import { missingVersions } from '../modelops/registry/versions-named-by';
import { DEFAULT_PHONE_REGIONS } from '../redaction/phone-numbers';
import { ENTITY_TYPES } from '../redaction/redact';

const ModelEntrySchema = z.strictObject({
  /** Model id as the upstream knows it (e.g. `llama3.1:8b`). */
  id: z.string().min(1),
  /** Name shown in the model picker. */
  name: z.string().min(1).optional(),
  /** One line shown under the name in the model picker. */
  description: z.string().max(300).optional(),
  /**
   * What the model can do. Unset capabilities of remote models count as present (the upstream
   * answers for itself); set one to `false` to have Axon refuse such requests with a clear 400.
   */
  capabilities: z
    .strictObject({
      tools: z.boolean().optional(),
      vision: z.boolean().optional(),
      structuredOutputs: z.boolean().optional(),
      contextWindow: z.number().int().positive().optional(),
    })
    .optional(),
  /** `embedding` models are offered by `/v1/embeddings`, not for chat. */
  type: z.enum(['chat', 'embedding']).default('chat'),
});

/** Whether a base URL is OpenAI's own API (whose model list holds much that is not chat). */
export function isOpenAIBaseURL(baseURL: string | undefined): boolean {
  if (baseURL === undefined) return true;
  try {
    return new URL(baseURL).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

/** Time limits for calls to one upstream, in ms. */
const UpstreamTimeoutsSchema = z.strictObject({
  /** Until the connection is open. */
  connectMs: z.coerce.number().int().min(1).optional(),
  /** Until the response's headers arrive (a model may think a while before it answers). */
  firstByteMs: z.coerce.number().int().min(1).optional(),
  /** Longest silence while a response streams. */
  idleMs: z.coerce.number().int().min(1).optional(),
});

const urlField = (what: string) =>
  z.url({ message: `${what} must be an http(s) URL, e.g. http://127.0.0.1:8000/v1` }).refine((u) => /^https?:\/\//.test(u), {
    message: `${what} must start with http:// or https://`,
  });

/** A self-hosted or third-party server that speaks OpenAI's chat completions API (vLLM, TGI, Ollama, llama.cpp). */
const CompatibleConnectionSchema = z.strictObject({
  /** Connection name, the prefix of its model ids (`vllm/llama-3.1-8b`). Letters, digits, `-` and `_`. */
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/i, 'use 1-40 letters, digits, "-" or "_"'),
  type: z.literal('openai-compatible').default('openai-compatible'),
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:11434/v1` for Ollama. */
  baseURL: urlField('baseURL'),
  /** Bearer token, if the server wants one. Prefer `apiKeyEnv` to keep it out of the file. */
  apiKey: z.string().optional(),
  /** Name of an environment variable holding the bearer token. */
  apiKeyEnv: z.string().optional(),
  /** Models to offer; when absent they are read from the server's `/models`. */
  models: z.array(ModelEntrySchema).optional(),
  /**
   * Client for this upstream: `axon`, Axon's lean OpenAI wire client (the default, fastest), or
   * `ai-sdk`, the AI SDK's `@ai-sdk/openai-compatible` provider.
   */
  client: z.enum(['axon', 'ai-sdk']).default('axon'),
  /** Time limits for this server's calls, over the global `upstreamTimeouts`. */
  timeouts: UpstreamTimeoutsSchema.optional(),
  /** Embedding models it offers to `/v1/embeddings` (ids as the server knows them). */
  embeddingModels: z.array(z.string().min(1)).optional(),
  /**
   * Whether the server also serves OpenAI's Responses API (`POST /v1/responses`, as vLLM does):
   * `/v1/responses` is then forwarded to it as sent; otherwise Axon translates to chat completions.
   */
  responses: z.boolean().default(false),
  /**
   * Its rerank endpoint, if it has one: `format` is the wire format (`cohere`, `jina` and vLLM's
   * share one; `voyage`; `tei` for Hugging Face Text Embeddings Inference) and `path` the endpoint
   * under `baseURL` (default `/rerank`). The model used is named in `rerank.model`.
   */
  rerank: z
    .strictObject({
      format: z.enum(['cohere', 'jina', 'voyage', 'tei']).default('cohere'),
      path: z
        .string()
        .regex(/^\/[\w./-]*$/, 'write the path under baseURL, starting with /, e.g. /rerank')
        .default('/rerank'),
    })
    .optional(),
});

const ClaimMappingFields = {
  /** The claim holding the email, the account the person signs in as. */
  emailClaim: z.string().default('email'),
  /** The claim listing the person's groups or roles (`groups`, `roles`, Entra ID's `roles`…). */
  roleClaim: z.string().default('groups'),
  /** Group or role name at the provider → Axon role. */
  roleMap: z.record(z.string(), RoleSchema).default({}),
  /** The role of someone none of whose groups is in `roleMap`. */
  defaultRole: RoleSchema.default('member'),
  /** Slug of the organisation accounts from this provider belong to (default: the first organisation). */
  organization: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{1,39}$/)
    .optional(),
};

/** An OpenID Connect identity provider people sign in through (authorization code + PKCE). */
const SsoProviderSchema = z.strictObject({
  /** Short name used in URLs: `/api/auth/sso/{id}/start`. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and -'),
  /** What the sign-in button says: "Sign in with {name}". */
  name: z.string().min(1).max(60),
  /** The issuer URL; its `/.well-known/openid-configuration` is read at the first sign-in. */
  issuer: z.url(),
  clientId: z.string().min(1),
  /** Empty for a public client (PKCE alone). */
  clientSecret: z.string().optional(),
  scopes: z.string().default('openid email profile'),
  /** Seconds of clock difference tolerated in token times. */
  clockToleranceSeconds: z.coerce.number().int().min(0).max(600).default(30),
  /** Allow an `http://` issuer (a provider on loopback in development); never in production. */
  allowHttp: z.boolean().default(false),
  ...ClaimMappingFields,
});
export type SsoProviderConfig = z.infer<typeof SsoProviderSchema>;

/** A model alias declared in the file; at every start the file's policies win over changes made through the API. */
const ConfiguredAliasSchema = z.strictObject({
  /** What the alias is for, shown on the deployments page. */
  description: z.string().max(300).optional(),
  /**
   * The alias's versions in order: the first entry is version 1, the second version 2… Versions are
   * immutable: change one by appending a new entry, never by editing an entry that was deployed.
   */
  versions: z.array(ModelVersionInputSchema).min(1),
  /** How requests are split among the versions (`{ type: fixed, version: 1 }`, weighted, canary or ab). */
  policy: TrafficPolicySchema,
  /** A share of requests mirrored to a version whose answers are never returned. */
  shadow: ShadowPolicySchema.optional(),
  /** Cached answers: exact, and semantic above a similarity threshold. */
  cache: CachePolicySchema.optional(),
});
export type ConfiguredAlias = z.infer<typeof ConfiguredAliasSchema>;

export const ConfigSchema = z
  .strictObject({
    /** TCP port to listen on (`PORT`). */
    port: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Interface to bind (`HOST`); `0.0.0.0` to accept connections from other machines. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Where the SQLite database (`axon.db`) and uploaded files live (`AXON_DATA_DIR`). */
    dataDir: z.string().min(1).default('./data'),
    /** pino log level (`LOG_LEVEL`). */
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Directory of the built web app to serve, by default the repository's `web/dist`; empty to serve only the API (`AXON_WEB_DIR`). */
    webDir: z.string().optional(),
    /** Trust `X-Forwarded-*` headers from a reverse proxy (`AXON_TRUST_PROXY`). */
    trustProxy: z.boolean().default(false),
    /** Mark cookies `Secure` (`AXON_SECURE_COOKIES`); `auto` does so when the request came over HTTPS. */
    secureCookies: z.enum(['auto', 'always', 'never']).default('auto'),
    /** Largest request body accepted, in bytes (`AXON_BODY_LIMIT`). */
    bodyLimit: z.coerce
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(1024 * 1024),
    /**
     * The address people reach Axon at, e.g. `https://axon.example.com` (`AXON_PUBLIC_URL`); identity
     * providers send people back to `{publicUrl}/api/auth/sso/{id}/callback`. Without it, the address
     * of each request is used.
     */
    publicUrl: z.url().optional(),
    /** Sign-in with email and password (`AXON_LOCAL_ACCOUNTS`); off to allow single sign-on only. */
    localAccounts: z.boolean().default(true),
    /**
     * OpenID Connect providers for single sign-on (Entra ID, Okta, Keycloak, Google, any standard
     * issuer), through the authorization code flow with PKCE, state and nonce (`AXON_OIDC_ISSUER`,
     * `AXON_OIDC_CLIENT_ID`, `AXON_OIDC_CLIENT_SECRET`, `AXON_OIDC_NAME` add one). People are created
     * at their first sign-in in the provider's `organization`, with the role their groups map to at
     * every sign-in.
     */
    sso: z.array(SsoProviderSchema).default([]),
    /** How long a sign-in lasts, in hours (`AXON_SESSION_TTL_HOURS`). */
    sessionTtlHours: z.coerce
      .number()
      .min(0.01)
      .max(24 * 365)
      .default(24 * 14),
    /** On SIGTERM, how long running streams may go on before they are stopped and saved (`AXON_SHUTDOWN_GRACE_MS`). */
    shutdownGraceMs: z.coerce
      .number()
      .int()
      .min(0)
      .max(10 * 60_000)
      .default(10_000),
    /** First admin account, created at start if no account exists, instead of the set-up page (`AXON_ADMIN_EMAIL`, `AXON_ADMIN_PASSWORD`). */
    admin: z
      .strictObject({
        /** Email of the first admin. */
        email: z.email('AXON_ADMIN_EMAIL must be an email address'),
        /** Password of the first admin, at least 10 characters. */
        password: z.string().min(10, 'AXON_ADMIN_PASSWORD needs at least 10 characters'),
      })
      .optional(),
    /** Model used when a request names none (`AXON_DEFAULT_MODEL`); defaults to the first configured provider's first model, else `local/extractive`. */
    defaultModel: z.string().optional(),
    /**
     * How a new conversation is titled once its first answer is written (`AXON_CONVERSATION_TITLES`):
     * `auto` asks the conversation's model for a few words (key phrases of the exchange for the local
     * model, or if the model fails); `key-phrases` never asks a model; `first-message` keeps the first
     * question's opening words.
     */
    conversationTitles: z.enum(['auto', 'key-phrases', 'first-message']).default('auto'),
    /** How long a connection's model list is cached before it is fetched again, in ms (`AXON_MODELS_TTL_MS`). */
    modelsCacheTtlMs: z.coerce
      .number()
      .int()
      .min(0)
      .default(5 * 60_000),
    /**
     * Time limits for every upstream call (each connection may set its own): connecting, the first
     * byte of the answer, and silence while it streams (`AXON_UPSTREAM_CONNECT_TIMEOUT_MS`,
     * `AXON_UPSTREAM_FIRST_BYTE_TIMEOUT_MS`, `AXON_UPSTREAM_IDLE_TIMEOUT_MS`).
     */
    upstreamTimeouts: UpstreamTimeoutsSchema.default({}).transform((t) => ({
      connectMs: t.connectMs ?? 10_000,
      firstByteMs: t.firstByteMs ?? 300_000,
      idleMs: t.idleMs ?? 120_000,
    })),
    /**
     * Origins of web pages whose scripts may call `/v1` from the browser, e.g.
     * `https://app.example.com` (`AXON_CORS_ORIGINS`, comma-separated; `*` for any). Preflight
     * requests are answered without a key; the calls themselves still need one. `/api` never allows other origins.
     */
    corsOrigins: z.array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'an origin like https://app.example.com, or *')).default([]),
    /** Upper bound for one whole upstream model call, in ms (`AXON_UPSTREAM_TIMEOUT_MS`). */
    upstreamTimeoutMs: z.coerce
      .number()
      .int()
      .min(1000)
      .default(10 * 60_000),
    /** The built-in extractive model. */
    localModel: z
      .strictObject({
        /** Offer `local/extractive` (`AXON_LOCAL_MODEL`). */
        enabled: z.boolean().default(true),
        /** Pause between streamed words, in ms, so that answers read like a stream (`AXON_LOCAL_MODEL_DELAY_MS`). */
        wordDelayMs: z.coerce.number().int().min(0).max(1000).default(12),
        /** Most sentences it quotes in one answer. */
        maxSentences: z.coerce.number().int().min(1).max(50).default(5),
      })
      .default({ enabled: true, wordDelayMs: 12, maxSentences: 5 }),
    /** OpenAI (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODELS` comma-separated). */
    openai: z
      .strictObject({
        /** Needed for OpenAI itself; optional for another server at `OPENAI_BASE_URL` that wants none. */
        apiKey: z.string().min(1).optional(),
        /** Another server that speaks OpenAI's API (vLLM, Ollama, a proxy) instead of `https://api.openai.com/v1`. */
        baseURL: urlField('OPENAI_BASE_URL').optional(),
        /**
         * Models to offer (`OPENAI_MODELS`: ids, comma-separated); when absent they are listed from the
         * API (only the chat models of OpenAI's own).
         */
        models: z.array(ModelEntrySchema).optional(),
        timeouts: UpstreamTimeoutsSchema.optional(),
        /** Embedding models offered to `/v1/embeddings`. */
        embeddingModels: z.array(z.string().min(1)).optional(),
        /**
         * Whether the server serves OpenAI's Responses API (`OPENAI_RESPONSES`): `/v1/responses` is
         * then forwarded as sent, else translated to chat completions. Default: true for OpenAI's own
         * API, false for another server at `OPENAI_BASE_URL`.
         */
        responses: z.boolean().optional(),
      })
      .refine((o) => o.apiKey || (o.baseURL && !isOpenAIBaseURL(o.baseURL)), {
        message: "set OPENAI_API_KEY (OpenAI's own API needs one; a server at OPENAI_BASE_URL may not)",
      })
      .optional(),
    /** Anthropic (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODELS`). */
    anthropic: z
      .strictObject({
        /** Anthropic API key. */
        apiKey: z.string().min(1),
        /** Another address for the API than `https://api.anthropic.com/v1`. */
        baseURL: urlField('ANTHROPIC_BASE_URL').optional(),
        /** Models to offer (`ANTHROPIC_MODELS`: ids, comma-separated); when absent they are listed from the API. */
        models: z.array(ModelEntrySchema).optional(),
        timeouts: UpstreamTimeoutsSchema.optional(),
      })
      .optional(),
    /**
     * Azure OpenAI (`AZURE_OPENAI_API_KEY`, `AZURE_OPENAI_RESOURCE` or `AZURE_OPENAI_BASE_URL`,
     * `AZURE_OPENAI_API_VERSION`, `AZURE_OPENAI_DEPLOYMENTS` comma-separated). Azure cannot list
     * deployments with an API key, so they are named here.
     */
    azure: z
      .strictObject({
        /** Azure OpenAI API key. */
        apiKey: z.string().min(1),
        /** Resource name: the API is then at `https://{resourceName}.openai.azure.com/openai/v1`. */
        resourceName: z.string().optional(),
        /** The API's address, instead of a resource name. */
        baseURL: urlField('AZURE_OPENAI_BASE_URL').optional(),
        /** The `api-version` sent with each call (`v1` when unset). */
        apiVersion: z.string().optional(),
        /** Deployments to offer (`AZURE_OPENAI_DEPLOYMENTS`: names, comma-separated), used as model ids. */
        deployments: z.array(ModelEntrySchema).min(1, 'name at least one deployment in AZURE_OPENAI_DEPLOYMENTS'),
        timeouts: UpstreamTimeoutsSchema.optional(),
      })
      .refine((a) => a.resourceName || a.baseURL, { message: 'set AZURE_OPENAI_RESOURCE or AZURE_OPENAI_BASE_URL' })
      .optional(),
    /** Embeddings for vector search; without them retrieval is full-text only. */
    embeddings: z
      .strictObject({
        /** Embedding model as `connection/model` (`openai/text-embedding-3-small`, `ollama/nomic-embed-text`) (`AXON_EMBEDDING_MODEL`). */
        model: z.string().regex(/^[^/]+\/.+$/, 'write the model as connection/model, e.g. openai/text-embedding-3-small'),
        /** Most texts sent in one upstream call. */
        batchSize: z.coerce.number().int().min(1).max(2048).default(64),
        /** How long a batch waits for more texts, in ms. */
        batchWaitMs: z.coerce.number().int().min(0).max(1000).default(5),
      })
      .optional(),
    /**
     * A rerank model, the optional second stage of retrieval for collections that turn it on: named
     * `connection/model`, on a connection that declares its `rerank` endpoint.
     */
    rerank: z
      .strictObject({
        /** The rerank model as `connection/model`, e.g. `cohere/rerank-v3.5` (`AXON_RERANK_MODEL`). */
        model: z.string().regex(/^[^/]+\/.+$/, 'write the model as connection/model, e.g. jina/jina-reranker-v2-base-multilingual'),
        /** How many first-stage passages are sent to be reordered. */
        candidates: z.coerce.number().int().min(2).max(1000).default(30),
        /** Longest wait for the rerank endpoint, in ms; past it the first-stage order is kept. */
        timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
      })
      .optional(),
    /** Documents and retrieval. */
    rag: z
      .strictObject({
        /** Largest file accepted, in MB (`AXON_MAX_UPLOAD_MB`). */
        maxUploadMb: z.coerce.number().min(0.001).max(2048).default(50),
        /** Most files in one upload. */
        maxFilesPerUpload: z.coerce.number().int().min(1).max(1000).default(20),
        /** Most pages read from one PDF (and slides from one presentation). */
        maxPages: z.coerce.number().int().min(1).default(2000),
        /** Largest unpacked size of a DOCX, XLSX or PPTX, in MB (zip bomb guard). */
        maxDecompressedMb: z.coerce.number().min(1).default(200),
        /** Most characters of text kept from one document. */
        maxChars: z.coerce.number().int().min(1000).default(5_000_000),
        /** Most rows read from one CSV or spreadsheet (all its sheets). */
        maxCsvRows: z.coerce.number().int().min(1).default(100_000),
        /** Longest time to read one file, in ms (`AXON_PARSE_TIMEOUT_MS`). */
        parseTimeoutMs: z.coerce.number().int().min(100).default(120_000),
        /** Memory cap of the thread that reads one file, in MB. */
        parseMemoryMb: z.coerce.number().int().min(64).default(512),
        /**
         * Read the text in images (PNG, JPEG) and in scanned PDF pages with OCR (Tesseract, English,
         * run offline from the installed packages), within `parseTimeoutMs` and `maxPages`. Off: such
         * files fail with a reason that says so (`AXON_OCR`).
         */
        ocr: z.boolean().default(true),
        /** Chunk size, in tokens. */
        chunkTokens: z.coerce.number().int().min(32).max(8000).default(400),
        /** Tokens repeated between consecutive chunks. */
        chunkOverlapTokens: z.coerce.number().int().min(0).max(2000).default(60),
        /** Tokens of retrieved passages put into a prompt at most. */
        contextTokens: z.coerce.number().int().min(100).default(3000),
      })
      .default({
        maxUploadMb: 50,
        maxFilesPerUpload: 20,
        maxPages: 2000,
        maxDecompressedMb: 200,
        maxChars: 5_000_000,
        maxCsvRows: 100_000,
        parseTimeoutMs: 120_000,
        parseMemoryMb: 512,
        ocr: true,
        chunkTokens: 400,
        chunkOverlapTokens: 60,
        contextTokens: 3000,
      }),
    /**
     * Rate limits (0 = none). Per user they cover the web app and every key of the user; a key's own
     * limits (set when it is created) apply on top. Shared between replicas through Redis when
     * `REDIS_URL` is set, in memory otherwise.
     */
    limits: z
      .strictObject({
        /** Requests per minute per user, web app and API together (`AXON_USER_RPM`). */
        userRpm: z.coerce.number().int().min(0).default(600),
        /** Tokens per minute per user, estimated before the call and settled with the provider's usage (`AXON_USER_TPM`). */
        userTpm: z.coerce.number().int().min(0).default(0),
        /** Answers streaming at once per user (`AXON_USER_STREAMS`). */
        userConcurrentStreams: z.coerce.number().int().min(0).default(16),
        /**
         * Cost per user per UTC day in USD, from `prices` and the usage ledger; over it, calls get 429
         * until the day turns (`AXON_USER_DAILY_BUDGET_USD`).
         */
        userDailyBudgetUsd: z.coerce.number().min(0).default(0),
        /** Cost per user per UTC month in USD, likewise; over it, calls get 429 until the month turns (`AXON_USER_MONTHLY_BUDGET_USD`). */
        userMonthlyBudgetUsd: z.coerce.number().min(0).default(0),
      })
      .default({ userRpm: 600, userTpm: 0, userConcurrentStreams: 16, userDailyBudgetUsd: 0, userMonthlyBudgetUsd: 0 }),
    /** Prompts and answers through `/v1`: not kept, kept redacted, or kept as sent; and for how long. */
    promptLog: z
      .strictObject({
        /**
         * `off`, `redacted` (personal data and secrets replaced by `<EMAIL_1>`-style placeholders before
         * writing) or `full` (`AXON_PROMPT_LOG`).
         */
        mode: z.enum(['off', 'redacted', 'full']).default('redacted'),
        /** Days a row is kept; older rows are deleted hourly (`AXON_PROMPT_LOG_RETENTION_DAYS`). */
        retentionDays: z.coerce.number().int().min(1).max(3650).default(30),
      })
      .default({ mode: 'redacted', retentionDays: 30 }),
    /** Redaction of personal data and secrets. */
    redaction: z
      .strictObject({
        /** Also redact `/v1` prompts before they leave for the model (`AXON_REDACT_PROMPTS`). */
        guardrail: z.coerce.boolean().default(false),
        /** Extra patterns: `{ name, pattern }` (a regular expression); placeholders use the name. */
        patterns: z.array(z.strictObject({ name: z.string().min(1).max(40), pattern: z.string().min(1) })).default([]),
        /**
         * Entity types redacted in the prompt log's `redacted` mode: all of them by default (EMAIL,
         * PHONE, CARD, IBAN, SSN, IP, SECRET, NAME, ADDRESS, PASSPORT, DRIVER_LICENSE, ROUTING_NUMBER,
         * BANK_ACCOUNT). The prompt log redacts in a thread of its own. Custom patterns are always redacted.
         */
        promptLogTypes: z.array(z.enum(ENTITY_TYPES)).default([...ENTITY_TYPES]),
        /**
         * Entity types redacted in log lines: by default all but NAME and ADDRESS, which Axon's own
         * lines (identifiers, numbers, error messages) do not hold and whose language model would
         * otherwise be loaded into the serving process; add them for strict privacy.
         */
        logTypes: z.array(z.enum(ENTITY_TYPES)).default(ENTITY_TYPES.filter((t) => t !== 'NAME' && t !== 'ADDRESS')),
        /**
         * Entity types the guardrail redacts from `/v1` prompts: by default all but NAME and ADDRESS,
         * whose placeholders change what a prompt asks more than a number's do; add them for strict privacy.
         */
        guardrailTypes: z.array(z.enum(ENTITY_TYPES)).default(ENTITY_TYPES.filter((t) => t !== 'NAME' && t !== 'ADDRESS')),
        /**
         * Regions (ISO 3166 alpha-2, e.g. `["DE", "FR"]`) whose national phone formats are recognised;
         * international `+…` numbers always are. By default about 60 regions across every continent.
         */
        phoneRegions: z
          .array(
            z
              .string()
              .regex(/^[A-Z]{2}$/, 'use two-letter region codes such as "GB" or "DE"')
              .refine(isSupportedCountry, 'not a region libphonenumber knows'),
          )
          .default([...DEFAULT_PHONE_REGIONS]),
      })
      .prefault({}),
    /**
     * Bearer JWTs from a trusted issuer for service-to-service calls (`AXON_JWT_ISSUER`,
     * `AXON_JWT_AUDIENCE`, `AXON_JWT_JWKS_URL`), checked against its JWKS: signature, issuer, audience,
     * expiry. The caller acts as the account of its email claim, created on first use with the role
     * its groups map to.
     */
    jwt: z
      .strictObject({
        /** The `iss` a token must carry. */
        issuer: z.string().min(1),
        /** The `aud` a token must carry. */
        audience: z.string().min(1),
        /** Where the issuer publishes its signing keys (JWKS). */
        jwksUrl: urlField('AXON_JWT_JWKS_URL'),
        /** Signature algorithms accepted (RSA, RSA-PSS, ECDSA and EdDSA only). */
        algorithms: z
          .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
          .min(1)
          .default(['RS256', 'PS256', 'ES256', 'EdDSA']),
        ...ClaimMappingFields,
        /** Least time between two fetches of the keys (a token with an unknown key id triggers one). */
        jwksCooldownSeconds: z.coerce.number().min(0).default(30),
      })
      .optional(),
    /** Prices per million tokens by model id, for the usage ledger's costs: `{ "openai/gpt-4o": { input: 2.5, output: 10 } }`. */
    prices: z.record(z.string(), z.strictObject({ input: z.number().min(0), output: z.number().min(0) })).default({}),
    /**
     * OpenTelemetry traces over OTLP/HTTP: a server span per request, a `chat {model}` span per model
     * call with `gen_ai.*` attributes, a `retrieve` span; never prompt text.
     */
    tracing: z
      .strictObject({
        /** Where spans are sent; no traces without it (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
        endpoint: urlField('OTEL_EXPORTER_OTLP_ENDPOINT').optional(),
        /** How long finished spans wait to be sent in one batch. */
        exportDelayMs: z.coerce.number().int().min(10).max(60_000).default(5000),
      })
      .default({ exportDelayMs: 5000 }),
    /**
     * A bearer token that may read `/metrics`, for a Prometheus scraper (`AXON_METRICS_TOKEN`); admins
     * of the first organisation (and their keys with the `admin` scope) may too.
     */
    metricsToken: z.string().min(16, 'use at least 16 characters').optional(),
    /**
     * `postgres://…` to keep everything in PostgreSQL instead of the SQLite file (`AXON_DATABASE_URL`):
     * what several replicas share. With the pgvector extension, vectors are searched in the database.
     */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'write it as postgres://user@host:port/database')
      .optional(),
    /**
     * Connections each replica keeps open to PostgreSQL at most (`AXON_DATABASE_POOL_SIZE`). 20 holds
     * about 500 web-chat answers streaming on a replica; replicas × this must fit the server's `max_connections`.
     */
    databasePoolSize: z.coerce.number().int().min(2).max(200).default(20),
    /** Prefix of every Redis key and channel Axon uses, so that installations can share one Redis (`AXON_REDIS_PREFIX`). */
    redisPrefix: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use letters, digits, _, . and - (at most 64)')
      .default('axon'),
    /**
     * How uploaded documents are indexed in the background: jobs in the store's table worked by this
     * process, or with `REDIS_URL` a BullMQ queue in Redis that every replica works.
     */
    ingestQueue: z
      .strictObject({
        /** Documents one replica indexes at once (`AXON_INGEST_CONCURRENCY`); by default one per parse thread (the cores, at most 4). */
        concurrency: z.coerce.number().int().min(1).max(64).optional(),
        /** Tries per document when indexing fails for a reason other than the file itself (`AXON_INGEST_ATTEMPTS`). */
        attempts: z.coerce.number().int().min(1).max(20).default(3),
        /** Wait before the second try, in ms, doubled before each next one (`AXON_INGEST_BACKOFF_MS`). */
        backoffMs: z.coerce.number().int().min(0).max(3_600_000).default(2000),
        /**
         * With Redis: how long a replica's hold on a running job lasts unless renewed (it renews at half
         * this); a job whose replica died is taken again about this plus `stallCheckMs` later, and a
         * replica whose event loop stalls longer loses its job to another (`AXON_INGEST_LOCK_MS`).
         */
        lockMs: z.coerce.number().int().min(500).max(600_000).default(15_000),
        /** With Redis: how often each replica looks for jobs whose replica died, in ms (`AXON_INGEST_STALL_CHECK_MS`). */
        stallCheckMs: z.coerce.number().int().min(100).max(600_000).default(5000),
      })
      .default({ attempts: 3, backoffMs: 2000, lockMs: 15_000, stallCheckMs: 5000 }),
    /**
     * `redis://…` for what replicas share besides the database (`REDIS_URL`): limits, the indexing
     * queue, and the messages that drop other replicas' cached settings and keys at once.
     */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'write it as redis://host:port')
      .optional(),
    /**
     * Answers of the web chat are logged event by event while they stream, so that a page that is
     * reloaded or loses its connection picks its answer up again, on any replica, and Stop reaches
     * the replica writing it: in memory, or in Redis Streams with `REDIS_URL`.
     */
    streams: z
      .strictObject({
        /**
         * How long an answer goes on being written while nobody reads it (its page closed), before it
         * is stopped and saved (`AXON_STREAM_RESUME_GRACE_MS`).
         */
        resumeGraceMs: z.coerce
          .number()
          .int()
          .min(0)
          .max(60 * 60_000)
          .default(30_000),
        /** How often a streaming answer's text is saved, which tells other replicas its writer is alive (`AXON_STREAM_HEARTBEAT_MS`). */
        heartbeatMs: z.coerce.number().int().min(100).max(60_000).default(1000),
        /**
         * An answer with no heartbeat for this long is marked interrupted (its replica died), keeping
         * the text it had (`AXON_STREAM_STALE_AFTER_MS`); every replica looks three times as often.
         */
        staleAfterMs: z.coerce
          .number()
          .int()
          .min(1000)
          .max(60 * 60_000)
          .default(15_000),
        /** Most events kept per answer; a longer answer can be resumed from its latest events only (`AXON_STREAM_MAX_EVENTS`). */
        maxEvents: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
        /** How long a finished answer's events are kept for a client that resumes late, in seconds (`AXON_STREAM_KEEP_SECONDS`). */
        keepSeconds: z.coerce
          .number()
          .int()
          .min(1)
          .max(24 * 3600)
          .default(300),
      })
      .default({ resumeGraceMs: 30_000, heartbeatMs: 1000, staleAfterMs: 15_000, maxEvents: 20_000, keepSeconds: 300 })
      .refine((s) => s.staleAfterMs >= 3 * s.heartbeatMs, {
        message: 'staleAfterMs must be at least three heartbeats (3 × heartbeatMs), or live answers would be taken for interrupted ones',
        path: ['staleAfterMs'],
      }),
    /** OpenAI-compatible servers, declared in the config file. */
    connections: z.array(CompatibleConnectionSchema).default([]),
    /**
     * Model aliases by name (`support-chat: { versions: [...], policy: ... }`): what `/v1` callers and
     * the web chat name instead of a model, synced into the store at start (new versions added,
     * policies put when they changed).
     */
    aliases: z.record(AliasNameSchema, ConfiguredAliasSchema).default({}),
    modelOps: z
      .strictObject({
        /**
         * How often canaries and A/B tests are judged on their figures, in ms: a canary advances,
         * promotes or rolls back, a significant test stops (`AXON_ROLLOUT_INTERVAL_MS`; 0: never).
         */
        controlIntervalMs: z.coerce
          .number()
          .int()
          .min(0)
          .max(60 * 60_000)
          .default(10_000),
      })
      .default({ controlIntervalMs: 10_000 }),
    /** Values of the environment variables that connections name in `apiKeyEnv` (filled by `loadConfig`). @internal */
    secrets: z.record(z.string(), z.string()).optional(),
  })
  .superRefine((config, ctx) => {
    const providers = new Set<string>();
    config.sso.forEach((provider, index) => {
      if (providers.has(provider.id))
        ctx.addIssue({ code: 'custom', path: ['sso', index, 'id'], message: `"${provider.id}" is used twice` });
      providers.add(provider.id);
      if (provider.issuer.startsWith('http:') && !provider.allowHttp)
        ctx.addIssue({
          code: 'custom',
          path: ['sso', index, 'issuer'],
          message: 'use https (or set allowHttp for a provider on loopback)',
        });
    });
    for (const [name, alias] of Object.entries(config.aliases)) {
      const missing = missingVersions(
        alias,
        alias.versions.map((_, i) => i + 1),
      );
      if (missing.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['aliases', name, 'policy'],
          message: `names version ${missing.join(', ')}, but the alias declares ${alias.versions.length}: add it under versions`,
        });
    }
    const reserved = new Set(['local', 'openai', 'anthropic', 'azure']);
    const seen = new Set<string>();
    if (config.rerank) {
      const name = config.rerank.model.slice(0, config.rerank.model.indexOf('/'));
      const connection = config.connections.find((c) => c.name === name);
      if (!connection?.rerank)
        ctx.addIssue({
          code: 'custom',
          path: ['rerank', 'model'],
          message: connection
            ? `the connection "${name}" declares no rerank endpoint: add rerank: { format: cohere } (or jina, voyage, tei) to it`
            : `no connection is named "${name}": declare it under connections, with its rerank endpoint`,
        });
    }
    config.connections.forEach((connection, index) => {
      const name = connection.name.toLowerCase();
      if (reserved.has(name) || seen.has(name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connections', index, 'name'],
          message: reserved.has(name) ? `"${name}" is reserved for a built-in connection` : `"${name}" is used twice`,
        });
      }
      seen.add(name);
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
export type CompatibleConnectionConfig = z.infer<typeof CompatibleConnectionSchema>;
export type ModelEntry = z.infer<typeof ModelEntrySchema>;
