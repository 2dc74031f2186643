import { spawn } from 'node:child_process';
import type { Server } from 'node:net';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLP_HTTP_PORT, portInUseMessage } from '../../src/cli/port-hint.js';
import { ensureBuilt, ROOT } from '../register/run-node.js';

beforeAll(ensureBuilt, 120_000);

let taken: Server;
let port: number;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fenra-port-'));
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  port = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((r) => taken.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** The built CLI, as `npm start` runs it (npm sets npm_lifecycle_event) or directly. */
function serve(
  env: Record<string, string>,
  ports = ['--port', String(port), '--grpc-port', '0'],
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['bin/fenra-otel.js', 'serve', ...ports], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', FENRA_DATA_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr, stdout })));
}

describe('serve when its port is taken', () => {
  it('fenra-otel serve: one line naming --port and FENRA_SERVE_PORT, exit 1', async () => {
    const r = await serve({});
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`fenra-otel serve: ${portInUseMessage('127.0.0.1', port)}`);
    expect(lines[0]).toContain(`127.0.0.1:${port} is already in use`);
    expect(lines[0]).toContain(`--port ${port + 1} (or FENRA_SERVE_PORT=${port + 1})`);
    expect(lines[0]).toContain(`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:${port + 1}`);
  });

  it('under npm start: says how to pass the port through npm', async () => {
    const r = await serve({ npm_lifecycle_event: 'start' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`npm start -- --port ${port + 1} (or FENRA_SERVE_PORT=${port + 1} npm start)`);
  });

  it('its OTLP/gRPC port: names --grpc-port, FENRA_SERVE_GRPC_PORT, and how to turn it off', async () => {
    const r = await serve({}, ['--port', '0', '--grpc-port', String(port)]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(
      `fenra-otel serve: cannot start: 127.0.0.1:${port} is already in use. Pick another port with --grpc-port ${port + 1} (or FENRA_SERVE_GRPC_PORT=${port + 1}), or --grpc-port 0 to turn OTLP/gRPC off`,
    );
  });

  it('on the OTLP port, says what usually holds it', () => {
    const text = portInUseMessage('127.0.0.1', OTLP_HTTP_PORT);
    expect(text).toContain(
      '4318 is the OTLP/HTTP port: an OpenTelemetry Collector, Jaeger or .NET Aspire often holds it',
    );
    expect(text).toContain('--port 4319 (or FENRA_SERVE_PORT=4319)');
    expect(portInUseMessage('0.0.0.0', 9000)).toContain('OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:9001');
    expect(portInUseMessage('0.0.0.0', 9000)).not.toContain('Collector');
  });
});
