import { VERSION } from '../version.js';
import { CONVERT_HELP, runConvert } from './convert.js';
import type { CliStreams } from './convert.js';

const HELP = `fenra-otel: priced, per-customer AI usage from OpenTelemetry traces, for Fenra

Usage: fenra-otel <command> [options]

Commands:
  convert FILE|-   OTLP/JSON trace files → Fenra transactions (JSON Lines on stdout)
  serve            OTLP/HTTP receiver (sidecar): prices LLM spans from any language, sends them to Fenra
                   (with no FENRA_API_KEY: local mode, to .fenra/transactions.jsonl; inspector at /)
  report [FILE]    totals by customer, model or feature from the local sink or convert output

Run 'fenra-otel <command> --help' for a command's options.
`;

/** The CLI. Returns the exit code; never calls process.exit itself (tests run it in-process). */
export async function main(
  argv: string[],
  io: CliStreams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'convert':
      return runConvert(rest, io);
    case 'report':
      return (await import('./report.js')).runReport(rest, io);
    case 'serve':
      return (await import('./serve.js')).runServe(rest, io);
    case '--version':
    case '-v':
      io.stdout.write(VERSION + '\n');
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      io.stdout.write(HELP);
      return 0;
    default:
      io.stderr.write(`fenra-otel: unknown command '${verb}'\n\n${HELP}`);
      return 2;
  }
}

export { CONVERT_HELP };
