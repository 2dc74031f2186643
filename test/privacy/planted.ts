import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import { spansFromOtlpJson } from '../../src/span/from-otlp-json.js';
import type { AttrValue } from '../../src/span/span-view.js';
import { recordedFixtures } from '../sidecar/otlp-replay.js';

/**
 * The privacy test's input: every recorded fixture with markers planted where content and
 * secrets live in real traces (prompts, completions, tool arguments, authorization headers,
 * command lines, an `api_key` resource attribute, status messages, event content), plus traces
 * whose billing attributes hold content beside their numbers (Logfire's `request_data` and
 * `logfire.msg`, the AI SDK's `ai.response.providerMetadata`, a JSON usage object).
 */
export const MARK = 'PRIVACY-MARKER';

type J = Record<string, unknown>;
type KV = { key: string; value: J };

const str = (stringValue: string): J => ({ stringValue });
const kv = (key: string, value: string | string[]): KV => ({
  key,
  value: Array.isArray(value) ? { arrayValue: { values: value.map(str) } } : str(value),
});

/** Span attributes that hold content in real traces (none is read by billing). */
function contentAttributes(m: (what: string) => string): KV[] {
  return [
    kv('gen_ai.prompt.0.content', m('prompt')),
    kv('gen_ai.completion.0.content', m('completion')),
    kv('gen_ai.input.messages', JSON.stringify([{ role: 'user', parts: [{ content: m('input-msg') }] }])),
    kv(
      'gen_ai.output.messages',
      JSON.stringify([{ role: 'assistant', parts: [{ content: m('output-msg') }] }]),
    ),
    kv('gen_ai.system_instructions', m('system')),
    kv('gen_ai.tool.call.arguments', JSON.stringify({ query: m('tool-args') })),
    kv('gen_ai.tool.call.result', m('tool-result')),
    kv('ai.prompt.messages', m('ai-prompt')),
    kv('ai.response.text', m('ai-response')),
    kv('ai.toolCall.args', m('ai-tool-args')),
    kv('input.value', m('oi-input')),
    kv('output.value', m('oi-output')),
    kv('llm.input_messages.0.message.content', m('oi-message')),
    kv('traceloop.entity.input', m('traceloop-input')),
    kv('http.request.header.authorization', [`Bearer ${m('authorization')}`]),
    kv('http.request.header.x-api-key', [m('x-api-key')]),
    kv('url.full', `https://api.example.com/v1/chat?key=${m('url-key')}`),
  ];
}

/** Resource attributes that hold secrets in real processes. */
function secretResource(m: (what: string) => string): KV[] {
  return [
    kv('process.command_line', `node app.js --api-key=${m('command-line')}`),
    kv('process.command_args', ['node', 'app.js', '--token', m('command-args')]),
    kv('process.executable.path', `/opt/${m('exe-path')}/node`),
    kv('api_key', m('resource-api-key')),
    kv('host.name', m('host-name')),
  ];
}

/** A copy of one OTLP/JSON request with the markers planted. */
function plant(json: unknown, name: string): J {
  const copy = JSON.parse(JSON.stringify(json)) as J;
  const m = (what: string): string => `${MARK}-${name}-${what}`;
  for (const rs of (copy['resourceSpans'] as J[]) ?? []) {
    const resource = ((rs['resource'] as J | undefined) ?? (rs['resource'] = {})) as J;
    resource['attributes'] = [...((resource['attributes'] as KV[]) ?? []), ...secretResource(m)];
    for (const ss of (rs['scopeSpans'] as J[]) ?? []) {
      for (const s of (ss['spans'] as J[]) ?? []) {
        s['attributes'] = [...((s['attributes'] as KV[]) ?? []), ...contentAttributes(m)];
        const status = ((s['status'] as J | undefined) ?? {}) as J;
        s['status'] = { ...status, message: m('status-message') };
        s['events'] = [
          ...((s['events'] as J[]) ?? []),
          {
            name: 'gen_ai.user.message',
            timeUnixNano: s['startTimeUnixNano'],
            attributes: [kv('content', m('event-content')), kv('exception.message', m('exception'))],
          },
        ];
      }
    }
  }
  return copy;
}

let seq = 0;
const id = (n: number, len: number): string => n.toString(16).padStart(len, '0');

/** One span request (its own trace) with the given attributes. */
function oneSpan(name: string, attributes: KV[], resource: KV[] = []): J {
  seq++;
  return {
    resourceSpans: [
      {
        resource: { attributes: [kv('service.name', 'planted'), ...resource] },
        scopeSpans: [
          {
            scope: { name: 'planted' },
            spans: [
              {
                traceId: id(0xfeed0000 + seq, 32),
                spanId: id(0xbeef0000 + seq, 16),
                name,
                kind: 3,
                startTimeUnixNano: '1751328000000000000',
                endTimeUnixNano: '1751328001000000000',
                status: { code: 1, message: `${MARK}-${name}-status` },
                attributes,
              },
            ],
          },
        ],
      },
    ],
  };
}

const int = (key: string, n: number): KV => ({ key, value: { intValue: String(n) } });

/** Traces whose billing attributes hold content beside what is read. */
function contentInBillingAttributes(): { name: string; json: J }[] {
  const m = (trace: string, what: string): string => `${MARK}-${trace}-${what}`;
  return [
    {
      name: 'planted-logfire',
      json: oneSpan('Chat Completion with {request_data[model]!r}', [
        kv('logfire.span_type', 'span'),
        kv('logfire.msg', `Chat Completion with ${m('logfire', 'msg')}`),
        kv('gen_ai.system', 'openai'),
        kv('gen_ai.request.model', 'gpt-4o'),
        kv(
          'request_data',
          JSON.stringify({
            model: 'gpt-4o',
            messages: [{ role: 'user', content: m('logfire', 'request-data') }],
            stream: false,
          }),
        ),
        kv(
          'gen_ai.usage.raw',
          JSON.stringify({ prompt_tokens: 11, completion_tokens: 4, note: m('logfire', 'usage-raw') }),
        ),
        int('gen_ai.usage.input_tokens', 11),
        int('gen_ai.usage.output_tokens', 4),
        kv('fenra.billable_customer_id', 'cust-logfire'),
      ]),
    },
    {
      name: 'planted-vercel',
      json: oneSpan('ai.generateText.doGenerate', [
        kv('ai.operationId', 'ai.generateText.doGenerate'),
        kv('ai.model.provider', 'google.generative-ai'),
        kv('ai.model.id', 'gemini-2.5-flash'),
        int('ai.usage.inputTokens', 20),
        int('ai.usage.outputTokens', 7),
        kv('ai.prompt', m('vercel', 'prompt')),
        kv(
          'ai.response.providerMetadata',
          JSON.stringify({
            google: {
              usageMetadata: { promptTokenCount: 20, candidatesTokenCount: 5, thoughtsTokenCount: 2 },
              groundingMetadata: { webSearchQueries: [m('vercel', 'grounding')] },
            },
            openai: { logprobs: [{ token: m('vercel', 'logprobs') }] },
          }),
        ),
        kv('ai.telemetry.metadata.customerId', 'cust-vercel'),
      ]),
    },
    {
      name: 'planted-langfuse',
      json: oneSpan('generation', [
        kv('langfuse.observation.type', 'generation'),
        kv('gen_ai.request.model', 'gpt-4o-mini'),
        kv(
          'langfuse.observation.usage_details',
          JSON.stringify({
            input: 30,
            output: 6,
            [m('langfuse', 'key')]: 1,
            comment: m('langfuse', 'value'),
          }),
        ),
        kv('langfuse.observation.input', m('langfuse', 'input')),
        kv('user.id', 'cust-langfuse'),
      ]),
    },
  ];
}

/** Every recorded fixture with markers planted, and the planted traces: OTLP/JSON requests. */
export function plantedRequests(): { name: string; json: J }[] {
  return [
    ...recordedFixtures().map((f) => ({ name: f.name, json: plant(f.json, f.name) })),
    ...contentInBillingAttributes(),
  ];
}

/**
 * Text that must appear in no sink: every planted marker, and every string value the allow-list
 * drops from the inputs (prompts and completions the recorded traces really hold, events, status
 * messages) unless it also occurs in what is kept (a model id in a URL, say), besides `secrets`.
 */
export function forbiddenStrings(requests: readonly { json: J }[], secrets: readonly string[]): string[] {
  const filter = billingAttributeFilter();
  const dropped = new Set<string>();
  const kept: string[] = [];
  const collect = (v: AttrValue | undefined, into: (s: string) => void): void => {
    if (typeof v === 'string') into(v);
    else if (Array.isArray(v)) for (const x of v as AttrValue[]) collect(x, into);
    else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array))
      for (const x of Object.values(v)) collect(x, into);
  };
  for (const { json } of requests) {
    const full = spansFromOtlpJson(json).spans;
    const slim = spansFromOtlpJson(json, filter).spans;
    for (const s of slim) {
      for (const v of [...Object.values(s.attributes), ...Object.values(s.resource)])
        collect(v, (x) => kept.push(x));
      kept.push(s.name, s.scope.name, s.scope.version ?? '');
    }
    for (const s of full) {
      for (const layer of [s.attributes, s.resource]) {
        for (const [k, v] of Object.entries(layer))
          if (filter(k) === undefined) collect(v, (x) => dropped.add(x));
      }
      if (s.status.message !== undefined) dropped.add(s.status.message);
      for (const e of s.events)
        for (const v of Object.values(e.attributes)) collect(v, (x) => dropped.add(x));
    }
  }
  const keptText = kept.join('\n');
  // Text (words, or long values), not the timestamps and media types instrumentations also record.
  const distinctive = [...dropped].filter(
    (s) =>
      (s.trim().includes(' ') ? s.trim().length >= 12 : s.length >= 24) &&
      !/^\d{4}-\d\d-\d\dT[\d:.]+Z?$/.test(s) &&
      !keptText.includes(s),
  );
  return [...new Set([...distinctive, ...secrets])];
}

/** The forbidden strings found in `text` (a sink's whole content). */
export function leaksIn(text: string, forbidden: readonly string[]): string[] {
  const found = forbidden.filter((f) => text.includes(f) || text.includes(JSON.stringify(f).slice(1, -1)));
  // A marker cut short (a value truncated, not dropped) leaks too.
  for (const m of text.matchAll(new RegExp(`${MARK}[-\\w]*`, 'g'))) found.push(m[0]);
  return [...new Set(found)];
}
