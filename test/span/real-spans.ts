import { SpanKind as ApiSpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';

/**
 * Real ReadableSpans from a BasicTracerProvider: a GenAI-like trace with a parent, a child
 * CLIENT span with events and an error, spans from two scopes and two resources.
 */
export async function recordRealSpans(): Promise<ReadableSpan[]> {
  const spans: ReadableSpan[] = [];
  for (const [i, resource] of [
    resourceFromAttributes({
      'service.name': 'chat-api',
      'deployment.environment.name': 'prod',
      'host.cpu.count': 8,
    }),
    resourceFromAttributes({ 'service.name': 'worker', 'service.version': '2.1.0' }),
  ].entries()) {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      resource,
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    const app = provider.getTracer('app', '1.4.2');
    const genai = provider.getTracer('@opentelemetry/instrumentation-openai', '0.21.0');
    const root = app.startSpan('POST /chat', {
      kind: ApiSpanKind.SERVER,
      attributes: { 'http.method': 'POST' },
    });
    const ctx = trace.setSpan(context.active(), root);
    const llm = genai.startSpan(
      'chat gpt-4o-mini',
      {
        kind: ApiSpanKind.CLIENT,
        attributes: {
          'gen_ai.operation.name': 'chat',
          'gen_ai.system': 'openai',
          'gen_ai.request.model': 'gpt-4o-mini',
          'gen_ai.usage.input_tokens': 1234 + i,
          'gen_ai.usage.output_tokens': 56,
          'gen_ai.request.temperature': 0.7,
          'gen_ai.response.finish_reasons': ['stop', 'length'],
          'gen_ai.request.stream': true,
          'app.scores': [1.5, 2.25],
          'app.flags': [true, false],
          'app.empty': '',
        },
      },
      ctx,
    );
    llm.addEvent('gen_ai.user.message', { 'gen_ai.system': 'openai', content: 'hi' });
    llm.addEvent('gen_ai.choice', { index: 0, finish_reason: 'stop' });
    llm.addEvent('no-attributes');
    if (i === 1) llm.setStatus({ code: SpanStatusCode.ERROR, message: 'rate limited' });
    llm.end();
    const tool = app.startSpan('tool lookup', { kind: ApiSpanKind.INTERNAL }, trace.setSpan(ctx, llm));
    tool.setStatus({ code: SpanStatusCode.OK });
    tool.end();
    for (const k of [ApiSpanKind.PRODUCER, ApiSpanKind.CONSUMER]) {
      app.startSpan(`kind ${k}`, { kind: k }, ctx).end();
    }
    root.end();
    await provider.forceFlush();
    spans.push(...exporter.getFinishedSpans());
    await provider.shutdown();
  }
  return spans;
}
