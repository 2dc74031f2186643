/** The OTLP ports: the ones every OpenTelemetry SDK exports to by default. */
export const OTLP_HTTP_PORT = 4318;
export const OTLP_GRPC_PORT = 4317;

/**
 * What `serve` says when one of its ports is taken: which address, what usually holds the OTLP
 * ports, how to pick another (`--port` / `FENRA_SERVE_PORT`, or `--grpc-port` /
 * `FENRA_SERVE_GRPC_PORT`; through `npm start` when run by it), and for the HTTP receiver the
 * endpoint the app then uses.
 */
export function portInUseMessage(
  host: string,
  port: number,
  o: { grpc?: boolean; viaNpmStart?: boolean } = {},
): string {
  const other = port + 1;
  const [flag, variable, usual, kind] = o.grpc
    ? ['--grpc-port', 'FENRA_SERVE_GRPC_PORT', OTLP_GRPC_PORT, 'OTLP/gRPC']
    : ['--port', 'FENRA_SERVE_PORT', OTLP_HTTP_PORT, 'OTLP/HTTP'];
  const holder =
    port === usual
      ? ` (${usual} is the ${kind} port: an OpenTelemetry Collector, Jaeger or .NET Aspire often holds it)`
      : '';
  const how = o.viaNpmStart
    ? `npm start -- ${flag} ${other} (or ${variable}=${other} npm start)`
    : `${flag} ${other} (or ${variable}=${other})`;
  if (o.grpc)
    return `cannot start: ${host}:${port} is already in use${holder}. Pick another port with ${how}, or ${flag} 0 to turn OTLP/gRPC off`;
  const appHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return (
    `cannot start: ${host}:${port} is already in use${holder}. Pick another port with ${how}, ` +
    `and point the app there: OTEL_EXPORTER_OTLP_ENDPOINT=http://${appHost}:${other}`
  );
}
