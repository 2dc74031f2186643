import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` (the scheme in any case, RFC 7235) against the token's
 * digest: equal-length digests compared in constant time, so neither the token's length nor
 * its prefix shows in the timing. Shared by OTLP/HTTP (the header), OTLP/gRPC (the
 * `authorization` metadata) and the other pages.
 */
export function bearerChecker(token: string): (authorization: string | undefined) => boolean {
  const expected = sha256(token);
  return (authorization) => {
    const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? '');
    const same = timingSafeEqual(sha256(m ? m[1]! : ''), expected);
    return m !== null && same;
  };
}
