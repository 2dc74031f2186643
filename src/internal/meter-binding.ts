import type { Meter, MeterProvider } from '@opentelemetry/api';
import { metrics } from '@opentelemetry/api';
import { VERSION } from '../version.js';

/**
 * Self-metrics bound to a MeterProvider: the one given in the options, or else the global one
 * (`metrics.getMeterProvider()`), which an SDK usually registers AFTER our processor was
 * constructed (`new NodeSDK({ spanProcessors: [new FenraSpanProcessor()] }).start()`). So the
 * binding is checked again by {@link refresh} (a global lookup, called off the span path) and
 * the instruments move to the new provider when it changed. Instruments are observable: they
 * read totals at collection time, so nothing counted before the binding is lost.
 */
export class MeterBinding {
  private readonly _explicit: MeterProvider | undefined;
  private readonly _setup: (meter: Meter) => (() => void) | undefined;
  private _provider: MeterProvider | undefined;
  private _teardown: (() => void) | undefined;

  /** `setup` creates the instruments on `meter` and returns how to detach them. */
  constructor(explicit: MeterProvider | undefined, setup: (meter: Meter) => (() => void) | undefined) {
    this._explicit = explicit;
    this._setup = setup;
    this.refresh();
  }

  /** Binds to the current provider if it changed. Never throws. */
  refresh(): void {
    try {
      const provider = this._explicit ?? metrics.getMeterProvider();
      if (provider === this._provider) return;
      this._provider = provider;
      const old = this._teardown;
      this._teardown = undefined;
      old?.();
      this._teardown = this._setup(provider.getMeter('@fenra/otel', VERSION));
    } catch {
      // a faulty metrics SDK must not break the exporter
    }
  }
}

/**
 * Keys of a per-label total capped at `max` distinct values; the rest go under `other`, like
 * `stats()` (so metrics never grow without bound).
 */
export function boundedKey(map: ReadonlyMap<string, unknown>, key: string, max = 200): string {
  return map.has(key) || map.size < max ? key : 'other';
}
