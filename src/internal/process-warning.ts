/**
 * The few one-time configuration and health messages, made visible by default the Node way:
 * `process.emitWarning` prints them on stderr unless the application runs with
 * `--no-warnings` (or handles the `warning` event). OTel's `diag` prints nothing unless the
 * application installed a logger, so these go to both. Once per process per cause, whatever
 * the number of processors, exporters or copies of this package loaded (ESM and CommonJS).
 * Never per span, and never with the API key.
 */

/** Codes of the warnings this package emits (`warning.code`). */
export type FenraWarningCode =
  /** No API key: nothing is sent. */
  | 'FENRA_NO_API_KEY'
  /** Fenra answered 401/403: sending is paused. */
  | 'FENRA_API_KEY_REJECTED'
  /** The endpoint answered 404/405/410 or a redirect: sending is paused. */
  | 'FENRA_ENDPOINT_REJECTED'
  /** Fenra refused every part of a batch (a Fenra-wide 400): sending is paused, data kept. */
  | 'FENRA_REJECTING_ALL'
  /** An environment variable had a value that cannot be used. */
  | 'FENRA_INVALID_ENV'
  /** Options that contradict each other (the value used is named). */
  | 'FENRA_INVALID_CONFIG'
  /** The export queue overflowed: transactions are being dropped. */
  | 'FENRA_QUEUE_FULL'
  /** Delivery fails (network, timeout, TLS, 5xx): transactions wait and are retried. */
  | 'FENRA_DELIVERY_FAILING'
  /** Transactions were not delivered (said at shutdown or exit, with why). */
  | 'FENRA_TRANSACTIONS_LOST'
  /** LLM calls without a customer are billed as `unattributed`. */
  | 'FENRA_UNATTRIBUTED'
  /** Local mode (no key) cannot write its file: nothing is kept. */
  | 'FENRA_LOCAL_SINK_UNWRITABLE';

/** `warning.name` of our warnings. */
export const WARNING_NAME = 'FenraOtelWarning';

const REGISTRY = Symbol.for('@fenra/otel.once-per-process');

function registry(): Set<string> {
  const g = globalThis as Record<symbol, Set<string> | undefined>;
  let set = g[REGISTRY];
  if (set === undefined) {
    set = new Set();
    g[REGISTRY] = set;
  }
  return set;
}

/** True the first time `key` is seen in this process. */
export function firstInProcess(key: string): boolean {
  const set = registry();
  if (set.has(key)) return false;
  set.add(key);
  return true;
}

const DIAG_VISIBLE = Symbol.for('@fenra/otel.diag-prints-warnings');

/**
 * Says that OTel `diag` already prints warnings in this process (the register entry installs a
 * console logger), so the same messages are not printed twice as process warnings.
 */
export function markDiagVisible(): void {
  (globalThis as Record<symbol, unknown>)[DIAG_VISIBLE] = true;
}

/**
 * Emits a process warning once per process per `cause` (default: the code), unless `diag`
 * already prints warnings here. Never throws.
 */
export function warnProcessOnce(code: FenraWarningCode, message: string, cause: string = code): void {
  if ((globalThis as Record<symbol, unknown>)[DIAG_VISIBLE] === true) return;
  if (!firstInProcess(`warning:${cause}`)) return;
  try {
    if (typeof process !== 'undefined' && typeof process.emitWarning === 'function') {
      process.emitWarning(message, { type: WARNING_NAME, code });
    }
  } catch {
    // a throwing 'warning' machinery must not reach the application
  }
}

/** Forgets what was emitted (tests only). @internal */
export function resetOncePerProcess(): void {
  registry().clear();
}
