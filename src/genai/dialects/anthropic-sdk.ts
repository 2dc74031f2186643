import { textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

/**
 * The Anthropic TypeScript SDK's own tracing (scope `com.anthropic.sdk.typescript`): semconv
 * attributes with input INCLUDING cache, the new `cache_write` spelling and the 5m/1h split.
 */
export const anthropicSdk: Dialect = {
  id: 'anthropic-sdk',
  claims: (span) => span.scope.name.startsWith('com.anthropic'),
  classify: (span, a) => classifySemconv(span, a, textIn(a, K.operationName)),
  usage: (_span, a) => normaliseUsage(readGenericCounts(a), SEMCONV_INCLUSIVE),
};
