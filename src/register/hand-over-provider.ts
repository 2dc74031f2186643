import type { Context, Span, SpanOptions, Tracer, TracerOptions, TracerProvider } from '@opentelemetry/api';
import { ProxyTracerProvider, trace } from '@opentelemetry/api';

/**
 * The tracer provider the register entry hands out (as the global one, and to its
 * instrumentations): its tracers start spans on the register entry's SDK until
 * {@link HandOverTracerProvider.handOver}, and on the global tracer provider (the app's) from
 * then on.
 *
 * Needed because a tracer, once obtained, is bound for good: an app builds its instrumentations
 * (`new NodeSDK({ instrumentations: [...] })`, which obtains their tracers from the global
 * provider) before it registers its own provider, and libraries keep the tracers they get.
 * Without this, every such tracer would keep reporting to the register entry's SDK.
 */
export class HandOverTracerProvider implements TracerProvider {
  private _handedOver = false;
  private readonly _own: TracerProvider;

  constructor(own: TracerProvider) {
    this._own = own;
  }

  /** From now on, spans start on the global tracer provider. */
  handOver(): void {
    this._handedOver = true;
  }

  /** @internal The provider spans start on now. */
  current(): TracerProvider {
    return this._handedOver ? trace.getTracerProvider() : this._own;
  }

  getTracer(name: string, version?: string, options?: TracerOptions): Tracer {
    return new HandOverTracer(this, name, version, options);
  }
}

class HandOverTracer implements Tracer {
  private _for: TracerProvider | undefined;
  private _tracer: Tracer | undefined;
  private readonly _owner: HandOverTracerProvider;
  private readonly _name: string;
  private readonly _version: string | undefined;
  private readonly _options: TracerOptions | undefined;

  constructor(owner: HandOverTracerProvider, name: string, version?: string, options?: TracerOptions) {
    this._owner = owner;
    this._name = name;
    this._version = version;
    this._options = options;
  }

  private _current(): Tracer {
    const provider = this._owner.current();
    if (provider !== this._for || this._tracer === undefined) {
      // Once per provider. Should the global provider still lead back here (the app's
      // registration did not complete), its tracers would loop: they record nothing instead.
      const tracer = provider.getTracer(this._name, this._version, this._options);
      this._tracer = tracer instanceof HandOverTracer ? NOOP_TRACER : tracer;
      this._for = provider;
    }
    return this._tracer;
  }

  startSpan(name: string, options?: SpanOptions, context?: Context): Span {
    return this._current().startSpan(name, options, context);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    context: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan(...args: unknown[]): unknown {
    const tracer = this._current();
    return Reflect.apply(tracer.startActiveSpan, tracer, args) as unknown;
  }
}

const NOOP_TRACER: Tracer = new ProxyTracerProvider().getTracer('@fenra/otel/register');
