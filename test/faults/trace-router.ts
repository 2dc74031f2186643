import * as grpc from '@grpc/grpc-js';
import { TRACE_SERVICE } from '../../src/sidecar/grpc/otlp-grpc-server.js';
import { ExportTraceServiceRequest, ExportTraceServiceResponse } from '../../src/span/otlp-proto-schema.js';
import { HashRing } from './hash-ring.js';

/**
 * A small OTLP/gRPC router standing in for the Collector's `loadbalancing` exporter
 * (`routing_key: traceID`): each incoming request is split by trace id over a consistent-hash
 * ring of backend NAMES (stable, like StatefulSet pods), each part sent to that backend's current
 * address; a part that fails with a retryable status is sent again (routed again by the ring of
 * that moment) until it is taken. The caller is answered once every part was taken.
 */
interface Span {
  traceId: Uint8Array;
}
interface ScopeSpans {
  scope?: unknown;
  schemaUrl?: string;
  spans: Span[];
}
interface ResourceSpans {
  resource?: unknown;
  schemaUrl?: string;
  scopeSpans: ScopeSpans[];
}

const Client = grpc.makeGenericClientConstructor({}, 'Backend');
const RETRYABLE = new Set([
  grpc.status.UNAVAILABLE,
  grpc.status.RESOURCE_EXHAUSTED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.CANCELLED,
]);

export class TraceRouter {
  readonly address: string;
  /** Spans forwarded (taken) per backend name. */
  readonly spans = new Map<string, number>();
  /** Parts sent again after a retryable failure. */
  retries = 0;
  private _ring: HashRing = new HashRing([]);
  private readonly _addresses = new Map<string, string>();
  private readonly _clients = new Map<string, grpc.Client>();
  private readonly _server: grpc.Server;

  private constructor(server: grpc.Server, address: string) {
    this._server = server;
    this.address = address;
  }

  static async start(): Promise<TraceRouter> {
    const server = new grpc.Server();
    const self: { router?: TraceRouter } = {};
    server.addService(TRACE_SERVICE, {
      export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        self.router!._route(call.request).then(
          () => cb(null, Buffer.from(ExportTraceServiceResponse.encode({}).finish())),
          (e: grpc.ServiceError) => cb({ code: e.code ?? grpc.status.INTERNAL, details: e.message }),
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
    self.router = new TraceRouter(server, `127.0.0.1:${port}`);
    return self.router;
  }

  /** The backends of the ring (names); a name's address is set with {@link setAddress}. */
  setRing(names: readonly string[]): void {
    this._ring = new HashRing(names);
  }

  owner(traceIdHex: string): string | undefined {
    return this._ring.owner(traceIdHex);
  }

  /** Where a backend name is reached now (a restarted replica keeps its name, not its port). */
  setAddress(name: string, address: string): void {
    this._addresses.set(name, address);
  }

  close(): void {
    this._server.forceShutdown();
    for (const c of this._clients.values()) c.close();
  }

  private async _route(body: Buffer): Promise<void> {
    const request = ExportTraceServiceRequest.decode(body) as unknown as { resourceSpans: ResourceSpans[] };
    let pending = request.resourceSpans;
    for (;;) {
      const parts = this._split(pending);
      const failed: ResourceSpans[] = [];
      await Promise.all(
        [...parts].map(async ([name, resourceSpans]) => {
          const code = await this._send(name, resourceSpans);
          if (code === grpc.status.OK) {
            const n = resourceSpans.reduce(
              (a, r) => a + r.scopeSpans.reduce((b, s) => b + s.spans.length, 0),
              0,
            );
            this.spans.set(name, (this.spans.get(name) ?? 0) + n);
          } else if (RETRYABLE.has(code)) failed.push(...resourceSpans);
          else throw Object.assign(new Error(`backend ${name} refused: ${grpc.status[code]}`), { code });
        }),
      );
      if (failed.length === 0) return;
      this.retries++;
      pending = failed;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The request's spans grouped by the backend of their trace, resource and scope kept. */
  private _split(resourceSpans: ResourceSpans[]): Map<string, ResourceSpans[]> {
    const out = new Map<string, ResourceSpans[]>();
    for (const rs of resourceSpans) {
      const byName = new Map<string, ScopeSpans[]>();
      for (const ss of rs.scopeSpans) {
        const spansByName = new Map<string, Span[]>();
        for (const span of ss.spans) {
          const name = this._ring.owner(Buffer.from(span.traceId).toString('hex'));
          if (name === undefined) throw new Error('no backend in the ring');
          const list = spansByName.get(name) ?? [];
          list.push(span);
          spansByName.set(name, list);
        }
        for (const [name, spans] of spansByName) {
          const list = byName.get(name) ?? [];
          list.push({ scope: ss.scope, schemaUrl: ss.schemaUrl, spans });
          byName.set(name, list);
        }
      }
      for (const [name, scopeSpans] of byName) {
        const list = out.get(name) ?? [];
        list.push({ resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans });
        out.set(name, list);
      }
    }
    return out;
  }

  private _send(name: string, resourceSpans: ResourceSpans[]): Promise<number> {
    const address = this._addresses.get(name);
    if (address === undefined) return Promise.resolve(grpc.status.UNAVAILABLE);
    let client = this._clients.get(address);
    if (client === undefined) {
      client = new Client(address, grpc.credentials.createInsecure(), { 'grpc.enable_retries': 0 });
      this._clients.set(address, client);
    }
    const body = Buffer.from(ExportTraceServiceRequest.encode({ resourceSpans }).finish());
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        TRACE_SERVICE.export.path,
        TRACE_SERVICE.export.requestSerialize,
        TRACE_SERVICE.export.responseDeserialize,
        body,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (err) => resolve(err ? err.code : grpc.status.OK),
      );
    });
  }
}
