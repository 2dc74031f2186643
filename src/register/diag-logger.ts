import type { DiagLogger } from '@opentelemetry/api';
import { DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';

/** Namespaces of this package's component loggers. */
const OURS = '@fenra/otel';

/**
 * The register entry's logger at its default level: warnings and errors from everyone, plus
 * this package's few info lines ("billing works", "delivery works again"), so that a zero-code
 * user sees that it works without turning on OpenTelemetry's chatter. Everything goes to
 * standard error (never into the app's standard output, which may be its data).
 */
export function defaultRegisterLogger(): { logger: DiagLogger; logLevel: DiagLogLevel } {
  const base = new DiagConsoleLogger();
  const none = (): void => undefined;
  return {
    logLevel: DiagLogLevel.INFO,
    logger: {
      error: (...a) => base.error(...a),
      warn: (...a) => base.warn(...a),
      info: (message, ...args) => {
        if (message.startsWith(OURS)) base.warn(message, ...args);
      },
      debug: none,
      verbose: none,
    },
  };
}
