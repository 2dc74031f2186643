import { displayUrl } from './display-url.js';
/**
 * One wording per condition the user must hear about (no key, key refused, endpoint refused,
 * Fenra unreachable, queue full, transactions lost, first delivery, calls without a customer),
 * the same in every mode, naming only the settings of the mode in use (the names come from the
 * configuration layer: a code option only to a library user, a flag only to the sidecar, a
 * variable to everyone).
 */

/** Who is running: setup 1 (the library in the app's own SDK), setup 2 (the register entry), the sidecar, `convert --send`. */
export type Mode = 'library' | 'register' | 'serve' | 'convert';

/**
 * How the running mode names the settings a message points at (the configuration layer's
 * `settingName()`: `FENRA_API_KEY (or the apiKey option)` in code, `FENRA_API_KEY` zero-code,
 * `--api-key-file or FENRA_API_KEY` for `serve`).
 */
export interface SettingNames {
  apiKey: string;
  endpoint: string;
  maxQueueSize: string;
  billableCustomerId: string;
  customerIdKeys: string;
}

/** Where undelivered transactions wait, by mode. */
export function keptText(mode: Mode, maxQueueSize: number, spooled = false): string {
  if (spooled) return 'kept in the spool';
  return mode === 'convert' ? 'held' : `kept in memory (up to ${maxQueueSize})`;
}

export const CONDITIONS = {
  /** No API key, in process and nothing else to deliver to. */
  noApiKey: (n: Pick<SettingNames, 'apiKey'>, otlpExportTo?: string): string =>
    `No Fenra API key: set ${n.apiKey}. Until then LLM calls are not billed by this process` +
    (otlpExportTo === undefined
      ? ''
      : ` (spans are still exported over OTLP to ${otlpExportTo}: a fenra-otel sidecar there bills them with its own key)`) +
    '; the application is not affected.',

  /** No API key in process: the local sink gets what would be billed (setup 1 and 2). */
  localMode: (n: Pick<SettingNames, 'apiKey'>, file: string): string =>
    `No Fenra API key: LOCAL MODE. What would be billed is written to ${file}; see it with ` +
    "'npx fenra-otel report' (totals) or 'npx fenra-otel serve' (the inspector, at http://127.0.0.1:4318/). " +
    `Set ${n.apiKey} to send it to Fenra instead; the application is not affected.`,

  /** The local sink cannot be written (a read-only file system): once, then nothing is kept. */
  localSinkUnwritable: (file: string, code: string): string =>
    `local mode: ${file} cannot be written (${code}), so what would be billed is not kept ` +
    '(set FENRA_DATA_DIR to a writable directory, or FENRA_API_KEY to send to Fenra); the application is not affected.',

  /** Fenra answered 401/403. */
  keyRefused: (
    n: Pick<SettingNames, 'apiKey'>,
    status: number,
    message: string,
    kept: string,
    probeSeconds: number,
  ): string =>
    `Fenra rejected the API key (HTTP ${status}: ${message}). Sending is paused; transactions are ${kept} meanwhile ` +
    `(newer ones beyond that are dropped and counted), and one request probes Fenra every ${probeSeconds} s. ` +
    `The key is read once, at startup: if the key itself is wrong, fix ${n.apiKey} and restart; ` +
    'if the key is re-enabled in Fenra, sending resumes by itself at the next probe.',

  /** The endpoint answered 404/405/410 or a redirect. */
  endpointRefused: (
    n: Pick<SettingNames, 'endpoint'>,
    endpoint: string,
    status: number,
    message: string,
    kept: string,
    probeSeconds: number,
  ): string =>
    `Fenra endpoint ${displayUrl(endpoint)} answered HTTP ${status} (${message}): it is not Fenra's usage-transactions URL. ` +
    `Sending is paused; transactions are ${kept} meanwhile, and one request probes it every ${probeSeconds} s. ` +
    `The endpoint is read once, at startup: fix ${n.endpoint} and restart.`,

  /** Fenra refused every part of a batch: the fault looks like Fenra's. */
  rejectingAll: (status: number, message: string, maxQueueSize: number, firstProbeSeconds: number): string =>
    `Fenra refused every part of a batch (HTTP ${status}: ${message}) and accepted nothing meanwhile: the fault looks like Fenra's. ` +
    `Sending is paused and nothing is discarded; up to ${maxQueueSize} transactions are kept meanwhile, and one request ` +
    `probes Fenra with other transactions, first after ${firstProbeSeconds} s, then less often. Sending resumes by itself ` +
    `when Fenra accepts again; a transaction it still refuses alone after accepting others is then failed for good.`,

  /** A request failed in a way worth retrying (network, timeout, 5xx, 429): said once per cause. */
  deliveryFailing: (destination: string, why: string, atRisk: number, kept: string): string =>
    `Cannot deliver to ${destination}: ${why}. ${atRisk} transaction(s) at risk, ${kept} and retried; ` +
    'they are lost if the process ends before delivery succeeds.',

  /** Delivery works again after a reported problem. */
  deliveryRecovered: (destination: string, accepted: number): string =>
    `Delivery to ${destination} works again (${accepted} transaction(s) accepted).`,

  /** The queue overflowed. */
  queueFull: (
    n: Pick<SettingNames, 'maxQueueSize'>,
    dropped: number,
    maxQueueSize: number,
    destination = 'Fenra',
  ): string =>
    `Dropped ${dropped} transaction(s): the queue is full at ${maxQueueSize} transactions, the bound set by ` +
    `${n.maxQueueSize}; delivery to ${destination} is slow, unreachable or refused.`,

  /** The first batch was accepted: billing works. */
  firstAccepted: (destination: string, accepted: number): string =>
    `Billing works: ${destination} accepted the first ${accepted} transaction(s). Nothing more is logged while it keeps working.`,

  /** Calls billed to `unattributed` (no customer found), once: the fix for the mode in use. */
  unattributed: (
    mode: Mode,
    n: Pick<SettingNames, 'billableCustomerId' | 'customerIdKeys'>,
    count: number,
  ): string =>
    `${count} LLM call(s) had no customer and are billed as "unattributed". ` +
    (mode === 'library' || mode === 'register'
      ? "Wrap the calls in withFenraContext({ billableCustomerId }, fn) (import { withFenraContext } from '@fenra/otel'), " +
        `set fenra.billable_customer_id on the request span, or set a default with ${n.billableCustomerId}.`
      : `Set a customer attribute (fenra.billable_customer_id) on the request's root span in the app, name your own ` +
        `attribute with ${n.customerIdKeys}, or set a default with ${n.billableCustomerId}.`),

  /** How a one-time warning about skipped calls ends: where the count can be seen, by mode. */
  furtherCounted: (mode: Mode): string =>
    mode === 'library'
      ? 'further ones are only counted (see stats())'
      : mode === 'register'
        ? 'further ones are only counted'
        : 'further ones are only counted (see /metrics)',
} as const;
