import type { AttributeFilter, AttributeRule } from '../span/attribute-filter.js';
import type { AttrValue } from '../span/span-view.js';
import { isIndexedKey, reductionOf } from './attribute-scan.js';
import type { ContextOptions } from './context.js';
import { attributionKeys, CONTEXT_PREFIX } from './context.js';
import { MARKERS } from './detect.js';
import { MAX_CONTEXT_KEY_LENGTH, MAX_KEPT_TEXT_LENGTH } from './limits.js';

/** What a kept attribute that is not a scalar becomes: present, and holding nothing. */
const NOT_SCALAR: AttrValue = Object.freeze([]) as AttrValue;

/**
 * The rule of every kept attribute without a reduction of its own: a scalar stays (text cut
 * to {@link MAX_KEPT_TEXT_LENGTH}, above every bound the core checks); an array, an object or
 * bytes become an empty array, which no reader takes for a value (none reads arrays) but which
 * is still there (markers are read by presence).
 */
export const keepScalar: AttributeRule = (v) => {
  if (typeof v === 'string') return v.length <= MAX_KEPT_TEXT_LENGTH ? v : v.slice(0, MAX_KEPT_TEXT_LENGTH);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  return NOT_SCALAR;
};

/**
 * THE allow-list: the span and resource attributes conversion can read under a configuration,
 * and what is kept of each. Every key of the converter's key lists, the attribution keys
 * (customer, environment, user, session, feature, the allow-list), `fenra.context.*`, and
 * `service.name`; attributes holding content beside what is read (Logfire's `request_data` and
 * `logfire.msg`, the AI SDK's `ai.response.providerMetadata`, JSON usage objects) are reduced
 * to what is read. A span adapter given this filter keeps nothing else (prompts, completions,
 * command lines, secrets are never held, spooled or logged), and conversion gives the same
 * result as on the whole span (test/genai/billing-keys.test.ts checks every recorded trace).
 */
export function billingAttributeFilter(options: ContextOptions = {}): AttributeFilter {
  const extra = new Set<string>([...attributionKeys(options), ...MARKERS, 'service.name']);
  const memo = new Map<string, AttributeRule | null>();
  return (key) => {
    let rule = memo.get(key);
    if (rule === undefined) {
      rule =
        reductionOf(key) ?? (isIndexedKey(key) || extra.has(key) || isContextKey(key) ? keepScalar : null);
      // Keys repeat from span to span; bounded for senders that invent keys.
      if (memo.size < 10_000) memo.set(key, rule);
    }
    return rule ?? undefined;
  };
}

/** A `fenra.context.*` key attribution can read (its name not too long). */
const isContextKey = (key: string): boolean =>
  key.startsWith(CONTEXT_PREFIX) && key.length <= CONTEXT_PREFIX.length + MAX_CONTEXT_KEY_LENGTH;
