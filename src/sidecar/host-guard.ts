import type { IncomingHttpHeaders } from 'node:http';

/**
 * The Host/Origin allow-list of the sidecar's routes, against DNS rebinding and cross-site
 * requests: a web page the user visits must not read the inspector nor post spans billed to
 * the user's account. A request is served only when its `Host` names this server (loopback
 * names with the listening port by default; the configured host; or the operator's list) and,
 * when it carries an `Origin` (browsers do), that origin names it too. Pure.
 */
export interface HostGuardOptions {
  /** The interface the server listens on (`--host`). */
  host: string;
  /** The port it listens on (the one picked, for port 0). */
  port: number;
  /**
   * The operator's list (`--allowed-hosts`): host names, with or without a port (without, any
   * port), or `*` for any. Given, it replaces the defaults except the loopback names.
   */
  allowed?: readonly string[] | undefined;
}

export type HostVerdict = { ok: true } | { ok: false; why: 'host' | 'origin'; shown: string };

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

interface Entry {
  name: string;
  /** undefined: any port. */
  port: number | undefined;
}

/** `name[:port]` (IPv6 in brackets) → lower-case name without a trailing dot, and the port. */
export function parseHostPort(text: string): Entry | undefined {
  const t = text.trim().toLowerCase();
  if (t === '') return undefined;
  let name: string;
  let rest: string;
  if (t.startsWith('[')) {
    const end = t.indexOf(']');
    if (end < 0) return undefined;
    name = t.slice(0, end + 1);
    rest = t.slice(end + 1);
  } else {
    const colon = t.lastIndexOf(':');
    // A bare IPv6 address (several colons, no brackets) is a name without a port.
    if (colon >= 0 && t.indexOf(':') === colon) [name, rest] = [t.slice(0, colon), t.slice(colon)];
    else [name, rest] = [t.includes(':') ? `[${t}]` : t, ''];
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (rest === '') return { name, port: undefined };
  if (!/^:\d{1,5}$/.test(rest)) return undefined;
  return { name, port: Number(rest.slice(1)) };
}

/** The names a request may use for this server, from the options. */
export function allowedEntries(o: HostGuardOptions): Entry[] | 'any' {
  const entries: Entry[] = LOOPBACK_NAMES.map((name) => ({ name, port: o.port }));
  if (o.allowed !== undefined && o.allowed.length > 0) {
    if (o.allowed.includes('*')) return 'any';
    for (const a of o.allowed) {
      const e = parseHostPort(a);
      if (e !== undefined) entries.push(e);
    }
    return entries;
  }
  // Listening on every interface: the names it is reached by (a pod IP, a service name) cannot
  // be known; the receiver token is the defence there (the start-up log says so).
  if (WILDCARDS.has(o.host)) return 'any';
  const own = parseHostPort(o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host);
  if (own !== undefined) entries.push({ name: own.name, port: o.port });
  return entries;
}

/** Port 80 may be left out of a Host header (and 443 of an https origin). */
function matches(e: Entry, got: Entry, defaultPort: number): boolean {
  if (e.name !== got.name) return false;
  return e.port === undefined || e.port === (got.port ?? defaultPort);
}

const shown = (s: string): string => (s.length > 100 ? `${s.slice(0, 100)}…` : s);

/**
 * A checker of requests' Host and Origin headers. Where any name is allowed (every interface,
 * or `*`), an Origin must still be the request's own host: a page elsewhere cannot post.
 */
export function hostGuard(o: HostGuardOptions): (headers: IncomingHttpHeaders) => HostVerdict {
  const entries = allowedEntries(o);
  const allows = (host: Entry, defaultPort: number): boolean =>
    entries === 'any' || entries.some((e) => matches(e, host, defaultPort));
  return (headers) => {
    const hostHeader = headers.host;
    const host = hostHeader === undefined ? undefined : parseHostPort(hostHeader);
    if (hostHeader !== undefined && (host === undefined || !allows(host, 80)))
      return { ok: false, why: 'host', shown: shown(hostHeader) };
    const origin = headers.origin;
    if (origin === undefined) return { ok: true };
    const from = originHost(origin);
    const same =
      from !== undefined &&
      host !== undefined &&
      from.host.name === host.name &&
      from.port === (host.port ?? 80);
    const ok = from !== undefined && (entries === 'any' ? same : allows(from.host, from.port));
    return ok ? { ok: true } : { ok: false, why: 'origin', shown: shown(origin) };
  };
}

/** An http(s) Origin → its host and port; undefined for `null` and anything else. */
function originHost(origin: string): { host: Entry; port: number } | undefined {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  const host = parseHostPort(u.host);
  if (host === undefined) return undefined;
  return { host, port: host.port ?? (u.protocol === 'https:' ? 443 : 80) };
}
