/**
 * What one setting is, once for every mode that reads it: its environment variable, its code
 * option, its `serve` flag and config-file key, its kind (how a value is written and checked),
 * its default (per mode where they differ) and its documentation. The tables of settings are
 * in `settings-*.ts`; `--help` and the README's configuration table are rendered from them.
 */

/** Who reads the configuration. */
export type Mode =
  /** `FenraSpanProcessor` / `FenraSpanExporter`: code options, then `FENRA_*` variables. */
  | 'library'
  /** `@fenra/otel/register`: environment variables only. */
  | 'register'
  /** `fenra-otel serve`: flags, then variables, then the `--config` file. */
  | 'serve'
  /** `fenra-otel convert` (and `--send`): its flags, then variables. */
  | 'convert';

/** How a value is written and what it must be. */
export type Kind =
  /** Non-empty text. */
  | 'string'
  /** Non-empty text that is never echoed back (API key, token). */
  | 'secret'
  /** An http(s) URL. A malformed one is a configuration error in every mode, never a fallback. */
  | 'url'
  /** A positive integer. */
  | 'int'
  /** An integer >= 0. */
  | 'int0'
  /** Flags and variables: a positive number of MiB; the config file and the resolved value: bytes. */
  | 'mib'
  /** A TCP port, 0-65535 (0: any free port). */
  | 'port'
  /** A TCP port, 1-65535; 0 turns the listener off; `auto`: any free port. */
  | 'portOrOff'
  /** Variables: `true` or `false`, any case (OpenTelemetry's rule); a flag: present or not. */
  | 'bool'
  /** A comma-separated list (variable), a repeated flag, or a JSON array of strings (file). */
  | 'list'
  /** `KEY=VALUE` pairs: a repeated flag, or a JSON object of strings (file). */
  | 'map'
  /** `k=v,k2=v2` with percent-encoding (the `OTEL_EXPORTER_OTLP_HEADERS` format), or a JSON object. */
  | 'headers'
  /** `error`, `warn`, `info` or `debug`. */
  | 'level'
  /** A value only code can give (an object); checked by the options schema. */
  | 'code'
  /** Read by the OpenTelemetry SDK itself (listed for the documentation only). */
  | 'sdk';

/** Where a setting is listed in `fenra-otel serve --help`. */
export type HelpGroup = 'local' | 'receiver' | 'fenra' | 'durability' | 'assembly' | 'attribution' | 'rest';

export interface Setting {
  /** What it is: the README table's first column. */
  readonly doc: string;
  readonly kind: Kind;
  /** Modes that read it. */
  readonly modes: readonly Mode[];
  /** Environment variable(s), first the main one. */
  readonly env?: readonly string[];
  /** How the variable is written, when not obvious (README), e.g. `(comma list)`. */
  readonly envNote?: string;
  /** Option of `FenraSpanProcessor` / `FenraSpanExporter` (and the resolved config's field). */
  readonly option?: string;
  /** `serve` flag without the dashes. */
  readonly flag?: string;
  /** `convert` takes the same flag. */
  readonly convertFlag?: boolean;
  /** The flag's argument in `--help` (none: a switch). */
  readonly arg?: string;
  /** The flag is given once per value. */
  readonly repeatable?: boolean;
  /** The flag names a file the value is read from (`--api-key-file`). */
  readonly flagReadsFile?: boolean;
  /** Key in `serve --config FILE` (and the field of the resolved `serve` settings). */
  readonly file?: string;
  /** Default in the setting's own unit (bytes for `mib`); undefined: none. */
  readonly default?: unknown;
  /** Defaults of modes that differ from {@link Setting.default}. */
  readonly modeDefaults?: Partial<Record<Mode, unknown>>;
  /** README default column, when the value alone does not say it (e.g. `none → unattributed`). */
  readonly defaultDoc?: string;
  /** The word for a blank secret: `Ignoring FENRA_API_KEY: expected a non-empty API key`. */
  readonly noun?: string;
  /** `--help`: the default, when the value alone does not say it. */
  readonly helpDefault?: string;
  /** `--help`: the flag's description (the variable and the default are added). */
  readonly help?: string;
  readonly group?: HelpGroup;
  /** Only the exporter takes the code option (not the processor). */
  readonly exporterOnly?: boolean;
}

export const MIB = 1024 * 1024;

/** The setting's default in a mode. */
export function defaultIn(s: Setting, mode: Mode): unknown {
  return s.modeDefaults !== undefined && mode in s.modeDefaults ? s.modeDefaults[mode] : s.default;
}

/** True when the mode reads the setting. */
export function readBy(s: Setting, mode: Mode): boolean {
  return s.modes.includes(mode);
}

/** The flag as typed: `--endpoint`. */
export function flagText(s: Setting): string | undefined {
  return s.flag === undefined ? undefined : `--${s.flag}`;
}
