export { ConfigSchema, type Config, type ConfigInput } from './schema.ts';
export { loadConfig, ConfigError, envName, configKeys, type LoadOptions } from './load.ts';
