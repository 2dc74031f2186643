import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { renderServeHelp } from '../config/docs.js';
import { processEnv } from '../config/env.js';
import type { ServeConfig } from '../config/serve.js';
import { resolveServeConfig, serveFlagOptions } from '../config/serve.js';
import { jsonDiagLogger } from '../sidecar/json-logger.js';
import { prepareServeExtras } from '../local/local-mode.js';
import type { RunningSidecar } from '../sidecar/sidecar.js';
import { startSidecar } from '../sidecar/sidecar.js';
import type { CliStreams } from './convert.js';
import { portInUseMessage } from './port-hint.js';

/** Rendered from the setting tables (`src/config/settings-*.ts`). */
export const SERVE_HELP = renderServeHelp();

export interface ServeIo extends CliStreams {
  /** Called once the server listens (tests, embedding). */
  onReady?: (sidecar: RunningSidecar) => void;
  /** Aborting it shuts the server down like SIGTERM does. */
  stop?: AbortSignal;
  /** Install SIGTERM/SIGINT handlers (default true). */
  handleSignals?: boolean;
}

const LEVEL: Record<ServeConfig['logLevel'], DiagLogLevel> = {
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
};

const stringFlag = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function readSecret(path: string | undefined, what: string): string | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new Error(
      `cannot read the ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** `fenra-otel serve`: resolves with the exit code once the server has stopped. */
export async function runServe(argv: string[], io: ServeIo): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        ...serveFlagOptions(),
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    io.stderr.write(
      `fenra-otel serve: ${(e as Error).message}\n\nRun 'fenra-otel serve --help' for the options.\n`,
    );
    return 2;
  }
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const env = io.env ?? processEnv();
  let file: Record<string, unknown> | undefined;
  let apiKeyFromFile: string | undefined;
  let receiverTokenFromFile: string | undefined;
  try {
    const configFile = values['config'];
    if (typeof configFile === 'string') {
      const parsed = JSON.parse(readFileSync(configFile, 'utf8')) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error(`${configFile} must hold a JSON object`);
      file = parsed as Record<string, unknown>;
    }
    apiKeyFromFile = readSecret(stringFlag(values['api-key-file']), 'API key');
    receiverTokenFromFile = readSecret(stringFlag(values['receiver-token-file']), 'receiver token');
  } catch (e) {
    io.stderr.write(`fenra-otel serve: ${(e as Error).message}\n`);
    return 2;
  }
  const { config, problems, warnings } = resolveServeConfig({
    flags: values,
    env,
    file,
    apiKeyFromFile,
    receiverTokenFromFile,
  });
  if (problems.length) {
    for (const p of problems) io.stderr.write(`fenra-otel serve: ${p}\n`);
    return 2;
  }

  diag.setLogger(jsonDiagLogger(io.stderr), {
    logLevel: LEVEL[config.logLevel],
    suppressOverrideMessage: true,
  });
  for (const w of warnings) diag.warn(w);
  let sidecar: RunningSidecar;
  let extras;
  try {
    extras = await prepareServeExtras({
      config,
      env,
      stdout: io.stdout,
    });
    sidecar = await startSidecar(config, extras.deps);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const port = (err as { port?: number }).port ?? config.port;
    const viaNpmStart = env['npm_lifecycle_event'] === 'start';
    io.stderr.write(
      `fenra-otel serve: ${
        err.code === 'EADDRINUSE'
          ? portInUseMessage(config.host, port, { grpc: port === config.grpcPort, viaNpmStart })
          : `cannot start: ${err.message}`
      }\n`,
    );
    return 1;
  }
  extras.afterStart(sidecar);
  io.onReady?.(sidecar);

  await new Promise<void>((resolve) => {
    let stopping: Promise<void> | undefined;
    const stop = (): void => {
      if (stopping) {
        // A second signal ends the drain (--drain-ms) at once.
        void sidecar.shutdown();
        return;
      }
      io.stop?.removeEventListener('abort', stop);
      stopping = extras
        .stop()
        .then(() => sidecar.shutdown())
        .finally(() => {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        });
      stopping.then(resolve, resolve);
    };
    if (io.handleSignals !== false) {
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    }
    if (io.stop?.aborted) stop();
    else io.stop?.addEventListener('abort', stop, { once: true });
  });
  diag.disable();
  return 0;
}
