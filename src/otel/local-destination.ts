import type { TransactionSender } from '../pipeline/sender.js';

/**
 * Where an in-process runtime without an API key sends what it would bill: the local sink
 * (`src/local`), which this layer may not import. The package's entry points (src/index.ts,
 * src/register.ts), which may import any layer, provide it at load; a runtime built without
 * them (a test importing src/otel directly) has no local mode and stays idle without a key.
 */
export type LocalDestination =
  | { file: string; sender: TransactionSender & { readonly unwritable: string | undefined } }
  /** The directory cannot be written (a read-only file system): nothing is kept. */
  | { file: string; unwritable: string };

export type LocalDestinationFactory = (dataDir: string) => LocalDestination;

let factory: LocalDestinationFactory | undefined;

export function provideLocalDestination(f: LocalDestinationFactory): void {
  factory = f;
}

/** The local sink for `dataDir`, when an entry point provided one. */
export function localDestination(dataDir: string): LocalDestination | undefined {
  return factory?.(dataDir);
}
