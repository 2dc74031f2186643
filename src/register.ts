/**
 * `node --import @fenra/otel/register app.mjs` (or `--require` for CommonJS, or in
 * NODE_OPTIONS): zero-code tracing and billing of LLM calls, configured by the environment
 * (`FENRA_API_KEY`, `FENRA_BILLABLE_CUSTOMER_ID`, `OTEL_SERVICE_NAME`, ...). See the README.
 *
 * An entry point, so it may wire any layer: without an API key the processor bills into the
 * local sink (src/local), as `fenra-otel serve` does.
 */
import { inProcessDestination } from './local/in-process-sink.js';
import { provideLocalDestination } from './otel/local-destination.js';
import { runRegister } from './register/main.js';

provideLocalDestination(inProcessDestination);
runRegister(import.meta.url);
