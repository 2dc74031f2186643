export type { EnvConfig, EnvProblem, EnvReadResult, EnvSource, EnvVarName } from './env.js';
export { ENV_VARS, readEnvConfig } from './env.js';
export type { DisabledBy, FenraOptions, ResolvedConfig } from './options.js';
export { DEFAULTS, FenraOptionsSchema } from './options.js';
export { ConfigurationError, describeEnvProblem, resolveConfig } from './resolve.js';
