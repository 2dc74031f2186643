export type { EnvConfig, EnvProblem, EnvReadResult, EnvSource, EnvVarName } from './env.js';
export { ENV_VARS, readEnvConfig } from './env.js';
export type { DisabledBy, FenraOptions, ResolvedConfig } from './options.js';
export { DEFAULTS, ExporterOptionsSchema, FenraOptionsSchema } from './options.js';
export type { ResolveReporting } from './resolve.js';
export { ConfigurationError, describeEnvProblem, resolveConfig, resolveExporterOptions } from './resolve.js';
