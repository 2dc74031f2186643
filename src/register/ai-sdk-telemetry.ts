import { types } from 'node:util';
import type { InstrumentationConfig } from '@opentelemetry/instrumentation';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { VERSION } from '../version.js';

/**
 * Turns the Vercel AI SDK's own OpenTelemetry telemetry on by default, so its calls are billed
 * without `experimental_telemetry: { isEnabled: true }` on each one.
 *
 * The AI SDK records spans only for calls that opt in, and has no global switch: its global
 * `registerTelemetryIntegration` (ai >= 6.0.111) only receives lifecycle events and cannot
 * see or set `isEnabled`. So the top-level functions are wrapped (with OpenTelemetry's
 * instrumentation loader, as other instrumentations do) to default `isEnabled` to true:
 *
 * - a call that sets `isEnabled` itself (true or false) is left exactly as it is;
 * - otherwise `isEnabled: true`, and, unless the call says otherwise, `recordInputs: false`
 *   and `recordOutputs: false`: billing needs the usage, not the prompts and completions, and
 *   they would otherwise land in any other trace backend the app exports to.
 *
 * Spans then go to the global tracer provider (the register entry's), where the vercel-ai
 * dialect bills the provider calls (`*.doGenerate`, `*.doStream`, `*.doEmbed`) once each.
 */
export const AI_SDK_FUNCTIONS = [
  'generateText',
  'streamText',
  'generateObject',
  'streamObject',
  'embed',
  'embedMany',
] as const;
/** Agent classes whose settings carry `experimental_telemetry` for their own calls. */
export const AI_SDK_AGENT_CLASSES = ['ToolLoopAgent', 'Experimental_Agent', 'Agent'] as const;

export interface AiSdkTelemetryConfig extends InstrumentationConfig {
  /** Whether calls are still turned on now (false once the register entry stepped aside). */
  isActive?: () => boolean;
}

type Options = Record<string, unknown>;
type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type AnyClass = new (...args: unknown[]) => object;

/** The call's options with telemetry on by default; the very same object when nothing changes. */
export function withTelemetryOnByDefault(options: unknown): unknown {
  if (options === null || typeof options !== 'object') return options;
  const o = options as Options;
  const t = o['experimental_telemetry'];
  if (t !== undefined && t !== null && typeof t !== 'object') return options;
  const telemetry = (t ?? {}) as Options;
  if (telemetry['isEnabled'] !== undefined) return options;
  return {
    ...o,
    experimental_telemetry: { recordInputs: false, recordOutputs: false, ...telemetry, isEnabled: true },
  };
}

export class AiSdkTelemetryInstrumentation extends InstrumentationBase<AiSdkTelemetryConfig> {
  constructor(config: AiSdkTelemetryConfig = {}) {
    super('@fenra/otel/ai-sdk-telemetry', VERSION, config);
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    return [
      new InstrumentationNodeModuleDefinition(
        'ai',
        ['>=4.0.0 <7'],
        (exports: unknown) => this._patchExports(exports),
        (exports: unknown) => this._unpatchExports(exports),
      ),
    ];
  }

  private _active(): boolean {
    return this.isEnabled() && (this.getConfig().isActive?.() ?? true);
  }

  private _patchExports(exports: unknown): unknown {
    if (exports === null || typeof exports !== 'object') return exports;
    const ns = exports as Record<string, unknown>;
    const replacements: Record<string, unknown> = {};
    for (const name of AI_SDK_FUNCTIONS) {
      const original = ns[name];
      if (typeof original === 'function' && !isOurs(original))
        replacements[name] = this._wrapFunction(original);
    }
    for (const name of AI_SDK_AGENT_CLASSES) {
      const original = ns[name];
      if (typeof original === 'function' && !isOurs(original)) replacements[name] = this._wrapAgent(original);
    }
    if (types.isProxy(exports)) {
      // An ES module namespace under the loader hook: its exports are assignable.
      for (const [name, value] of Object.entries(replacements)) ns[name] = value;
      return exports;
    }
    // CommonJS: `ai` exports read-only getters, so require() is given a copy.
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(ns)) copy[key] = ns[key];
    Object.defineProperty(copy, '__esModule', { value: true });
    return Object.assign(copy, replacements);
  }

  private _unpatchExports(exports: unknown): void {
    if (exports === null || typeof exports !== 'object' || !types.isProxy(exports)) return;
    const ns = exports as Record<string, unknown>;
    for (const name of [...AI_SDK_FUNCTIONS, ...AI_SDK_AGENT_CLASSES]) {
      const original = (ns[name] as { [ORIGINAL]?: unknown } | undefined)?.[ORIGINAL];
      if (original !== undefined) ns[name] = original;
    }
  }

  private _wrapFunction(original: unknown): AnyFunction {
    const fn = original as AnyFunction;
    const active = (): boolean => this._active();
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      if (active() && args.length > 0) args[0] = withTelemetryOnByDefault(args[0]);
      return fn.apply(this, args);
    };
    return mark(wrapped, fn);
  }

  private _wrapAgent(original: unknown): AnyClass {
    const Agent = original as AnyClass;
    const active = (): boolean => this._active();
    const Wrapped = class extends Agent {
      constructor(...args: unknown[]) {
        if (active() && args.length > 0) args[0] = withTelemetryOnByDefault(args[0]);
        super(...args);
      }
    };
    Object.defineProperty(Wrapped, 'name', { value: Agent.name });
    return mark(Wrapped, Agent);
  }
}

const ORIGINAL = Symbol.for('@fenra/otel/ai-sdk-telemetry.original');

function mark<T extends object>(wrapped: T, original: unknown): T {
  Object.defineProperty(wrapped, ORIGINAL, { value: original });
  return wrapped;
}

function isOurs(f: unknown): boolean {
  return typeof f === 'function' && (f as { [ORIGINAL]?: unknown })[ORIGINAL] !== undefined;
}
