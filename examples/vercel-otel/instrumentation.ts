// Next.js (or any @vercel/otel setup): instrumentation.ts at the project root.
// Keep @vercel/otel's own exporters ('auto') and add Fenra's processor beside them.
// Do not also use the register entry: one tracer provider per process.
import { FenraSpanProcessor } from '@fenra/otel';
import { registerOTel } from '@vercel/otel';

export function register(): void {
  registerOTel({
    serviceName: 'storefront',
    spanProcessors: ['auto', new FenraSpanProcessor()],
  });
}

// In route handlers, attribute calls with withFenraContext (from '@fenra/otel'), and opt the
// AI SDK's calls into telemetry: generateText({ ..., experimental_telemetry: { isEnabled: true } }).
