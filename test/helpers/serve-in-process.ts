import { Writable } from 'node:stream';
import { runServe } from '../../src/cli/serve.js';
import type { RunningSidecar } from '../../src/sidecar/sidecar.js';

/** A stream that keeps what is written to it (a command's stdout or stderr). */
export class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export interface ServedInProcess {
  sidecar: RunningSidecar;
  /** `http://127.0.0.1:<port>` of its OTLP/HTTP receiver. */
  base: string;
  stdout: TextSink;
  stderr: TextSink;
  /** Stops it as SIGTERM would; resolves with its exit code. */
  stop(): Promise<number>;
}

/**
 * `fenra-otel serve <args>` run in this process (no signal handlers), once it listens; rejects
 * with its stderr if it exits before. `args` name the ports (`--port 0` for any). OTLP/gRPC is
 * off unless `args` or `env` name its port: test files run side by side, and its default (4317)
 * is one port for all of them (two sidecars on it failed at random with "already in use").
 */
export async function serveInProcess(args: string[], env: Record<string, string>): Promise<ServedInProcess> {
  if (!args.some((a) => a.startsWith('--grpc-port')) && env['FENRA_SERVE_GRPC_PORT'] === undefined) {
    args = [...args, '--grpc-port', '0'];
  }
  const stdout = new TextSink();
  const stderr = new TextSink();
  const ctl = new AbortController();
  let ready!: (s: RunningSidecar) => void;
  const started = new Promise<RunningSidecar>((r) => (ready = r));
  const done = runServe(args, {
    stdout,
    stderr,
    env,
    stop: ctl.signal,
    handleSignals: false,
    onReady: ready,
  });
  const sidecar = await Promise.race([
    started,
    done.then((code) => Promise.reject(new Error(`exited ${code}: ${stderr.text}`))),
  ]);
  return {
    sidecar,
    base: `http://127.0.0.1:${sidecar.address.port}`,
    stdout,
    stderr,
    stop: () => {
      ctl.abort();
      return done;
    },
  };
}
