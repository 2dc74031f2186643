import { createRequire } from 'node:module';
import type * as ZodApi from './zod-api.js';

/**
 * Where zod is loaded from: `zod` itself, or (in the register entry's build, see tsup.config.ts)
 * the file beside the bundle that holds it bundled.
 */
declare const __FENRA_ZOD_MODULE__: string | undefined;

let zod: typeof ZodApi | undefined;

/**
 * zod (the part of it in ./zod-api.ts), loaded at its first use (the first options given in code, the first transaction
 * validated) rather than with the module that uses it: nothing at start-up needs it, and
 * compiling it costs start-up time to every process (the register entry above all).
 */
export function loadZod(): typeof ZodApi {
  const from = typeof __FENRA_ZOD_MODULE__ === 'string' ? __FENRA_ZOD_MODULE__ : 'zod';
  return (zod ??= createRequire(import.meta.url)(from) as typeof ZodApi);
}
