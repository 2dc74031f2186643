import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs/minimal.js';
import { TRACE_EXPORT_PATH } from '../../src/sidecar/grpc/otlp-grpc-server.js';
import { RETRY_INFO_TYPE_URL } from '../../src/sidecar/grpc/status-details.js';

/**
 * A raw @grpc/grpc-js client for OTLP/gRPC: sends bytes as they are (identity serializers), so
 * tests can send what no exporter would (garbage, truncated, oversized, another method).
 */
export interface RawReply {
  code: number;
  details: string;
  response: Buffer | undefined;
  trailers: grpc.Metadata | undefined;
}

const identity = (b: Buffer): Buffer => b;
const Client = grpc.makeGenericClientConstructor({}, 'Raw');

export class RawOtlpClient {
  private readonly _client: grpc.Client;

  constructor(address: string, options: { gzip?: boolean } = {}) {
    this._client = new Client(address, grpc.credentials.createInsecure(), {
      'grpc.default_compression_algorithm': options.gzip ? grpc.compressionAlgorithms.gzip : 0,
      'grpc.max_send_message_length': -1,
      'grpc.enable_retries': 0,
    });
  }

  export(body: Uint8Array, o: { token?: string; path?: string } = {}): Promise<RawReply> {
    const md = new grpc.Metadata();
    if (o.token !== undefined) md.set('authorization', o.token);
    return new Promise((resolve) => {
      let trailers: grpc.Metadata | undefined;
      const call = this._client.makeUnaryRequest<Buffer, Buffer>(
        o.path ?? TRACE_EXPORT_PATH,
        identity,
        identity,
        Buffer.from(body),
        md,
        { deadline: Date.now() + 15_000 },
        (err, response) => {
          if (err)
            resolve({ code: err.code, details: err.details, response: undefined, trailers: err.metadata });
          else resolve({ code: grpc.status.OK, details: '', response, trailers });
        },
      );
      call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
    });
  }

  close(): void {
    this._client.close();
  }
}

/** The RetryInfo delay (seconds) in a status's `grpc-status-details-bin`, or undefined. */
export function retryDelaySeconds(trailers: grpc.Metadata | undefined): number | undefined {
  const bin = trailers?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bin)) return undefined;
  const fields = (buf: Uint8Array): Map<number, Uint8Array[] | number[]> => {
    const r = protobuf.Reader.create(buf);
    const out = new Map<number, Uint8Array[] | number[]>();
    while (r.pos < r.len) {
      const tag = r.uint32();
      const n = tag >>> 3;
      const list = out.get(n) ?? [];
      if ((tag & 7) === 2) (list as Uint8Array[]).push(r.bytes());
      else if ((tag & 7) === 0) (list as number[]).push(Number(r.int64()));
      else r.skipType(tag & 7);
      out.set(n, list);
    }
    return out;
  };
  for (const any of (fields(bin).get(3) ?? []) as Uint8Array[]) {
    const a = fields(any);
    const url = Buffer.from((a.get(1) as Uint8Array[])[0]!).toString();
    if (url !== RETRY_INFO_TYPE_URL) continue;
    const duration = (fields((a.get(2) as Uint8Array[])[0]!).get(1) as Uint8Array[])[0]!;
    return ((fields(duration).get(1) as number[] | undefined) ?? [0])[0];
  }
  return undefined;
}

/** The `google.rpc.Status` code in the details trailer (it must match the call's status). */
export function detailsCode(trailers: grpc.Metadata | undefined): number | undefined {
  const bin = trailers?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(bin)) return undefined;
  const r = protobuf.Reader.create(bin);
  const tag = r.uint32();
  return tag === 8 ? r.int32() : undefined;
}
