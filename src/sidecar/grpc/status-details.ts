import protobuf from 'protobufjs/minimal.js';

/**
 * The `grpc-status-details-bin` trailer: a `google.rpc.Status` (code = 1, message = 2,
 * details = 3: `google.protobuf.Any`) carrying a `google.rpc.RetryInfo` (retry_delay = 1: a
 * `google.protobuf.Duration`, seconds = 1). The OTLP specification has a server under pressure
 * answer UNAVAILABLE, or RESOURCE_EXHAUSTED, with RetryInfo: RESOURCE_EXHAUSTED without it means
 * "do not retry". Encoded by hand with protobufjs's writer (three small messages).
 */
export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

export function retryInfoStatus(code: number, message: string, retryAfterSeconds: number): Buffer {
  const seconds = Math.max(0, Math.trunc(retryAfterSeconds));
  const duration = protobuf.Writer.create().uint32(8).int64(seconds).finish();
  const retryInfo = protobuf.Writer.create().uint32(10).bytes(duration).finish();
  const any = protobuf.Writer.create()
    .uint32(10)
    .string(RETRY_INFO_TYPE_URL)
    .uint32(18)
    .bytes(retryInfo)
    .finish();
  const status = protobuf.Writer.create()
    .uint32(8)
    .int32(code)
    .uint32(18)
    .string(message)
    .uint32(26)
    .bytes(any);
  return Buffer.from(status.finish());
}
