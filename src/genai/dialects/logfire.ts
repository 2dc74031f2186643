import type { SpanView } from '../../span/span-view.js';
import type { AttributeScan } from '../attribute-scan.js';
import { firstIn, hasIn, keyList, textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import {
  hasTokenCounts,
  mergeCounts,
  normaliseUsage,
  readGenericCounts,
  SEMCONV_INCLUSIVE,
} from '../usage.js';
import { countsFromJsonAttr } from '../provider-usage.js';
import type { Dialect } from './dialect.js';
import { classifySemconv } from './semconv.js';

const isTrue = (v: unknown): true | undefined => (v === true ? true : undefined);

const STREAMING = /"stream"\s*:\s*true/;

/**
 * Logfire's `request_data`: the whole request (messages included) as JSON. Only whether it
 * streamed is read, and only that is kept.
 */
const REQUEST_DATA = keyList(['request_data'], (v) =>
  typeof v === 'string' && STREAMING.test(v) ? '{"stream":true}' : '',
);

function isStreamingRequest(a: AttributeScan): boolean {
  if (firstIn(a, K.requestStream, isTrue)) return true;
  const req = textIn(a, REQUEST_DATA);
  return req !== undefined && STREAMING.test(req);
}

/**
 * Pydantic Logfire (and Pydantic AI through it). Non-streaming calls carry usage on the request
 * span; streaming calls carry it on a separate zero-duration log span
 * (`streaming response from ...`), so the streaming request span itself is not billed.
 * `operation.cost` (Pydantic AI's own price of the call) is carried as the reported cost, never
 * billed. Pydantic AI's agent-run spans state the run's usage as `gen_ai.aggregated_usage.*`
 * (not read) unless told to use `gen_ai.usage.*` (then an INTERNAL `invoke_agent`: an aggregate).
 * Its input counts include the cache (genai-prices' extraction), for every provider.
 */
export const logfire: Dialect = {
  id: 'logfire',
  claims: (span: SpanView, a: AttributeScan) =>
    hasIn(a, K.logfireMarkers) ||
    span.scope.name.startsWith('logfire') ||
    span.scope.name.startsWith('pydantic-ai'),
  classify(span, a) {
    if (span.name.startsWith('streaming response from') && hasTokenCounts(a)) {
      return { kind: 'call', operation: textIn(a, K.operationName) ?? 'chat' };
    }
    if (!hasTokenCounts(a) && isStreamingRequest(a)) {
      return {
        kind: 'skip',
        reason: 'aggregate',
        detail: 'streaming request: usage is on its response log span',
      };
    }
    return classifySemconv(span, a, textIn(a, K.operationName));
  },
  usage(_span, a) {
    return normaliseUsage(
      mergeCounts(readGenericCounts(a), countsFromJsonAttr(a, K.usageRaw)),
      SEMCONV_INCLUSIVE,
    );
  },
};
