import type { IncomingMessage } from 'node:http';
import { createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';

/** Why a request body was refused; `status` is the HTTP answer. */
export class BodyError extends Error {
  readonly status: 400 | 413 | 415;
  constructor(status: 400 | 413 | 415, message: string) {
    super(message);
    this.name = 'BodyError';
    this.status = status;
  }
}

export interface BodyLimits {
  /** Largest body accepted on the wire (compressed), bytes. */
  maxBodyBytes: number;
  /** Largest body after decompression, bytes (the gzip-bomb bound). */
  maxDecompressedBytes: number;
}

export interface ReadBody {
  /** The bytes as they came over the wire (what `--forward` sends on unchanged). */
  raw: Buffer;
  /** The decompressed body. */
  body: Buffer;
}

/**
 * Reads a request body within limits. `Content-Length` is trusted for an early 413 only when
 * there is no `Transfer-Encoding`; otherwise bytes are counted while reading. Compressed bodies
 * are inflated through a streaming zlib transform that is stopped as soon as the output passes
 * the cap, so a gzip bomb costs at most `maxDecompressedBytes` of memory.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<ReadBody> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== 'deflate') {
    throw new BodyError(415, `unsupported Content-Encoding '${encoding}' (use gzip, deflate or none)`);
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && req.headers['transfer-encoding'] === undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > limits.maxBodyBytes) {
      throw new BodyError(413, `body of ${n} bytes is over the limit of ${limits.maxBodyBytes} bytes`);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > limits.maxBodyBytes) {
        throw new BodyError(413, `body is over the limit of ${limits.maxBodyBytes} bytes`);
      }
      chunks.push(b);
    }
  } catch (e) {
    if (e instanceof BodyError) throw e;
    // The client went away (or timed out) mid-body.
    throw new BodyError(400, `incomplete request body: ${(e as Error).message}`);
  }
  const raw = Buffer.concat(chunks, size);
  if (encoding === 'identity') return { raw, body: raw };
  return { raw, body: await inflate(raw, encoding === 'gzip' ? createGunzip() : createInflate(), limits) };
}

function inflate(raw: Buffer, z: Transform, limits: BodyLimits): Promise<Buffer> {
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
      size += chunk.length;
      if (size > limits.maxDecompressedBytes) {
        fail(
          new BodyError(413, `decompressed body is over the limit of ${limits.maxDecompressedBytes} bytes`),
        );
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
