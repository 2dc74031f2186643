import { attrString } from '../../span/attributes.js';
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
  classify: (span) => classifySemconv(span, attrString(span.attributes, 'gen_ai.operation.name')),
  usage: (span) => normaliseUsage(readGenericCounts(span.attributes), SEMCONV_INCLUSIVE),
};
