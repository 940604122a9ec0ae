export { ConfigSchema, type Config, type ConfigInput } from './schema.ts';
export { loadConfig, hasGeneratedSecret, ConfigError, envName, configKeys, type LoadOptions } from './load.ts';
