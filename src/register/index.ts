/**
 * `node --import @fenra/otel/register app.mjs` (or `--require` for CommonJS, or in
 * NODE_OPTIONS): zero-code tracing and billing of LLM calls, configured by the environment
 * (`FENRA_API_KEY`, `FENRA_BILLABLE_CUSTOMER_ID`, `OTEL_SERVICE_NAME`, ...). See the README.
 */
import { diag } from '@opentelemetry/api';
import { needsEsmHook, registerEsmHook } from './esm-hook.js';
import { startRegister } from './start.js';

const result = startRegister();
if (result.started && needsEsmHook(process.argv[1], result.handle.settings)) {
  const kind = registerEsmHook(result.handle.hookedModules, import.meta.url);
  diag.debug(`@fenra/otel/register: ESM loader hook ${kind === false ? 'not available' : kind}`);
}
