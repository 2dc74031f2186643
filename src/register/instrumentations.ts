import type { Instrumentation } from '@opentelemetry/instrumentation';
import { AwsInstrumentation } from '@opentelemetry/instrumentation-aws-sdk';
import { OpenAIInstrumentation } from '@opentelemetry/instrumentation-openai';
import { AiSdkTelemetryInstrumentation } from './ai-sdk-telemetry.js';
import type { InstrumentationName } from '../config/register.js';

export interface InstrumentationOptions {
  /** False once the register entry stepped aside for the app's own provider. */
  isActive?: () => boolean;
}

/**
 * The maintained instrumentation packages the register entry installs. Anthropic needs none
 * (`@anthropic-ai/sdk` >= 0.134 traces itself through the global tracer provider); the Vercel
 * AI SDK traces itself too, once its telemetry is on (`ai`: on by default, see
 * {@link AiSdkTelemetryInstrumentation}).
 */
export function createInstrumentations(
  names: readonly InstrumentationName[],
  options: InstrumentationOptions = {},
): Instrumentation[] {
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
      case 'ai':
        out.push(new AiSdkTelemetryInstrumentation(options.isActive ? { isActive: options.isActive } : {}));
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
