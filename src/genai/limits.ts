/**
 * The bounds the core holds every call to, whatever the mode: what a span may say is checked
 * against these before anything is billed (see billable-check.ts).
 */

/** Longest model id billed (raw, as the span spelt it); a longer one makes the call invalid. */
export const MAX_MODEL_ID_LENGTH = 256;
/** Longest context value sent (customer id, provider spelling, allow-listed values…); longer ones are cut. */
export const MAX_CONTEXT_VALUE_LENGTH = 256;
/** Longest `fenra.context.*` name. */
export const MAX_CONTEXT_KEY_LENGTH = 128;
/**
 * Longest text an attribute filter keeps of an attribute it keeps: above every bound the core
 * checks, so filtering never changes a result, and a 15 MB value is never held.
 */
export const MAX_KEPT_TEXT_LENGTH = 1024;
/** Default ceiling on any token count of one call (`maxTokensPerCall`); the operator can raise it. */
export const DEFAULT_MAX_TOKENS_PER_CALL = 100_000_000;
/** Largest reported cost carried, USD per call; larger ones are not carried. */
export const MAX_REPORTED_COST_USD = 1_000_000;
