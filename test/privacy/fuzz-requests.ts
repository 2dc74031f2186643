import fc from 'fast-check';
import { billingAttributeFilter } from '../../src/genai/billing-keys.js';
import { ExportTraceServiceRequest } from '../../src/span/otlp-proto-schema.js';

/**
 * Random OTLP export requests for the fuzz test: OTLP/JSON objects (with the odd shapes senders
 * write: int64 as strings, non-finite doubles as strings, empty and malformed values) and the
 * same request as OTLP/protobuf. Every string an attribute outside the allow-list holds (and
 * every status message and event) carries {@link SECRET}, so any of it reaching a sink shows.
 */
export const SECRET = 'FUZZ-SECRET';

type J = Record<string, unknown>;
const filter = billingAttributeFilter();
const isKept = (key: string): boolean => filter(key) !== undefined;

const secretText = fc.string({ maxLength: 10 }).map((s) => `${SECRET}<${s}>`);
const anyText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 250, maxLength: 1100 }) },
);

/** A count as senders write it, valid or not. */
const countValue = fc.oneof(
  fc.nat({ max: 5_000 }).map((n): J => ({ intValue: n })),
  fc.nat({ max: 5_000 }).map((n): J => ({ intValue: String(n) })),
  fc
    .constantFrom<unknown>(
      -1,
      -5,
      1.5,
      2 ** 53,
      2 ** 63,
      1e308,
      '12abc',
      '1e400',
      '9223372036854775807',
      ' 7 ',
    )
    .map((v): J => ({ intValue: v })),
  fc.constantFrom<unknown>('NaN', 'Infinity', '-Infinity', 0.5, 42).map((v): J => ({ doubleValue: v })),
  fc.nat({ max: 5_000 }).map((n): J => ({ stringValue: String(n) })),
);

/** Any AnyValue (nested), its strings from `text`. */
function anyValue(text: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    text.map((s): J => ({ stringValue: s })),
    fc.boolean().map((b): J => ({ boolValue: b })),
    countValue,
    fc.double().map((d): J => ({ doubleValue: Number.isFinite(d) ? d : String(d) })),
    fc.uint8Array({ maxLength: 8 }).map((b): J => ({ bytesValue: Buffer.from(b).toString('base64') })),
    fc.constantFrom<unknown>({}, null, 5, 'x', { stringValue: 5 }, { intValue: 'x' }),
  );
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 3 }).map((values): J => ({ arrayValue: { values } })),
      fc
        .array(fc.tuple(fc.string({ maxLength: 8 }), tie('value')), { maxLength: 3 })
        .map((kvs): J => ({ kvlistValue: { values: kvs.map(([key, v]) => ({ key, value: v })) } })),
    ),
  }));
  return value;
}

/** JSON objects holding usage numbers beside content (the attributes that are reduced). */
const usageJson = fc
  .record({
    n: fc.array(fc.oneof(fc.nat({ max: 9_000 }), fc.constantFrom<unknown>(-3, 1.5, 'x', null)), {
      minLength: 6,
      maxLength: 6,
    }),
    secret: secretText,
    stream: fc.boolean(),
  })
  .map(({ n, secret, stream }) => ({
    'ai.response.providerMetadata': JSON.stringify({
      google: { usageMetadata: { promptTokenCount: n[0], candidatesTokenCount: n[1] }, grounding: secret },
      anthropic: { usage: { input_tokens: n[2], output_tokens: n[3], cache_read_input_tokens: n[4] } },
      openai: { reasoningTokens: n[5], logprobs: [secret] },
      [secret]: 1,
    }),
    'gen_ai.usage.raw': JSON.stringify({ prompt_tokens: n[0], completion_tokens: n[1], note: secret }),
    'langfuse.observation.usage_details': JSON.stringify({ input: n[2], output: n[3], [secret]: n[4] }),
    request_data: JSON.stringify({ messages: [{ content: secret }], stream }),
    'logfire.msg': `Chat Completion with ${secret}`,
  }));

const OPERATIONS = ['chat', 'embeddings', 'text_completion', 'generate_content', 'invoke_agent'];
const PROVIDERS = ['openai', 'anthropic', 'aws.bedrock', 'gcp.gemini', 'mistral_ai', 'azure.ai.openai'];
const MODELS = [
  'gpt-4o',
  'gpt-4o-mini',
  'claude-sonnet-4-20250514',
  'gemini-2.5-flash',
  'text-embedding-3-small',
];
const COUNT_KEYS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.total_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.reasoning.output_tokens',
  'ai.usage.inputTokens',
  'ai.usage.outputTokens',
  'llm.token_count.prompt',
  'llm.token_count.completion',
];
const OTHER_KEPT_KEYS = [
  'ai.operationId',
  'openinference.span.kind',
  'langfuse.observation.type',
  'logfire.span_type',
  'traceloop.span.kind',
  'gen_ai.response.id',
  'gen_ai.response.model',
  'fenra.billable_customer_id',
  'user.id',
  'session.id',
  'fenra.context.team',
  'deployment.environment.name',
  'service.name',
  'cloud.region',
  'gen_ai.cost.total_cost',
  'openai.response.service_tier',
];
const CONTENT_KEYS = [
  'gen_ai.prompt',
  'gen_ai.completion.0.content',
  'gen_ai.input.messages',
  'gen_ai.tool.call.arguments',
  'process.command_line',
  'process.command_args',
  'api_key',
  'http.request.header.authorization',
  'input.value',
  'ai.prompt.messages',
  'db.query.text',
];

/** One attribute: a kept key with any value, or a dropped one whose every string is a secret. */
const attribute = fc
  .oneof(
    fc.constantFrom(...COUNT_KEYS, ...OTHER_KEPT_KEYS),
    fc.constantFrom(...CONTENT_KEYS),
    fc.string({ maxLength: 16 }),
  )
  .chain((key) =>
    (isKept(key) ? (COUNT_KEYS.includes(key) ? countValue : anyValue(anyText)) : anyValue(secretText)).map(
      (value) => ({ key, value }),
    ),
  );

const text = (s: string): J => ({ stringValue: s });

/** Attributes of a span: often a model call (so spans get billed), always some noise. */
const spanAttributes = fc
  .record({
    call: fc.option(
      fc.record({
        op: fc.oneof(fc.constantFrom(...OPERATIONS), anyText),
        provider: fc.oneof(fc.constantFrom(...PROVIDERS), anyText),
        model: fc.oneof(fc.constantFrom(...MODELS), anyText),
        input: countValue,
        output: countValue,
      }),
      { freq: 3 },
    ),
    reduced: fc.option(usageJson, { freq: 2 }),
    extra: fc.array(attribute, { maxLength: 8 }),
  })
  .map(({ call, reduced, extra }) => {
    const out: { key: string; value: unknown }[] = [];
    if (call !== null) {
      out.push(
        { key: 'gen_ai.operation.name', value: text(call.op) },
        { key: 'gen_ai.provider.name', value: text(call.provider) },
        { key: 'gen_ai.request.model', value: text(call.model) },
        { key: 'gen_ai.usage.input_tokens', value: call.input },
        { key: 'gen_ai.usage.output_tokens', value: call.output },
      );
    }
    if (reduced !== null) for (const [key, v] of Object.entries(reduced)) out.push({ key, value: text(v) });
    return [...out, ...extra];
  });

const hex = (bytes: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));

const SCOPES = ['openai', 'ai', 'logfire', 'langsmith', 'opentelemetry.instrumentation.anthropic', 'x'];

/** A span of one of the request's traces; its parent one of the trace's span ids, or none. */
function span(traceIds: string[], spanIds: string[]): fc.Arbitrary<J> {
  return fc
    .record({
      trace: fc.constantFrom(...traceIds),
      id: fc.constantFrom(...spanIds),
      parent: fc.option(fc.constantFrom(...spanIds)),
      name: anyText,
      kind: fc.constantFrom<unknown>(0, 1, 2, 3, 'SPAN_KIND_CLIENT', 9),
      start: fc.bigInt({ min: 1_700_000_000_000_000_000n, max: 1_800_000_000_000_000_000n }),
      duration: fc.bigInt({ min: 0n, max: 60_000_000_000n }),
      attributes: spanAttributes,
      status: fc.record({
        code: fc.constantFrom<unknown>(0, 1, 2, 'STATUS_CODE_ERROR'),
        message: secretText,
      }),
      events: fc.array(
        fc.record({ name: anyText, attributes: fc.array(attribute, { maxLength: 2 }), content: secretText }),
        { maxLength: 2 },
      ),
      flags: fc.constantFrom<unknown>(undefined, 0x100, 0x300),
    })
    .map((s): J => ({
      traceId: s.trace,
      spanId: s.id,
      ...(s.parent !== null && s.parent !== s.id ? { parentSpanId: s.parent } : {}),
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: String(s.start),
      endTimeUnixNano: String(s.start + s.duration),
      attributes: s.attributes,
      status: s.status,
      events: s.events.map((e) => ({
        name: e.name,
        timeUnixNano: String(s.start),
        attributes: [...e.attributes, { key: 'content', value: text(e.content) }],
      })),
      ...(s.flags === undefined ? {} : { flags: s.flags }),
    }));
}

/** A whole OTLP/JSON export request: a few traces, a few spans each, resources with secrets. */
export const otlpJsonRequest: fc.Arbitrary<J> = fc
  .record({
    traceIds: fc.array(hex(16), { minLength: 1, maxLength: 3 }),
    spanIds: fc.array(hex(8), { minLength: 1, maxLength: 6 }),
  })
  .chain(({ traceIds, spanIds }) =>
    fc.array(
      fc.record({
        resource: fc.array(attribute, { maxLength: 4 }),
        scopes: fc.array(
          fc.record({
            scope: fc.record({ name: fc.constantFrom(...SCOPES), version: fc.string({ maxLength: 6 }) }),
            spans: fc.array(span(traceIds, spanIds), { minLength: 1, maxLength: 4 }),
          }),
          { minLength: 1, maxLength: 2 },
        ),
      }),
      { minLength: 1, maxLength: 2 },
    ),
  )
  .map((rs) => ({
    resourceSpans: rs.map((r) => ({
      resource: {
        attributes: [
          { key: 'service.name', value: text('fuzz') },
          { key: 'process.command_line', value: text(`node app.js --api-key=${SECRET}`) },
          ...r.resource,
        ],
      },
      scopeSpans: r.scopes.map((s) => ({ scope: s.scope, spans: s.spans })),
    })),
  }));

/** The same AnyValue for protobufjs: ids and bytes as buffers, malformed values as empty ones. */
function protoValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
  const o = v as J;
  if (typeof o['stringValue'] === 'string') return { stringValue: o['stringValue'] };
  if (typeof o['boolValue'] === 'boolean') return { boolValue: o['boolValue'] };
  if ('intValue' in o) {
    const x = o['intValue'];
    if (typeof x === 'number' && Number.isSafeInteger(x)) return { intValue: x };
    if (typeof x === 'string' && /^-?\d{1,19}$/.test(x) && BigInt(x) < 2n ** 63n && BigInt(x) >= -(2n ** 63n))
      return { intValue: x };
    return {};
  }
  if ('doubleValue' in o) return { doubleValue: Number(o['doubleValue']) };
  if (typeof o['bytesValue'] === 'string') return { bytesValue: Buffer.from(o['bytesValue'], 'base64') };
  const arr = o['arrayValue'] as { values: unknown[] } | undefined;
  if (arr !== undefined) return { arrayValue: { values: arr.values.map(protoValue) } };
  const kvl = o['kvlistValue'] as { values: { key: string; value: unknown }[] } | undefined;
  if (kvl !== undefined)
    return {
      kvlistValue: { values: kvl.values.map((kv) => ({ key: kv.key, value: protoValue(kv.value) })) },
    };
  return {};
}

const protoKvs = (list: { key: string; value: unknown }[]): unknown[] =>
  list.map((kv) => ({ key: kv.key, value: protoValue(kv.value) }));

const STATUS: Record<string, number> = { STATUS_CODE_ERROR: 2 };
const KIND: Record<string, number> = { SPAN_KIND_CLIENT: 3 };

/** The request as OTLP/protobuf bytes. */
export function toProtobuf(request: J): Uint8Array {
  const resourceSpans = (request['resourceSpans'] as J[]).map((rs) => ({
    resource: {
      attributes: protoKvs((rs['resource'] as J)['attributes'] as { key: string; value: unknown }[]),
    },
    scopeSpans: (rs['scopeSpans'] as J[]).map((ss) => ({
      scope: ss['scope'],
      spans: (ss['spans'] as J[]).map((s) => {
        const status = s['status'] as J;
        const kind = s['kind'];
        return {
          traceId: Buffer.from(s['traceId'] as string, 'hex'),
          spanId: Buffer.from(s['spanId'] as string, 'hex'),
          ...(s['parentSpanId'] !== undefined
            ? { parentSpanId: Buffer.from(s['parentSpanId'] as string, 'hex') }
            : {}),
          name: s['name'],
          kind: typeof kind === 'number' ? kind : (KIND[kind as string] ?? 0),
          startTimeUnixNano: s['startTimeUnixNano'],
          endTimeUnixNano: s['endTimeUnixNano'],
          flags: typeof s['flags'] === 'number' ? s['flags'] : 0,
          attributes: protoKvs(s['attributes'] as { key: string; value: unknown }[]),
          status: {
            code:
              typeof status['code'] === 'number' ? status['code'] : (STATUS[status['code'] as string] ?? 0),
            message: status['message'],
          },
          events: (s['events'] as J[]).map((e) => ({
            name: e['name'],
            timeUnixNano: e['timeUnixNano'],
            attributes: protoKvs(e['attributes'] as { key: string; value: unknown }[]),
          })),
        };
      }),
    })),
  }));
  return ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject({ resourceSpans })).finish();
}
