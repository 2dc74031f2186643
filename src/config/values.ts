import type { Kind } from './setting.js';
import { MIB } from './setting.js';

/**
 * How a value of each kind is read: from text (an environment variable or a flag) and from
 * JSON (the `serve --config` file). Pure; a refusal says what was expected, or why.
 */
export type Parsed =
  | { ok: true; value: unknown }
  /** `expected`: "expected X, got Y" is said; `reason`: said as is. */
  | { ok: false; expected: string; reason?: undefined }
  | { ok: false; reason: string; expected?: undefined };

const LEVELS = new Set(['error', 'warn', 'info', 'debug']);

export function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

const ok = (value: unknown): Parsed => ({ ok: true, value });
const no = (expected: string): Parsed => ({ ok: false, expected });

/** Splits a comma list; blank items are dropped. */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** `k=v,k2=v2` with percent-encoded keys and values (the OTEL_EXPORTER_OTLP_HEADERS format). */
export function parseHeaderList(text: string): Parsed {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0)
      return { ok: false, reason: `expected key=value pairs separated by commas, got '${part.trim()}'` };
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(part.slice(0, eq).trim());
      value = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return { ok: false, reason: `invalid percent-encoding in '${part.trim()}'` };
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key))
      return { ok: false, reason: `'${key}' is not a header name` };
    out[key] = value;
  }
  return ok(out);
}

/** `KEY=VALUE` items (a repeated flag) → an object; `flag` names the flag in the refusal. */
export function parsePairs(items: readonly string[], flag: string, shape: string): Parsed {
  const out: Record<string, string> = {};
  for (const pair of items) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1)
      return { ok: false, reason: `${flag} takes ${shape}, got '${pair}'` };
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return ok(out);
}

/** A variable's or a flag's text (trimmed, not empty) → the setting's value (sizes in MiB → bytes). */
export function parseText(kind: Kind, s: string): Parsed {
  switch (kind) {
    case 'string':
    case 'secret':
    case 'sdk':
      return s ? ok(s) : no('a non-empty value');
    case 'url':
      return isHttpUrl(s) ? ok(s) : no('an http(s) URL');
    case 'port': {
      const n = Number(s);
      return /^\d+$/.test(s) && n <= 65535 ? ok(n) : no('a port number 0-65535');
    }
    case 'portOrOff': {
      if (s === 'auto') return ok('auto');
      const n = Number(s);
      return /^\d+$/.test(s) && n <= 65535 ? ok(n) : no("a port number 0-65535 (0: off) or 'auto'");
    }
    case 'int':
    case 'int0': {
      const n = Number(s);
      return /^\d+$/.test(s) && Number.isSafeInteger(n) && (n > 0 || kind === 'int0')
        ? ok(n)
        : no(kind === 'int' ? 'a positive integer' : 'a positive integer or 0');
    }
    case 'mib': {
      const n = Number(s);
      return s !== '' && Number.isFinite(n) && n > 0 && n * MIB < Number.MAX_SAFE_INTEGER
        ? ok(Math.max(1, Math.round(n * MIB)))
        : no('a positive number of MiB');
    }
    case 'level':
      return LEVELS.has(s) ? ok(s) : no('error, warn, info or debug');
    case 'bool': {
      // https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#boolean
      const lower = s.toLowerCase();
      if (lower === 'true') return ok(true);
      if (lower === 'false') return ok(false);
      return no('true or false (any other value means false)');
    }
    case 'list': {
      const l = commaList(s);
      return l.length > 0 ? ok(l) : no('a comma-separated list');
    }
    case 'map':
      return parsePairs(commaList(s), 'the list', 'KEY=VALUE pairs');
    case 'headers':
      return parseHeaderList(s);
    case 'code':
      return no('a value given in code');
  }
}

/** An object of string values (`azureDeployments`, `forwardHeaders` in the config file). */
function stringMap(v: unknown): Parsed {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    return { ok: false, reason: 'expected an object' };
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'string' || k === '')
      return { ok: false, reason: `expected string values, got ${show(x)} for '${k}'` };
    out[k] = x;
  }
  return ok(out);
}

/**
 * A config file's JSON value → the setting's value. The file holds JSON types (numbers as
 * numbers, strings as strings) in the unit its key names: `spoolMaxBytes` is bytes.
 */
export function parseJson(kind: Kind, v: unknown): Parsed {
  switch (kind) {
    case 'string':
    case 'url':
    case 'level':
    case 'sdk':
      return typeof v === 'string' ? parseText(kind, v.trim()) : no('a string');
    case 'secret':
      return typeof v === 'string' && v.trim() !== '' ? ok(v.trim()) : no('a non-empty string');
    case 'port':
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535
        ? ok(v)
        : no('a port number 0-65535');
    case 'portOrOff':
      if (v === 'auto') return ok('auto');
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535
        ? ok(v)
        : no("a port number 0-65535 (0: off) or 'auto'");
    case 'int':
    case 'int0':
      return typeof v === 'number' && Number.isSafeInteger(v) && (v > 0 || (kind === 'int0' && v === 0))
        ? ok(v)
        : no(kind === 'int' ? 'a positive integer' : 'a positive integer or 0');
    case 'mib':
      return typeof v === 'number' && Number.isSafeInteger(v) && v > 0
        ? ok(v)
        : no('a positive integer number of bytes');
    case 'bool':
      return typeof v === 'boolean' ? ok(v) : no('true or false');
    case 'list':
      if (typeof v === 'string') return ok(commaList(v));
      if (Array.isArray(v) && v.every((x) => typeof x === 'string' && x.trim() !== ''))
        return ok((v as string[]).map((x) => x.trim()));
      return no('a list of non-empty strings');
    case 'map':
      return stringMap(v);
    case 'headers':
      return typeof v === 'string' ? parseHeaderList(v) : stringMap(v);
    case 'code':
      return no('a value given in code');
  }
}

/** A value as shown in a message (strings quoted). Never used for secrets. */
export function show(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
}
