import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type Config, ConfigSchema } from './config-schema';

type Env = Record<string, string | undefined>;

/** Environment variable → config path. The README's configuration table lists the same. */
export const ENV_SETTINGS: Record<string, string> = {
  PORT: 'port',
  HOST: 'host',
  AXON_DATA_DIR: 'dataDir',
  LOG_LEVEL: 'logLevel',
  AXON_WEB_DIR: 'webDir',
  AXON_TRUST_PROXY: 'trustProxy',
  AXON_SECURE_COOKIES: 'secureCookies',
  AXON_BODY_LIMIT: 'bodyLimit',
  AXON_SESSION_TTL_HOURS: 'sessionTtlHours',
  AXON_PUBLIC_URL: 'publicUrl',
  AXON_LOCAL_ACCOUNTS: 'localAccounts',
  AXON_SHUTDOWN_GRACE_MS: 'shutdownGraceMs',
  AXON_ADMIN_EMAIL: 'admin.email',
  AXON_ADMIN_PASSWORD: 'admin.password',
  AXON_DEFAULT_MODEL: 'defaultModel',
  AXON_CONVERSATION_TITLES: 'conversationTitles',
  AXON_MODELS_TTL_MS: 'modelsCacheTtlMs',
  AXON_UPSTREAM_TIMEOUT_MS: 'upstreamTimeoutMs',
  AXON_UPSTREAM_CONNECT_TIMEOUT_MS: 'upstreamTimeouts.connectMs',
  AXON_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: 'upstreamTimeouts.firstByteMs',
  AXON_UPSTREAM_IDLE_TIMEOUT_MS: 'upstreamTimeouts.idleMs',
  AXON_LOCAL_MODEL: 'localModel.enabled',
  AXON_LOCAL_MODEL_DELAY_MS: 'localModel.wordDelayMs',
  AXON_MAX_UPLOAD_MB: 'rag.maxUploadMb',
  AXON_EMBEDDING_MODEL: 'embeddings.model',
  AXON_RERANK_MODEL: 'rerank.model',
  AXON_PARSE_TIMEOUT_MS: 'rag.parseTimeoutMs',
  AXON_OCR: 'rag.ocr',
  AXON_USER_RPM: 'limits.userRpm',
  AXON_USER_TPM: 'limits.userTpm',
  AXON_USER_STREAMS: 'limits.userConcurrentStreams',
  AXON_USER_DAILY_BUDGET_USD: 'limits.userDailyBudgetUsd',
  AXON_USER_MONTHLY_BUDGET_USD: 'limits.userMonthlyBudgetUsd',
  AXON_DATABASE_URL: 'databaseUrl',
  AXON_DATABASE_POOL_SIZE: 'databasePoolSize',
  REDIS_URL: 'redisUrl',
  AXON_REDIS_PREFIX: 'redisPrefix',
  AXON_INGEST_CONCURRENCY: 'ingestQueue.concurrency',
  AXON_INGEST_ATTEMPTS: 'ingestQueue.attempts',
  AXON_INGEST_BACKOFF_MS: 'ingestQueue.backoffMs',
  AXON_INGEST_LOCK_MS: 'ingestQueue.lockMs',
  AXON_INGEST_STALL_CHECK_MS: 'ingestQueue.stallCheckMs',
  AXON_STREAM_RESUME_GRACE_MS: 'streams.resumeGraceMs',
  AXON_STREAM_HEARTBEAT_MS: 'streams.heartbeatMs',
  AXON_ROLLOUT_INTERVAL_MS: 'modelOps.controlIntervalMs',
  AXON_STREAM_STALE_AFTER_MS: 'streams.staleAfterMs',
  AXON_STREAM_MAX_EVENTS: 'streams.maxEvents',
  AXON_STREAM_KEEP_SECONDS: 'streams.keepSeconds',
  AXON_METRICS_TOKEN: 'metricsToken',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'tracing.endpoint',
  AXON_JWT_ISSUER: 'jwt.issuer',
  AXON_JWT_AUDIENCE: 'jwt.audience',
  AXON_JWT_JWKS_URL: 'jwt.jwksUrl',
  AXON_PROMPT_LOG: 'promptLog.mode',
  AXON_PROMPT_LOG_RETENTION_DAYS: 'promptLog.retentionDays',
  AXON_REDACT_PROMPTS: 'redaction.guardrail',
  AXON_REDACT_LOG_TYPES: 'redaction.logTypes',
  AXON_REDACT_PROMPT_LOG_TYPES: 'redaction.promptLogTypes',
  AXON_REDACT_GUARDRAIL_TYPES: 'redaction.guardrailTypes',
  AXON_PHONE_REGIONS: 'redaction.phoneRegions',
  AXON_CORS_ORIGINS: 'corsOrigins',
  OPENAI_API_KEY: 'openai.apiKey',
  OPENAI_BASE_URL: 'openai.baseURL',
  OPENAI_MODELS: 'openai.models',
  OPENAI_RESPONSES: 'openai.responses',
  ANTHROPIC_API_KEY: 'anthropic.apiKey',
  ANTHROPIC_BASE_URL: 'anthropic.baseURL',
  ANTHROPIC_MODELS: 'anthropic.models',
  AZURE_OPENAI_API_KEY: 'azure.apiKey',
  AZURE_OPENAI_RESOURCE: 'azure.resourceName',
  AZURE_OPENAI_BASE_URL: 'azure.baseURL',
  AZURE_OPENAI_API_VERSION: 'azure.apiVersion',
  AZURE_OPENAI_DEPLOYMENTS: 'azure.deployments',
};

const LIST_SETTINGS = new Set(['openai.models', 'anthropic.models', 'azure.deployments']);
/** Comma-separated values read as a list of strings. */
const STRING_LIST_SETTINGS = new Set([
  'corsOrigins',
  'redaction.logTypes',
  'redaction.promptLogTypes',
  'redaction.guardrailTypes',
  'redaction.phoneRegions',
]);
const BOOLEAN_SETTINGS = new Set(['trustProxy', 'localModel.enabled', 'redaction.guardrail', 'localAccounts', 'openai.responses']);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Axon cannot start: the configuration is wrong.\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function settingName(path: string): string {
  const env = Object.entries(ENV_SETTINGS).find(([, p]) => p === path)?.[0];
  return env ? `${env} (${path})` : path;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1) as string] = value;
}

function parseBoolean(path: string, raw: string, problems: string[]): boolean | undefined {
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  problems.push(`${settingName(path)}: "${raw}" is not a boolean; use true or false`);
  return undefined;
}

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.join('.');
    return `${path ? settingName(path) : 'config'}: ${issue.message}`;
  });
}

export interface LoadConfigOptions {
  env?: Env;
  /** Path of the YAML file; defaults to `AXON_CONFIG` or `./axon.config.yaml` when it exists. */
  file?: string;
  cwd?: string;
  /** Settings that win over file and environment (used by tests and the CLI's flags). */
  overrides?: Record<string, unknown>;
}

/**
 * Reads `axon.config.yaml` (if any), then environment variables over it, validates the whole
 * with one zod schema and returns it frozen. A wrong value throws a `ConfigError` naming the setting.
 */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? {};
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};

  const file = options.file ?? env.AXON_CONFIG ?? (existsSync(resolve(cwd, 'axon.config.yaml')) ? 'axon.config.yaml' : undefined);
  if (file) {
    const path = resolve(cwd, file);
    if (!existsSync(path)) throw new ConfigError([`AXON_CONFIG: the file ${path} does not exist`]);
    try {
      const parsed = parseYaml(readFileSync(path, 'utf8')) as unknown;
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('the top level must be a mapping');
        raw = parsed as Record<string, unknown>;
      }
    } catch (error) {
      throw new ConfigError([`${path}: ${(error as Error).message}`]);
    }
  }

  for (const [name, path] of Object.entries(ENV_SETTINGS)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (STRING_LIST_SETTINGS.has(path)) {
      setPath(
        raw,
        path,
        value
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean),
      );
    } else if (LIST_SETTINGS.has(path)) {
      setPath(
        raw,
        path,
        value
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean)
          .map((id) => ({ id })),
      );
    } else if (BOOLEAN_SETTINGS.has(path)) {
      const parsed = parseBoolean(path, value, problems);
      if (parsed !== undefined) setPath(raw, path, parsed);
    } else {
      setPath(raw, path, value);
    }
  }
  if (env.AXON_OIDC_ISSUER) {
    // One identity provider from the environment, beside those in the file.
    const provider = {
      id: 'oidc',
      name: env.AXON_OIDC_NAME || 'single sign-on',
      issuer: env.AXON_OIDC_ISSUER,
      clientId: env.AXON_OIDC_CLIENT_ID,
      ...(env.AXON_OIDC_CLIENT_SECRET ? { clientSecret: env.AXON_OIDC_CLIENT_SECRET } : {}),
    };
    raw.sso = [...(Array.isArray(raw.sso) ? raw.sso : []), provider];
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) setPath(raw, path, value);
  // Connections may name the variable that holds their key; read those variables here, the one place that reads the environment.
  const secrets: Record<string, string> = {};
  const connections = Array.isArray(raw.connections) ? (raw.connections as Array<{ name?: unknown; apiKeyEnv?: unknown }>) : [];
  for (const connection of connections) {
    if (typeof connection?.apiKeyEnv !== 'string') continue;
    const value = env[connection.apiKeyEnv];
    if (value) secrets[connection.apiKeyEnv] = value;
    else problems.push(`connections (${String(connection.name)}).apiKeyEnv: the variable ${connection.apiKeyEnv} is not set`);
  }
  if (Object.keys(secrets).length > 0) raw.secrets = secrets;
  if (problems.length > 0) throw new ConfigError(problems);

  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error));
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
