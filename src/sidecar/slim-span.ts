import type { Attributes, SpanView } from '../span/span-view.js';

/**
 * What the sidecar holds and spools is only what billing reads. Prompt and completion content
 * (often most of a GenAI span's bytes, and the part that must not linger on disk) is dropped
 * from held spans by a deny-list of the content attributes the instrumentations emit, and span
 * events (where the semantic conventions put message content) are dropped: no part of the
 * converter reads either.
 */
const CONTENT_KEYS: ReadonlySet<string> = new Set([
  'gen_ai.input.messages',
  'gen_ai.output.messages',
  'gen_ai.system_instructions',
  'gen_ai.tool.definitions',
  'gen_ai.tool.call.arguments',
  'gen_ai.tool.call.result',
  'input.value',
  'output.value',
  'ai.prompt',
  'ai.prompt.messages',
  'ai.prompt.tools',
  'ai.prompt.toolChoice',
  'ai.response.text',
  'ai.response.reasoning',
  'ai.response.toolCalls',
  'ai.response.object',
  'ai.value',
  'ai.values',
  'ai.embedding',
  'ai.embeddings',
  'traceloop.entity.input',
  'traceloop.entity.output',
  'langfuse.observation.input',
  'langfuse.observation.output',
  'langfuse.trace.input',
  'langfuse.trace.output',
  'all_messages_events',
  'pydantic_ai.all_messages',
]);

const CONTENT_PREFIXES: readonly string[] = [
  'gen_ai.prompt.',
  'gen_ai.completion.',
  'llm.input_messages.',
  'llm.output_messages.',
  'llm.prompts.',
  'llm.completions.',
  'embedding.embeddings.',
  'retrieval.documents.',
];

/** Attribute keys repeat from span to span: remember the answer (bounded). */
const seen = new Map<string, boolean>();

function isContent(key: string): boolean {
  const known = seen.get(key);
  if (known !== undefined) return known;
  let content = CONTENT_KEYS.has(key);
  for (let i = 0; !content && i < CONTENT_PREFIXES.length; i++)
    content = key.startsWith(CONTENT_PREFIXES[i]!);
  if (seen.size < 10_000) seen.set(key, content);
  return content;
}

const NO_EVENTS: SpanView['events'] = Object.freeze([]);

/** The span without content attributes and events; the same object when there is nothing to drop. */
export function slimSpan(span: SpanView): SpanView {
  let attributes: Record<string, Attributes[string]> | undefined;
  for (const key in span.attributes) {
    if (!isContent(key)) continue;
    attributes ??= { ...span.attributes };
    delete attributes[key];
  }
  if (attributes === undefined && span.events.length === 0) return span;
  return { ...span, attributes: attributes ?? span.attributes, events: NO_EVENTS };
}
