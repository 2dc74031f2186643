import type { KeepAttribute } from '../span/otlp-common.js';
import { isIndexedKey } from './attribute-scan.js';
import type { ContextOptions } from './context.js';
import { attributionKeys, CONTEXT_PREFIX } from './context.js';
import { MARKERS } from './detect.js';

/**
 * The span attributes conversion can read under a configuration: every key of the converter's
 * key lists, the attribution keys (customer, environment, user, session, feature, the
 * allow-list), `fenra.context.*`, and `service.name`. A decoder given this filter keeps nothing
 * else (prompts, completions and other content are never held), and conversion gives the same
 * result as on the whole span (test/genai/billing-keys.test.ts checks every recorded trace).
 */
export function billingAttributeFilter(options: ContextOptions = {}): KeepAttribute {
  const extra = new Set<string>([...attributionKeys(options), ...MARKERS, 'service.name']);
  const memo = new Map<string, boolean>();
  return (key) => {
    let keep = memo.get(key);
    if (keep === undefined) {
      keep = isIndexedKey(key) || extra.has(key) || key.startsWith(CONTEXT_PREFIX);
      // Keys repeat from span to span; bounded for senders that invent keys.
      if (memo.size < 10_000) memo.set(key, keep);
    }
    return keep;
  };
}
