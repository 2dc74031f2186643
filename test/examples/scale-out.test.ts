import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { resolveServeConfig } from '../../src/config/serve.js';

/**
 * The scale-out examples parse, and say what the rest of the repository does: the loadbalancing
 * exporter keyed by trace id sends OTLP/gRPC to the port fenra-otel serves it on, with the token
 * the replicas require; the Service, the StatefulSet and the disruption budget select the same
 * pods; every replica has its own spool volume, probes and resources.
 */
const DIR = new URL('../../examples/scale-out/', import.meta.url);
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function load(name: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(new URL(name, DIR), 'utf8'));
  for (const d of docs) expect(d.errors, `${name}: ${d.errors.join('; ')}`).toEqual([]);
  return docs.map((d) => d.toJS() as Doc).filter((d) => d !== null);
}

const grpcDefault = resolveServeConfig({ flags: {}, env: {} }).config.grpcPort;

describe('examples/scale-out', () => {
  it('has the three Collector resolvers and the Kubernetes manifests', () => {
    expect(readdirSync(DIR).sort()).toEqual(
      expect.arrayContaining([
        'collector-dns.yaml',
        'collector-k8s.yaml',
        'collector-rbac.k8s.yaml',
        'collector-static.yaml',
        'fenra-otel.k8s.yaml',
      ]),
    );
  });

  for (const [file, resolver] of [
    ['collector-static.yaml', 'static'],
    ['collector-dns.yaml', 'dns'],
    ['collector-k8s.yaml', 'k8s'],
  ] as const) {
    it(`${file}: whole traces, keyed by trace id, over gRPC to port ${grpcDefault}`, () => {
      const [config] = load(file);
      const lb = config!['exporters']['loadbalancing/fenra'];
      expect(lb.routing_key).toBe('traceID');
      expect(lb.protocol.otlp.headers.authorization).toMatch(/^Bearer \$\{env:FENRA_RECEIVER_TOKEN\}$/);
      expect(lb.retry_on_failure.enabled).toBe(true);
      expect(Object.keys(lb.resolver)).toEqual([resolver]);
      const r = lb.resolver[resolver];
      const ports: number[] =
        resolver === 'static'
          ? r.hostnames.map((h: string) => Number(h.split(':').pop()))
          : resolver === 'dns'
            ? [r.port]
            : r.ports;
      expect(ports.length).toBeGreaterThan(0);
      for (const p of ports) expect(p).toBe(grpcDefault);
      if (resolver === 'k8s') expect(r.return_hostnames).toBe(true);
      const pipeline = config!['service']['pipelines']['traces/fenra'];
      expect(pipeline.exporters).toEqual(['loadbalancing/fenra']);
      // No span filter in front of fenra-otel: it needs the spans that name the customer.
      expect(pipeline.processors.filter((p: string) => p.startsWith('filter'))).toEqual([]);
    });
  }

  it('fenra-otel.k8s.yaml: a headless Service, a StatefulSet with a spool volume per replica, a PDB', () => {
    const docs = load('fenra-otel.k8s.yaml');
    const byKind = new Map(docs.map((d) => [d['kind'] as string, d]));
    expect([...byKind.keys()].sort()).toEqual(['PodDisruptionBudget', 'Service', 'StatefulSet']);
    const svc = byKind.get('Service')!;
    const sts = byKind.get('StatefulSet')!;
    const pdb = byKind.get('PodDisruptionBudget')!;
    expect(svc['spec'].clusterIP).toBe('None');
    expect(svc['spec'].publishNotReadyAddresses).toBe(true);
    expect(sts['spec'].serviceName).toBe(svc['metadata'].name);
    const labels = sts['spec'].template.metadata.labels;
    for (const selector of [
      svc['spec'].selector,
      sts['spec'].selector.matchLabels,
      pdb['spec'].selector.matchLabels,
    ])
      expect(selector).toEqual(labels);
    const [c] = sts['spec'].template.spec.containers;
    const env = new Map<string, string>(
      c.env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]),
    );
    expect(Number(env.get('FENRA_SERVE_GRPC_PORT'))).toBe(grpcDefault);
    expect(env.get('FENRA_SERVE_HOST')).toBe('0.0.0.0');
    expect(c.env.find((e: Doc) => e.name === 'FENRA_RECEIVER_TOKEN').valueFrom.secretKeyRef).toBeDefined();
    const grpcPort = svc['spec'].ports.find((p: Doc) => p.name === 'otlp-grpc');
    expect(grpcPort.port).toBe(grpcDefault);
    expect(c.ports.find((p: Doc) => p.name === 'otlp-grpc').containerPort).toBe(grpcDefault);
    // The spool lives on the replica's own volume.
    const mount = c.volumeMounts.find(
      (m: Doc) => m.name === sts['spec'].volumeClaimTemplates[0].metadata.name,
    );
    expect(env.get('FENRA_SPOOL_DIR')!.startsWith(mount.mountPath)).toBe(true);
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe'])
      expect(c[probe].httpGet.port).toBe('http');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.resources.limits.memory).toBeDefined();
    expect(c.resources.requests.cpu).toBeDefined();
    // The grace period covers the drain and the shutdown deadline.
    const arg = (name: string): number =>
      Number(c.args.find((a: string) => a.startsWith(`--${name}=`)).split('=')[1]);
    expect(sts['spec'].template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
      arg('drain-ms') + arg('shutdown-timeout-ms'),
    );
    expect(pdb['spec'].maxUnavailable).toBe(1);
  });

  it('collector-rbac.k8s.yaml lets the resolver read the Service endpoints', () => {
    const docs = load('collector-rbac.k8s.yaml');
    const role = docs.find((d) => d['kind'] === 'Role')!;
    const resources = role['rules'].flatMap((r: Doc) => r.resources);
    expect(resources).toEqual(expect.arrayContaining(['endpoints', 'endpointslices']));
    const binding = docs.find((d) => d['kind'] === 'RoleBinding')!;
    expect(binding['roleRef'].name).toBe(role['metadata'].name);
  });
});
