import { textIn } from '../attribute-scan.js';
import { K } from '../keys.js';
import { hasTokenCounts, normaliseUsage, readGenericCounts, SEMCONV_INCLUSIVE } from '../usage.js';
import type { Dialect } from './dialect.js';
import { NOT_GENAI } from './dialect.js';
import { classifySemconv } from './semconv.js';

/** Scope of ADOT's bridge from the OpenAI Agents SDK's trace processor to OTel spans. */
export const ADOT_OPENAI_AGENTS_SCOPE = '@aws/aws-distro-opentelemetry-instrumentation-openai-agents';

/**
 * The OpenAI Agents SDK (JS) traced through AWS's ADOT bridge
 * (`@aws/aws-distro-opentelemetry-node-autoinstrumentation`, recorded with 0.13.0). It puts
 * `gen_ai.provider.name` on every span and usage on three levels: the `chat` span of each model
 * call, a `turn` span above it repeating that call's usage (with the cache split the chat span
 * lacks), and the `invoke_workflow` span with the run's total. Only `chat` spans are model
 * calls; spans without an operation (turn, handoff, guardrail) are aggregates when they carry
 * usage.
 */
export const adotOpenAiAgents: Dialect = {
  id: 'adot-openai-agents',
  claims: (span) => span.scope.name === ADOT_OPENAI_AGENTS_SCOPE,
  classify(span, a) {
    const op = textIn(a, K.operationName);
    if (op !== undefined) return classifySemconv(span, a, op);
    return hasTokenCounts(a)
      ? { kind: 'skip', reason: 'aggregate', detail: `'${span.name}' repeats the usage of its model call` }
      : NOT_GENAI;
  },
  usage: (_span, a) => normaliseUsage(readGenericCounts(a), SEMCONV_INCLUSIVE),
};
