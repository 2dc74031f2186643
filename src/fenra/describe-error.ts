/**
 * What went wrong with one request, in words a user can act on, from the error undici (or Node's
 * socket, DNS and TLS layers underneath it) threw: DNS failures, refused connections, resets,
 * timeouts, TLS problems. Pure: no I/O, no logging. Never includes a URL's credentials (only a
 * host name and a port, which the errors themselves carry).
 */
export interface SendErrorDescription {
  /** A short stable key for "the same problem again" (an error code, or `timeout`). */
  cause: string;
  /** One clause, e.g. `DNS lookup of ingest.fenrra.io failed (ENOTFOUND)`. */
  text: string;
}

type ErrorLike = Record<string, unknown>;

function isObject(v: unknown): v is ErrorLike {
  return typeof v === 'object' && v !== null;
}

/** The error and its causes, outermost first (fetch wraps the socket error in `cause`). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 5 && isObject(e); depth++) {
    out.push(e);
    e = e['cause'];
  }
  return out;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** TLS failures: OpenSSL's codes (`ERR_SSL_*`), Node's (`ERR_TLS_*`), certificate checks. */
const TLS_CODE =
  /^(ERR_SSL_|ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|UNABLE_TO_(GET|VERIFY)|HOSTNAME_MISMATCH|EPROTO$)/;

const TLS_WORDS: Readonly<Record<string, string>> = {
  ERR_SSL_WRONG_VERSION_NUMBER:
    'the server does not speak TLS on that port (an http:// endpoint written as https://?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server presented a self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN:
    'the certificate chain holds a self-signed certificate (a proxy that intercepts TLS?)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate could not be verified (an unknown issuer)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'the certificate could not be verified (an unknown issuer; NODE_EXTRA_CA_CERTS?)',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server certificate is not for this host name',
};

/**
 * Describes an error thrown while sending. `timedOutMs`: our own per-request timer fired after
 * that many ms (the error is then only an abort).
 */
export function describeSendError(err: unknown, timedOutMs?: number): SendErrorDescription {
  if (timedOutMs !== undefined) {
    return { cause: 'timeout', text: `no answer within ${Math.round(timedOutMs)} ms (timeout)` };
  }
  const errors = chain(err);
  // The innermost error with a code says what really happened.
  const withCode = [...errors].reverse().find((e) => str(e['code']) !== undefined);
  const code = withCode === undefined ? undefined : (withCode['code'] as string);
  const e = withCode ?? errors[0] ?? {};
  const host = str(e['hostname']) ?? str(e['host']);
  const where =
    str(e['address']) !== undefined
      ? `${e['address'] as string}${typeof e['port'] === 'number' ? `:${e['port']}` : ''}`
      : host;
  const message = str(e['message']) ?? (err instanceof Error ? err.message : String(err));
  if (errors.some((x) => x['name'] === 'TimeoutError')) {
    return { cause: 'timeout', text: 'no answer in time (timeout)' };
  }
  switch (code) {
    case 'ENOTFOUND':
      return {
        cause: code,
        text: `DNS lookup of ${host ?? 'the endpoint host'} failed: no such host (ENOTFOUND)`,
      };
    case 'EAI_AGAIN':
      return { cause: code, text: `DNS lookup of ${host ?? 'the endpoint host'} failed for now (EAI_AGAIN)` };
    case 'ECONNREFUSED':
      return {
        cause: code,
        text: `connection refused by ${where ?? 'the endpoint'}: nothing listens there (ECONNREFUSED)`,
      };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return { cause: code, text: `the connection was closed before the answer (${code})` };
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { cause: code, text: `could not connect to ${where ?? 'the endpoint'} in time (${code})` };
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { cause: code, text: `the server stopped answering (${code})` };
    case 'ENETUNREACH':
    case 'ENETDOWN':
    case 'EHOSTUNREACH':
    case 'EHOSTDOWN':
      return {
        cause: code,
        text: `${where ?? 'the endpoint'} cannot be reached from this network (${code})`,
      };
  }
  if (code !== undefined && TLS_CODE.test(code)) {
    return { cause: code, text: `TLS failed: ${TLS_WORDS[code] ?? firstLine(message)} (${code})` };
  }
  return {
    cause: code ?? 'error',
    text: code === undefined ? firstLine(message) : `${firstLine(message)} (${code})`,
  };
}

/** OpenSSL's messages run over several lines with source paths; the first line is enough. */
function firstLine(s: string): string {
  const line = s.split('\n')[0]!.trim();
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
