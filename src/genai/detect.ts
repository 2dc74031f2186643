import type { Attributes, SpanView } from '../span/span-view.js';
import type { AttributeScan } from './attribute-scan.js';
import { hasIn, scanAttributes, textIn } from './attribute-scan.js';
import { K } from './keys.js';
import { StatusCode } from '../span/span-view.js';
import { adotOpenAiAgents } from './dialects/adot-openai-agents.js';
import { agentFramework } from './dialects/agent-framework.js';
import { anthropicSdk } from './dialects/anthropic-sdk.js';
import { googleAdk } from './dialects/google-adk.js';
import type { Dialect } from './dialects/dialect.js';
import { langfuse } from './dialects/langfuse.js';
import { langsmith } from './dialects/langsmith.js';
import { logfire } from './dialects/logfire.js';
import { openinference } from './dialects/openinference.js';
import { openlit } from './dialects/openlit.js';
import { openllmetry } from './dialects/openllmetry.js';
import { semconv } from './dialects/semconv.js';
import { strands } from './dialects/strands.js';
import { vercelAi } from './dialects/vercel-ai.js';
import { markKnownCacheGap } from './cache-split.js';
import { chooseModel, readModelIds, readRegion, stripGatewayVendor } from './model.js';
import { resolveProvider } from './provider.js';
import type { ModelCall, SkippedSpan, Usage } from './types.js';

/** Most specific first; semconv claims everything that is left. */
const DIALECTS: readonly Dialect[] = [
  vercelAi,
  langfuse,
  langsmith,
  adotOpenAiAgents,
  googleAdk,
  agentFramework,
  strands,
  openinference,
  anthropicSdk,
  openlit,
  logfire,
  openllmetry,
  semconv,
];

/**
 * Attributes of which at least one is on every span a dialect can read as a model call.
 * Most spans in an application (HTTP, DB) leave after a walk of their keys' first letters.
 */
export const MARKERS = [
  'gen_ai.operation.name',
  'gen_ai.system',
  'gen_ai.provider.name',
  'gen_ai.request.model',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'ai.operationId',
  'openinference.span.kind',
  'llm.request.type',
  'llm.token_count.prompt',
  'langfuse.observation.type',
  'traceloop.span.kind',
] as const;

/** 1 at the char code of each first letter of `MARKERS` (ASCII). */
const MARKER_INITIALS = ((): Uint8Array => {
  const t = new Uint8Array(128);
  for (const m of MARKERS) t[m.charCodeAt(0)] = 1;
  return t;
})();

/**
 * Whether any of `MARKERS` is set. Most spans of an application are not GenAI: their keys are
 * walked once, reading one character each, and the names are only looked up when a key could
 * be one of them by its first letter (HTTP, DB and messaging keys never can); twelve absent
 * names were twelve hash probes on every span. test/genai/markers.test.ts checks the answer
 * against a lookup of every marker.
 */
export function hasGenAiMarker(a: Attributes): boolean {
  // No name is looked up first: on the spans that are not GenAI (most of them) each absent name
  // costs as much as the walk of a few keys. A GenAI span stops the walk at its first key with
  // a marker's initial, usually among its first few.
  for (const key in a) if (MARKER_INITIALS[key.charCodeAt(0) & 127] === 1) return hasMarkerKey(a);
  return false;
}

/** The lookup, key by key (same keys, same order as `MARKERS`: each its own inline cache). */
function hasMarkerKey(a: Attributes): boolean {
  return (
    a['gen_ai.operation.name'] !== undefined ||
    a['gen_ai.system'] !== undefined ||
    a['gen_ai.provider.name'] !== undefined ||
    a['gen_ai.request.model'] !== undefined ||
    a['gen_ai.usage.input_tokens'] !== undefined ||
    a['gen_ai.usage.prompt_tokens'] !== undefined ||
    a['ai.operationId'] !== undefined ||
    a['openinference.span.kind'] !== undefined ||
    a['llm.request.type'] !== undefined ||
    a['llm.token_count.prompt'] !== undefined ||
    a['langfuse.observation.type'] !== undefined ||
    a['traceloop.span.kind'] !== undefined
  );
}

export function mayBeGenAi(span: SpanView): boolean {
  return hasGenAiMarker(span.attributes);
}

export interface DetectOptions {
  azureDeployments?: Readonly<Record<string, string>>;
}

/**
 * A model call, or why the span is not billed. An aggregate (a span repeating the usage of the
 * calls below it) carries that usage, read the same way, for the trace-level rules
 * (split-from-aggregate.ts); it is never billed.
 */
export type Detection = { call: ModelCall } | { skipped: SkippedSpan; aggregateUsage?: Usage };

function skip(span: SpanView, reason: SkippedSpan['reason'], detail: string): { skipped: SkippedSpan } {
  return { skipped: { traceId: span.traceId, spanId: span.spanId, name: span.name, reason, detail } };
}

/** Service tier, which changes the price (batch, flex, priority). */
function readTier(a: AttributeScan): string | undefined {
  const t = textIn(a, K.serviceTier);
  if (t === undefined) return undefined;
  const v = t.toLowerCase();
  // `default`/`auto`/`standard`/`scale` are the standard price.
  return v === 'batch' || v === 'flex' || v === 'priority' ? v : undefined;
}

/** Model families whose Bedrock InvokeModel usage the instrumentations estimate. */
const ESTIMATED_INVOKE_MODEL = /^(?:[a-z]{2,4}(?:-gov)?\.|global\.)?(?:cohere\.command|mistral\.)/;

/**
 * Bedrock `InvokeModel` of Cohere Command and Mistral models: the response carries no token
 * counts, so the OTel AWS SDK instrumentations (JS and Python) estimate them from the text length
 * (characters / 6). Billed, but marked as estimated.
 */
function isEstimatedInvokeModel(span: SpanView, a: AttributeScan, model: string): boolean {
  const method = textIn(a, K.rpcMethod) ?? span.name;
  return method.includes('InvokeModel') && ESTIMATED_INVOKE_MODEL.test(model.toLowerCase());
}

/**
 * Detection and extraction for one span: is it a billable model call, and if so its
 * provider, model, usage and tier. Pure; never throws on odd attribute values.
 */
export function detectModelCall(span: SpanView, options: DetectOptions = {}): Detection {
  if (!mayBeGenAi(span)) return skip(span, 'not_genai', 'no GenAI attributes');
  const a = scanAttributes(span.attributes);
  let dialect: Dialect = semconv;
  for (const d of DIALECTS) {
    if (d.claims(span, a)) {
      dialect = d;
      break;
    }
  }
  const c = dialect.classify(span, a);
  if (c.kind === 'skip') {
    const skipped = skip(span, c.reason, c.detail);
    if (c.reason !== 'aggregate') return skipped;
    const ids = readModelIds(a);
    const usage = dialect.usage(span, a, resolveProvider(a, ids.response ?? ids.request));
    return usage === undefined ? skipped : { ...skipped, aggregateUsage: usage };
  }

  const ids = readModelIds(a);
  const provider = resolveProvider(a, ids.response ?? ids.request);
  let model = chooseModel(ids, provider.canonical, options.azureDeployments);
  const rawProvider = provider.raw?.toLowerCase();
  if (
    model !== undefined &&
    (rawProvider === 'openrouter' || rawProvider === 'gateway' || rawProvider === 'litellm')
  ) {
    model = stripGatewayVendor(model);
  }
  const usage = dialect.usage(span, a, provider);
  if (usage !== undefined && a.unreadable !== undefined) usage.unreadable = a.unreadable;
  if (usage === undefined) {
    if (span.status.code === StatusCode.ERROR || hasIn(a, K.errorType)) {
      return skip(span, 'failed_no_usage', 'the call failed and reported no usage');
    }
    return skip(
      span,
      'missing_usage',
      'model call without usage (streaming without stream_options.include_usage?)',
    );
  }
  if (model === undefined) return skip(span, 'missing_model', 'model call with usage but no model id');
  if (provider.fenra === 'bedrock' && isEstimatedInvokeModel(span, a, model)) usage.estimated = true;
  markKnownCacheGap(span, provider, c.operation, usage);
  return {
    call: {
      span,
      dialect: dialect.id,
      operation: c.operation,
      provider,
      model,
      requestModel: ids.request,
      responseModel: ids.response,
      modelTier: readTier(a),
      usage,
      responseId: textIn(a, K.responseId),
      region: readRegion(a, span.resource, ids.response ?? ids.request),
    },
  };
}
