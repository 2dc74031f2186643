import { displayUrl } from '../internal/display-url.js';
import type { Setting } from './setting.js';
import { parseText } from './values.js';

/**
 * The one place that reads `process.env` ({@link processEnv}); everything else takes the
 * environment as a parameter. Variables are read by OpenTelemetry's rules: an empty (or blank)
 * value is the same as unset; a value that cannot be used is a problem (warned about and
 * ignored by the library, refused by `serve`); a boolean is `true` or `false`, any case. A
 * malformed URL is a `fatal` problem in every mode: it never falls back to a default.
 */

/** An environment: `process.env` or a literal object in tests. */
export type EnvSource = Readonly<Partial<Record<string, string | undefined>>>;

/** This process's environment. */
export function processEnv(): EnvSource {
  return process.env;
}

/** A value that was set but could not be used. `value` is omitted for secrets. */
export interface EnvProblem {
  variable: string;
  value?: string;
  expected: string;
  /** The setting cannot fall back to its default (a malformed URL): the mode stops. */
  fatal?: true;
}

/** The variable's text, trimmed; undefined when unset, empty or blank. */
export function envText(env: EnvSource, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

export type EnvRead = { value: unknown; problem?: undefined } | { problem: EnvProblem; value?: undefined };

/**
 * Reads one variable of a setting (default: its first). Undefined when unset or blank, except
 * a blank secret, which is a problem (a key that is set but empty is a mistake worth a word;
 * its value is never shown).
 */
export function readEnvSetting(
  env: EnvSource,
  s: Setting,
  variable: string = s.env?.[0] ?? '',
): EnvRead | undefined {
  const text = envText(env, variable);
  if (text === undefined) {
    if (s.kind === 'secret' && env[variable] !== undefined)
      return { problem: { variable, expected: `a non-empty ${s.noun ?? 'value'}` } };
    return undefined;
  }
  const p = parseText(s.kind, text);
  if (p.ok) return { value: p.value };
  const problem: EnvProblem = { variable, expected: p.expected ?? p.reason };
  // Never echoed: a secret; shown without credentials: a URL.
  if (s.kind === 'url') problem.value = displayUrl(text);
  else if (s.kind !== 'secret') problem.value = text;
  if (s.kind === 'url') problem.fatal = true;
  return { problem };
}

/** The warning or error for one bad environment value (never a secret's value). */
export function describeEnvProblem(p: EnvProblem): string {
  const shown = p.value === undefined ? '' : ` value ${JSON.stringify(p.value)}`;
  if (p.fatal) {
    return (
      `${p.variable}${shown} is not valid: expected ${p.expected}. Nothing is sent until it is fixed ` +
      `(the default is not used instead): fix ${p.variable} and restart`
    );
  }
  return `Ignoring ${p.variable}${shown}: expected ${p.expected}; using the default instead`;
}
