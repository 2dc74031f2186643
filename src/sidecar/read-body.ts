import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';

/** Why a request body was refused; `status` is the HTTP answer (429: retry later). */
export class BodyError extends Error {
  readonly status: 400 | 413 | 415 | 429;
  constructor(status: 400 | 413 | 415 | 429, message: string) {
    super(message);
    this.name = 'BodyError';
    this.status = status;
  }
}

/**
 * The bytes all requests hold at once (bodies as received plus decompressed), shared by every
 * request: what keeps concurrent large requests from adding up past the memory a deployment has.
 */
export class ByteBudget {
  readonly max: number;
  private _used = 0;
  constructor(max: number) {
    this.max = max;
  }
  get used(): number {
    return this._used;
  }
  /** Takes `n` bytes, or nothing (false) when that would pass the bound. */
  take(n: number): boolean {
    if (this._used + n > this.max) return false;
    this._used += n;
    return true;
  }
  give(n: number): void {
    this._used -= n;
  }
}

export interface BodyLimits {
  /** Largest body accepted on the wire (compressed), bytes. */
  maxBodyBytes: number;
  /** Largest body after decompression (or uncompressed), bytes (the gzip-bomb bound). */
  maxDecompressedBytes: number;
  /** Shared bound of the bytes held by all requests; past it the request gets 429. */
  budget?: ByteBudget | undefined;
}

export interface ReadBody {
  /** The bytes as they came over the wire (what `--forward` sends on unchanged). */
  raw: Buffer;
  /** The decompressed body. */
  body: Buffer;
  /** Bytes taken from the budget for this request: give them back once it is answered. */
  held: number;
}

const overBudget = (b: ByteBudget): BodyError =>
  new BodyError(
    429,
    `too many request bytes in flight (over --max-inflight-mb, ${b.max} bytes for all requests): retry later`,
  );

/**
 * Reads a request body within limits. `Content-Length` is trusted for an early 413 (or 429)
 * only when there is no `Transfer-Encoding`; otherwise bytes are counted while reading.
 * Compressed bodies are inflated through a streaming zlib transform that is stopped as soon as
 * the output passes the cap, so a gzip bomb costs at most `maxDecompressedBytes` of memory.
 * Every byte held is taken from the shared budget first; on an error what was taken is given
 * back here, on success the caller gives back `held`.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<ReadBody> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
    throw new BodyError(415, `unsupported Content-Encoding '${encoding}' (use gzip, deflate or none)`);
  }
  // An uncompressed body is its own decompressed body.
  const maxRaw =
    encoding === 'identity'
      ? Math.min(limits.maxBodyBytes, limits.maxDecompressedBytes)
      : limits.maxBodyBytes;
  const budget = limits.budget;
  const declared = req.headers['content-length'];
  if (declared !== undefined && req.headers['transfer-encoding'] === undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > maxRaw) {
      throw new BodyError(413, `body of ${n} bytes is over the limit of ${maxRaw} bytes`);
    }
    if (budget && Number.isFinite(n) && budget.used + n > budget.max) throw overBudget(budget);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let held = 0;
  try {
    // Read by events, not `for await`: leaving that loop early destroys the request and its
    // socket, and a sender still writing a refused body would get a reset instead of the answer
    // (the caller drops the rest of the body, see dropBody).
    await new Promise<void>((resolve, reject) => {
      const done = (e?: BodyError): void => {
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('error', onError);
        req.off('close', onClose);
        if (e === undefined) resolve();
        else reject(e);
      };
      const onData = (b: Buffer): void => {
        size += b.length;
        if (size > maxRaw) return done(new BodyError(413, `body is over the limit of ${maxRaw} bytes`));
        if (budget) {
          if (!budget.take(b.length)) return done(overBudget(budget));
          held += b.length;
        }
        chunks.push(b);
      };
      const onEnd = (): void => done();
      // The client went away (or timed out) mid-body.
      const onError = (e: Error): void => done(new BodyError(400, `incomplete request body: ${e.message}`));
      const onClose = (): void => done(new BodyError(400, 'incomplete request body: the connection closed'));
      req.on('data', onData);
      req.once('end', onEnd);
      req.once('error', onError);
      req.once('close', onClose);
    });
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    if (encoding === 'identity') return { raw, body: raw, held };
    const z = encoding === 'gzip' ? createGunzip() : createInflate();
    const body = await inflate(raw, z, limits.maxDecompressedBytes, (n) => {
      if (!budget) return undefined;
      if (!budget.take(n)) return overBudget(budget);
      held += n;
      return undefined;
    });
    return { raw, body, held };
  } catch (e) {
    budget?.give(held);
    throw e;
  }
}

/** `take` answers an error when the bytes cannot be held. */
function inflate(
  raw: Buffer,
  z: Transform,
  max: number,
  take: (n: number) => BodyError | undefined,
): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const out: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (e: BodyError): void => {
      if (done) return;
      done = true;
      z.destroy();
      reject(e);
    };
    z.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        fail(new BodyError(413, `decompressed body is over the limit of ${max} bytes`));
        return;
      }
      const refused = take(chunk.length);
      if (refused) {
        fail(refused);
        return;
      }
      out.push(chunk);
    });
    z.on('error', (e: Error) => fail(new BodyError(400, `cannot decompress the body: ${e.message}`)));
    z.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(out, size));
    });
    z.end(raw);
  });
}
