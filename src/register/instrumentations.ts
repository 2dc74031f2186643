import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import type { InstrumentationName } from './settings.js';

/**
 * The maintained instrumentation packages the register entry installs. Anthropic needs none
 * (`@anthropic-ai/sdk` >= 0.134 traces itself through the global tracer provider), nor does
 * the Vercel AI SDK (per call: `experimental_telemetry: { isEnabled: true }`).
 */
export function createInstrumentations(names: readonly InstrumentationName[]): Instrumentation[] {
  const out: Instrumentation[] = [];
  for (const name of names) {
    switch (name) {
      case 'openai':
        // Message content stays off: only usage, models and ids are needed for billing.
        out.push(new OpenAIInstrumentation({ captureMessageContent: false }));
        break;
      case 'aws-sdk':
        out.push(new AwsInstrumentation({ suppressInternalInstrumentation: true }));
        break;
    }
  }
  return out;
}

/**
 * The module names the instrumentations patch: the ESM loader hook wraps only these (every
 * other ES module loads untouched, which keeps startup cheap and avoids wrapping surprises).
 */
export function hookedModuleNames(instrumentations: readonly Instrumentation[]): string[] {
  const names = new Set<string>();
  for (const i of instrumentations) {
    const defs =
      (i as { getModuleDefinitions?: () => readonly { name: string }[] }).getModuleDefinitions?.() ?? [];
    for (const d of defs) names.add(d.name);
  }
  return [...names];
}
