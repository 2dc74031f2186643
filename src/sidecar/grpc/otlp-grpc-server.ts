import type { Server as NetServer, Socket } from 'node:net';
import { createServer } from 'node:net';
import type * as Grpc from '@grpc/grpc-js';
import { diag } from '@opentelemetry/api';
import { errorText } from '../../internal/safe.js';
import type { Scheduler } from '../../internal/scheduler.js';
import { realScheduler } from '../../internal/scheduler.js';
import { encodeTraceResponse } from '../../span/otlp-proto.js';
import { bearerChecker } from '../bearer-token.js';
import type { Metrics } from '../metrics.js';
import type { ByteBudget } from '../read-body.js';
import type { Busy, TraceReceiver } from '../trace-receiver.js';
import type { Refusal } from './call-guard.js';
import { callGuard } from './call-guard.js';
import { retryInfoStatus } from './status-details.js';

/** The one method served: OTLP/gRPC traces. */
export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

const identity = (b: Buffer): Buffer => b;

/**
 * The OTLP trace service with its one method, messages passed as the bytes on the wire (the
 * receiver decodes them itself, with its limits and its billing filter).
 */
export const TRACE_SERVICE = {
  export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} as const;

export interface OtlpGrpcOptions {
  receiver: TraceReceiver;
  metrics: Metrics;
  /** Largest request message, compressed and once decompressed, bytes (grpc-js refuses more). */
  maxMessageBytes: number;
  /** Request bytes held by all requests at once, shared with OTLP/HTTP. */
  budget: ByteBudget;
  /** When set, calls must carry the `authorization: Bearer <token>` metadata. */
  bearerToken?: string | undefined;
  retryAfterSeconds: number;
  /** False once shutdown started: new calls get UNAVAILABLE. */
  accepting: () => boolean;
  /** Open client connections at once; more are closed as they arrive. */
  maxConnections: number;
  /** The whole request must arrive within this time, ms (default 30000, as OTLP/HTTP). */
  requestTimeoutMillis?: number;
  scheduler?: Scheduler | undefined;
}

type Reply = { body: Buffer } | Refusal;

const log = diag.createComponentLogger({ namespace: '@fenra/otel/sidecar-grpc' });

/**
 * OTLP/gRPC (`TraceService/Export`) on @grpc/grpc-js: a thin adapter around the same
 * {@link TraceReceiver} as `POST /v1/traces`. The method is registered with identity
 * (de)serializers, so the request bytes (decompressed by grpc-js: gzip) are decoded once, by the
 * receiver's own decoder, keeping only what billing reads. Connections are accepted by our own
 * `net` server (bounded like OTLP/HTTP's) and handed to grpc-js.
 */
export class OtlpGrpcServer {
  readonly address: { host: string; port: number };
  private readonly _server: Grpc.Server;
  private readonly _net: NetServer;
  private readonly _sockets: Map<string, Socket>;

  private constructor(
    server: Grpc.Server,
    net: NetServer,
    sockets: Map<string, Socket>,
    address: { host: string; port: number },
  ) {
    this._server = server;
    this._net = net;
    this._sockets = sockets;
    this.address = address;
  }

  /** Loads grpc-js (only when gRPC is on) and listens on `host:port` (0: any free port). */
  static async listen(o: OtlpGrpcOptions, port: number, host: string): Promise<OtlpGrpcServer> {
    const grpc = await import('@grpc/grpc-js');
    routeGrpcLogs(grpc);
    const { status } = grpc;
    const m = o.metrics;
    const sockets = new Map<string, Socket>();
    let calls = 0;
    m.observe(() => [
      { name: 'fenra.otel.grpc.connections', value: sockets.size },
      { name: 'fenra.otel.grpc.calls', value: calls },
    ]);
    /** The receiver's refusal (decided before the message is read), as a gRPC status. */
    const busyRefusal = (b: Busy): Refusal => ({
      code: b.why === 'queue' ? status.RESOURCE_EXHAUSTED : status.UNAVAILABLE,
      details: b.message,
      retry: true,
    });

    const retryAfter = o.retryAfterSeconds;
    /** The trailers of a refusal the sender may retry: RetryInfo (`--retry-after-s`). */
    const refusalMetadata = (r: Refusal): Grpc.Metadata | undefined => {
      if (!r.retry) return undefined;
      const md = new grpc.Metadata();
      md.set('grpc-status-details-bin', retryInfoStatus(r.code, r.details, retryAfter));
      return md;
    };
    const inflightRefusal = (): Refusal => {
      o.receiver.pressure('too many request bytes in flight (--max-inflight-mb)');
      return {
        code: status.RESOURCE_EXHAUSTED,
        details: `too many request bytes in flight (over --max-inflight-mb, ${o.budget.max} bytes for all requests): retry later`,
        retry: true,
      };
    };
    const guard = callGuard(grpc, {
      authorized: o.bearerToken !== undefined ? bearerChecker(o.bearerToken) : undefined,
      admit: () => {
        if (!o.accepting()) return { code: status.UNAVAILABLE, details: 'shutting down', retry: true };
        const busy = o.receiver.admit();
        if (busy !== undefined) return busyRefusal(busy);
        if (o.budget.used >= o.budget.max) return inflightRefusal();
        return undefined;
      },
      refusalMetadata,
      requestTimeoutMillis: o.requestTimeoutMillis ?? 30_000,
      scheduler: o.scheduler ?? realScheduler,
      onStart: () => calls++,
      onEnd: (code) => {
        calls = Math.max(0, calls - 1);
        m.add('fenra.otel.receiver.requests', 1, {
          transport: 'grpc',
          encoding: 'protobuf',
          status: status[code] ?? String(code),
        });
      },
      // A client that stalls mid-request: its connection is closed, which frees what it held.
      onTimeout: (call) => {
        const c = call.getConnectionInfo();
        const socket = sockets.get(`${c.remoteAddress}:${c.remotePort}`);
        if (socket !== undefined) setImmediate(() => socket.destroy());
      },
    });

    const exportCall = async (body: Buffer): Promise<Reply> => {
      if (!o.budget.take(body.length)) return inflightRefusal();
      try {
        const outcome = await o.receiver.receive(body, 'protobuf', {
          raw: body,
          contentType: 'application/x-protobuf',
          contentEncoding: undefined,
        });
        switch (outcome.kind) {
          case 'ok':
            return { body: Buffer.from(encodeTraceResponse(outcome.partial)) };
          case 'invalid':
          case 'too_large':
            return { code: status.INVALID_ARGUMENT, details: outcome.message, retry: false };
          case 'busy':
            // As OTLP/HTTP's 503 and 429: the sender keeps the data and retries after RetryInfo.
            return busyRefusal(outcome);
        }
      } finally {
        o.budget.give(body.length);
      }
    };

    const server = new grpc.Server({
      'grpc.max_receive_message_length': o.maxMessageBytes,
      'grpc.max_concurrent_streams': 100,
      'grpc.enable_channelz': 0,
      interceptors: [guard],
    });
    server.addService(TRACE_SERVICE, {
      export: (call: Grpc.ServerUnaryCall<Buffer, Buffer>, callback: Grpc.sendUnaryData<Buffer>) => {
        exportCall(call.request).then(
          (r) => {
            if ('body' in r) callback(null, r.body);
            else {
              const metadata = refusalMetadata(r);
              callback({ code: r.code, details: r.details, ...(metadata ? { metadata } : {}) });
            }
          },
          (e: unknown) => {
            log.error(`OTLP/gRPC export failed: ${errorText(e)}`);
            callback({ code: status.INTERNAL, details: 'internal error' });
          },
        );
      },
    });

    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const net = createServer((socket) => {
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      sockets.set(key, socket);
      socket.once('close', () => sockets.delete(key));
      injector.injectConnection(socket);
    });
    net.maxConnections = o.maxConnections;
    net.on('drop', () => m.add('fenra.otel.receiver.connections_closed', 1, { why: 'refused' }));
    const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
      net.once('error', reject);
      net.listen(port, host, () => {
        net.off('error', reject);
        const a = net.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host, port });
      });
    });
    return new OtlpGrpcServer(server, net, sockets, address);
  }

  /**
   * Stops accepting connections, lets calls in progress finish (new calls on open connections
   * are refused), and cuts whatever is left after `deadlineMillis`.
   */
  close(deadlineMillis: number): Promise<void> {
    this._net.close();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this._server.forceShutdown();
        for (const s of this._sockets.values()) s.destroy();
        resolve();
      }, deadlineMillis);
      this._server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

let logsRouted = false;

/** grpc-js's own messages go to the sidecar's log (JSON lines), not straight to the console. */
function routeGrpcLogs(grpc: typeof Grpc): void {
  if (logsRouted) return;
  logsRouted = true;
  const text = (args: unknown[]): string =>
    args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ');
  grpc.setLogger({
    error: (...a: unknown[]) => log.warn(`grpc-js: ${text(a)}`),
    info: (...a: unknown[]) => log.debug(`grpc-js: ${text(a)}`),
    debug: (...a: unknown[]) => log.debug(`grpc-js: ${text(a)}`),
  });
}
