import { diag } from '@opentelemetry/api';
import { needsEsmHook, registerEsmHook } from './esm-hook.js';
import { startRegister } from './start.js';

/**
 * Starts the zero-code set-up (see src/register.ts, the entry point): the SDK with the Fenra
 * processor, and the ESM loader hook the instrumentations need. `entryUrl`: the entry module's
 * URL, from which the hook is resolved.
 */
export function runRegister(entryUrl: string): void {
  const result = startRegister();
  if (result.started && needsEsmHook(process.argv[1], result.handle.settings)) {
    const kind = registerEsmHook(result.handle.hookedModules, entryUrl);
    diag.debug(`@fenra/otel/register: ESM loader hook ${kind === false ? 'not available' : kind}`);
  }
}
