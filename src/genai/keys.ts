import { keyList } from './attribute-scan.js';
import { countsOnly, presenceOnly } from './reduce-json.js';
import { PROVIDER_USAGE_SHAPE } from './provider-usage.js';

/**
 * The single-purpose attribute keys the converter reads (besides the usage families in
 * usage.ts, the model ids in model.ts and the provider keys in provider.ts), registered as key
 * lists for attribute scans.
 */
export const K = {
  operationName: keyList(['gen_ai.operation.name']),
  providerName: keyList(['gen_ai.provider.name']),
  system: keyList(['gen_ai.system']),
  /** `gen_ai.provider.name`, else `gen_ai.system`. */
  providerOrSystem: keyList(['gen_ai.provider.name', 'gen_ai.system']),
  semconvModel: keyList(['gen_ai.request.model', 'gen_ai.response.model']),
  responseId: keyList(['gen_ai.response.id']),
  errorType: keyList(['error.type']),
  rpcMethod: keyList(['rpc.method']),
  /** Service tier, which changes the price (batch, flex, priority): response first. */
  serviceTier: keyList([
    'openai.response.service_tier',
    'gen_ai.openai.response.service_tier',
    'openai.request.service_tier',
    'gen_ai.openai.request.service_tier',
    'gen_ai.request.service_tier',
  ]),
  region: keyList(['cloud.region', 'aws.region']),
  // Vercel AI SDK
  aiOperationId: keyList(['ai.operationId']),
  aiModelProvider: keyList(['ai.model.provider']),
  aiUserAgent: keyList(['ai.request.headers.user-agent']),
  // Langfuse
  langfuseType: keyList(['langfuse.observation.type']),
  // OpenInference
  openinferenceKind: keyList(['openinference.span.kind']),
  llmSystem: keyList(['llm.system']),
  openinferenceCounts: keyList(['llm.token_count.prompt', 'llm.token_count.total']),
  // OpenLIT
  telemetrySdkName: keyList(['telemetry.sdk.name']),
  // Logfire
  /** Markers only: `logfire.msg` is the span's message, with the prompt in it. */
  logfireMarkers: keyList(['logfire.msg', 'logfire.span_type'], presenceOnly),
  requestStream: keyList(['gen_ai.request.stream']),
  /** The provider's raw usage object (JSON): only its counts are kept. */
  usageRaw: keyList(['gen_ai.usage.raw'], countsOnly(PROVIDER_USAGE_SHAPE)),
  // OpenLLMetry / Traceloop
  llmRequestType: keyList(['llm.request.type']),
  traceloopSpanKind: keyList(['traceloop.span.kind']),
  /** OpenLLMetry's own markers (with its scopes). */
  traceloopMarkers: keyList(['llm.request.type', 'traceloop.span.kind']),
  serverAddress: keyList(['server.address']),
} as const;
