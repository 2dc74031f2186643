import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import type { Writable } from 'node:stream';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true }>
>;

/**
 * Parses one verb's arguments the same way for every verb: an unknown or malformed option is
 * a usage error (exit 2, message and help on stderr); `-h`/`--help` prints the help (exit 0).
 * Returns the parsed values, or the exit code to return.
 */
export function parseVerbArgs<O extends Options>(
  verb: string,
  help: string,
  argv: string[],
  options: O,
  io: { stdout: Writable; stderr: Writable },
): Parsed<O> | number {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options }) as Parsed<O>;
  } catch (e) {
    io.stderr.write(`fenra-otel ${verb}: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    io.stdout.write(help);
    return 0;
  }
  return parsed;
}
