export { type CompatibleConnectionConfig, type Config, ConfigSchema, isOpenAIBaseURL, type ModelEntry } from './config-schema';
export { ConfigError, ENV_SETTINGS, type LoadConfigOptions, loadConfig } from './load-config';
