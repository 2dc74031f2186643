import { describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../../src/config/serve.js';

/** `--grpc-port`: 4317 by default, 0 turns OTLP/gRPC off, `auto` picks a free port. */
describe('the OTLP/gRPC port setting', () => {
  const resolve = (
    flags: Record<string, string>,
    env: Record<string, string> = {},
    file?: Record<string, unknown>,
  ) => resolveServeConfig({ flags, env, file });

  it('defaults to 4317 and reads the flag, the variable and the config file, in that order', () => {
    expect(resolve({}).config.grpcPort).toBe(4317);
    expect(resolve({}, {}, { grpcPort: 5317 }).config.grpcPort).toBe(5317);
    expect(resolve({}, { FENRA_SERVE_GRPC_PORT: '6317' }, { grpcPort: 5317 }).config.grpcPort).toBe(6317);
    expect(resolve({ 'grpc-port': '7317' }, { FENRA_SERVE_GRPC_PORT: '6317' }).config.grpcPort).toBe(7317);
  });

  it('takes 0 (off) and auto (any free port)', () => {
    expect(resolve({ 'grpc-port': '0' }).config.grpcPort).toBe(0);
    expect(resolve({ 'grpc-port': 'auto' }).config.grpcPort).toBe('auto');
    expect(resolve({}, {}, { grpcPort: 'auto' }).config.grpcPort).toBe('auto');
    expect(resolve({}, {}, { grpcPort: 0 }).problems).toEqual([]);
  });

  it('refuses anything else, and the HTTP port', () => {
    expect(resolve({ 'grpc-port': 'grpc' }).problems).toEqual([
      "--grpc-port: expected a port number 0-65535 (0: off) or 'auto', got 'grpc'",
    ]);
    expect(resolve({}, { FENRA_SERVE_GRPC_PORT: '70000' }).problems[0]).toMatch(
      /^FENRA_SERVE_GRPC_PORT: expected/,
    );
    expect(resolve({}, {}, { grpcPort: '4317' }).problems[0]).toMatch(/^config file 'grpcPort': expected/);
    expect(resolve({ port: '4317' }).problems).toEqual([
      '--grpc-port and --port are both 4317: give OTLP/gRPC its own port (0 turns it off)',
    ]);
    expect(resolve({ port: '0', 'grpc-port': '0' }).problems).toEqual([]);
  });
});
