import { diag } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import type { ResolvedConfig } from '../config/library.js';
import { settingName } from '../config/names.js';
import type { FenraOptions } from '../config/options.js';
import { SETTINGS } from '../config/settings.js';
import { processEnv } from '../config/env.js';
import { resolveDataDir } from '../config/serve.js';
import { fenraSender } from '../fenra/client.js';
import type { ConversionOptions } from '../genai/convert-trace.js';
import { SkipExplainer } from '../genai/skip-explanations.js';
import type { Mode } from '../internal/conditions.js';
import { CONDITIONS } from '../internal/conditions.js';
import { flushAtExit } from '../internal/exit-flush.js';
import { inProcessMode, registerContext } from '../internal/in-process-mode.js';
import { MeterBinding } from '../internal/meter-binding.js';
import { firstInProcess, warnProcessOnce } from '../internal/process-warning.js';
import { errorText } from '../internal/safe.js';
import type { Scheduler } from '../internal/scheduler.js';
import { bindSelfMetrics } from '../internal/self-metrics.js';
import { KeepAlive } from '../internal/timers.js';
import type { DeliveryPipelineDeps } from '../pipeline/delivery-config.js';
import { DeliveryPipeline } from '../pipeline/delivery-pipeline.js';
import { pipelineReadings, stageReadings } from '../pipeline/metric-readings.js';
import type { TransactionSender } from '../pipeline/sender.js';
import type { PipelineStats } from '../pipeline/stats.js';
import { PriceBook } from '../pricing/price-book.js';
import type { AncestorSource } from '../stage/ancestor-source.js';
import { ConversionStage } from '../stage/conversion-stage.js';
import type { StageResult } from '../stage/conversion-stage.js';
import type { ConversionStats } from '../stage/conversion-stats.js';
import type { PricedTransaction } from '../stage/priced-transaction.js';
import { StageTimer } from '../stage/stage-timer.js';
import { localDestination } from './local-destination.js';

export type { FenraOptions };

const log = diag.createComponentLogger({ namespace: '@fenra/otel' });

/**
 * Longest wait of the flush at exit (the event loop emptied, SIGTERM, SIGINT), ms: the same
 * bound as the register entry's default (`FENRA_SHUTDOWN_TIMEOUT_MILLIS`).
 */
export const EXIT_FLUSH_MILLIS = 5_000;

export interface RuntimeDeps extends Omit<DeliveryPipelineDeps, 'sender'> {
  /** The destination instead of Fenra at `endpoint` (tests). */
  sender?: TransactionSender;
  /** undici dispatcher for the Fenra client (not closed by shutdown). */
  dispatcher?: Dispatcher;
  /** Where the stage finds ancestors it does not hold (in process: the SDK's parent links). */
  ancestors?: AncestorSource;
  /** Baggage of a span, an in-process attribution layer. */
  baggageOf?: ConversionOptions['baggageOf'];
  /** How long a call waits for its trace's root, ms (the exporter's `traceWaitMillis`). */
  traceWaitMillis?: number;
  /** Clock and timers of trace holding; default real ones that follow the flush holds. */
  scheduler?: Scheduler;
}

/**
 * What the processor and the exporter share: resolved configuration, the one conversion stage
 * (with its timer), and the delivery pipeline. Resolved transactions are queued for Fenra, or
 * handed to the export waiting for them (see {@link collect}).
 *
 * `enabled` is false when disabled or without an API key: the processor and the exporter then
 * return at once for every span (nothing converted, priced or held); the missing key is
 * warned about once per process (diag and a process warning).
 */
export class FenraRuntime {
  readonly config: ResolvedConfig;
  readonly enabled: boolean;
  readonly stage: ConversionStage;
  /** Timers of the pipeline and of the owner's own waits: ref'd only while a flush is awaited. */
  readonly keepAlive: KeepAlive;
  private readonly _timer: StageTimer;
  private readonly _pipeline: DeliveryPipeline;
  private readonly _metrics: MeterBinding | undefined;
  private readonly _explainer = new SkipExplainer((text) => log.warn(text));
  private _collecting: PricedTransaction[] | undefined;
  private _internalErrors = 0;
  private _shutdown: Promise<void> | undefined;
  /** Setup 1 (the app's own SDK) or setup 2 (the register entry): decides the messages' wording. */
  readonly mode: Extract<Mode, 'library' | 'register'>;
  private _unattributedSaid = false;
  /**
   * Without an API key, the local sink: what would be billed goes to `.fenra/transactions.jsonl`
   * (as with `fenra-otel serve`), unless the register entry exports every span over OTLP to a
   * sidecar that bills them.
   */
  readonly localSink: (TransactionSender & { readonly unwritable: string | undefined }) | undefined;
  /** The flush at exit (held here: the exit registry only holds it weakly). */
  private _exitTask: Parameters<typeof flushAtExit>[0] | undefined;
  private _stopExitFlush: (() => void) | undefined;

  /** `config`: resolved by the processor's or exporter's constructor, or by an entry point. */
  constructor(config: ResolvedConfig, deps: RuntimeDeps = {}) {
    this.config = config;
    this.mode = inProcessMode();
    const register = registerContext();
    const noKey = !this.config.disabled && this.config.apiKey === undefined;
    const local =
      noKey && register?.otlpExportTo === undefined && deps.sender === undefined
        ? localDestination(resolveDataDir(undefined, processEnv()))
        : undefined;
    if (local !== undefined && 'sender' in local) this.localSink = local.sender;
    this.enabled =
      !this.config.disabled && (this.config.apiKey !== undefined || this.localSink !== undefined);
    // Without a key, said once per process: where things go (local mode), or that nothing is
    // billed here (spans exported over OTLP to a sidecar that bills them).
    if (noKey && firstInProcess('diag:no_api_key')) {
      const text =
        local === undefined
          ? CONDITIONS.noApiKey(this.config.settingNames, register?.otlpExportTo)
          : 'sender' in local
            ? CONDITIONS.localMode(this.config.settingNames, local.file)
            : `No Fenra API key, and ${CONDITIONS.localSinkUnwritable(local.file, local.unwritable)}`;
      log.warn(text);
      warnProcessOnce('FENRA_NO_API_KEY', `@fenra/otel: ${text}`);
    }
    this.keepAlive = deps.keepAlive ?? new KeepAlive();
    const ka = this.keepAlive;
    const scheduler: Scheduler = deps.scheduler ?? {
      now: Date.now,
      setTimeout: (fn, ms) => ka.setTimeout(fn, ms),
      clearTimeout: (h) => ka.clearTimeout(h as ReturnType<typeof setTimeout>),
    };
    this.stage = new ConversionStage({
      conversion: {
        defaultCustomerId: this.config.billableCustomerId,
        customerIdKeys: this.config.customerIdKeys,
        contextKeys: this.config.contextKeys,
        azureDeployments: this.config.azureDeployments,
        maxTokensPerCall: this.config.maxTokensPerCall,
        baggageOf: deps.baggageOf,
      },
      pricer: new PriceBook({ overrides: this.config.priceOverrides }),
      ancestors: deps.ancestors,
      waitMillis: deps.traceWaitMillis,
      now: scheduler.now,
      onResult: (r) => this._onResult(r),
    });
    this._timer = new StageTimer(this.stage, scheduler, (e) => this.internalError(e));
    const { sender: givenSender, dispatcher, ...pipelineDeps } = deps;
    const sender = this.enabled
      ? (givenSender ?? this.localSink ?? fenraSender(config, { dispatcher, now: deps.now }))
      : undefined;
    this._pipeline = new DeliveryPipeline(config, {
      processWarnings: true,
      mode: this.mode,
      ...(local !== undefined && 'sender' in local ? { endpoint: `local sink (${local.file})` } : {}),
      ...pipelineDeps,
      sender,
      keepAlive: this.keepAlive,
    });
    if (this.enabled) {
      const pipeline = this._pipeline;
      const stage = this.stage;
      this._metrics = new MeterBinding(config.meterProvider, (meter) =>
        bindSelfMetrics(meter, 'all', () => [
          ...stageReadings(stage),
          ...pipelineReadings(pipeline.stats(), pipeline.usdByModel()),
        ]),
      );
    }
  }

  get stats(): ConversionStats {
    return this.stage.stats;
  }

  /** Hands one delivery of spans to the stage. Never throws. */
  ingest(run: () => void): void {
    try {
      run();
      this._timer.kick();
    } catch (e) {
      this.internalError(e);
    }
  }

  /**
   * Runs `work` (which hands spans to the stage) and returns the transactions it completed,
   * instead of queueing them: for an export that waits for its own. Never throws.
   */
  collect(work: () => void): PricedTransaction[] {
    const outer = this._collecting;
    this._collecting = [];
    try {
      this.ingest(work);
      return this._collecting;
    } finally {
      this._collecting = outer;
    }
  }

  private _onResult(r: StageResult<never>): void {
    for (const s of r.skipped)
      this._explainer.explain(s.reason, s.detail, CONDITIONS.furtherCounted(this.mode));
    if (r.transactions.length === 0) return;
    if (!this._unattributedSaid && this.stats.unattributed > 0) this._sayUnattributed();
    // Local mode on a file system that cannot be written: said once, then nothing is kept.
    if (this.localSink?.unwritable !== undefined) return;
    if (this._collecting !== undefined) this._collecting.push(...r.transactions);
    else this._pipeline.enqueue(r.transactions);
  }

  /** Calls billed to `unattributed`: once per process, with the fix for this setup. */
  private _sayUnattributed(): void {
    this._unattributedSaid = true;
    const names = {
      billableCustomerId: settingName(SETTINGS.billableCustomerId, this.mode),
      customerIdKeys: settingName(SETTINGS.customerIdKeys, this.mode),
    };
    const text = CONDITIONS.unattributed(this.mode, names, this.stats.unattributed);
    if (firstInProcess('diag:unattributed')) log.warn(text);
    warnProcessOnce('FENRA_UNATTRIBUTED', `@fenra/otel: ${text}`);
  }

  /**
   * Flushes at exit with no code in the app (see src/internal/exit-flush.ts): `flush` delivers
   * what the owner holds (its spans not yet handed over, then this runtime's), `pending` says
   * whether anything is left. Not for the register entry's processor: its provider's shutdown
   * does that. What could not be delivered is reported (diag and a process warning).
   */
  flushAtExit(flush: () => Promise<void>, pending: () => boolean): void {
    if (!this.enabled || this.mode === 'register' || this._exitTask !== undefined) return;
    this._exitTask = {
      run: flush,
      timeoutMillis: Math.min(EXIT_FLUSH_MILLIS, this.flushTimeoutMillis),
      pending: () => pending() || this.hasPending(),
      after: () => this.reportLosses(),
    };
    this._stopExitFlush = flushAtExit(this._exitTask, { weak: true });
  }

  /** Traces held, transactions queued or in flight. */
  hasPending(): boolean {
    return this.stage.heldTraces > 0 || this._pipeline.undelivered() > 0;
  }

  /** What was not delivered, and why (once per distinct summary). */
  reportLosses(): void {
    const s = this._pipeline.stats();
    this._pipeline.notices.reportLosses({ ...s, undelivered: this._pipeline.undelivered() });
  }

  /** Queues and waits for Fenra's answer (bounded by `exportTimeoutMillis`); never rejects. */
  enqueueAndWait(items: readonly PricedTransaction[]): Promise<void> {
    return this._pipeline.enqueueAndWait(items);
  }

  /** Follows a global MeterProvider registered after construction. Off the span path. */
  refreshMetrics(): void {
    this._metrics?.refresh();
  }

  /** The flush limit, ms: bounds every wait of `forceFlush()` and of `shutdown()`'s flush. */
  get flushTimeoutMillis(): number {
    return this._pipeline.flushTimeoutMillis;
  }

  /** A bug of ours met at run time: logged (rarely), counted, never thrown into the app. */
  internalError(e: unknown): void {
    this._internalErrors++;
    if (this._internalErrors === 1 || this._internalErrors % 1000 === 0) {
      log.error(`internal error while converting a span (${this._internalErrors} so far): ${errorText(e)}`);
    }
  }

  get internalErrors(): number {
    return this._internalErrors;
  }

  /**
   * Waits for `work` at most `ms` (the process is kept alive meanwhile, like every awaited
   * flush); true when it settled in time. Never rejects.
   */
  async boundedWait(work: Promise<unknown>, ms: number): Promise<boolean> {
    const ka = this.keepAlive;
    return ka.hold(() => ka.race(work, ms));
  }

  /** Resolves every held trace (without waiting for roots) and flushes, within `timeoutMs`. */
  forceFlush(timeoutMs = this.flushTimeoutMillis): Promise<void> {
    if (this._shutdown !== undefined) return this._shutdown;
    this.ingest(() => this.stage.flush());
    this.refreshMetrics();
    return this._pipeline
      .forceFlush(Math.max(0, timeoutMs))
      .catch((e: unknown) => log.error(`forceFlush failed: ${errorText(e)}`));
  }

  /** Resolves what is held, flushes, closes. Once: later calls return the same promise. */
  shutdown(): Promise<void> {
    this._shutdown ??= (async () => {
      this._stopExitFlush?.();
      this._timer.stop();
      this.ingest(() => this.stage.flush());
      await this._pipeline.shutdown();
      this.reportLosses();
    })().catch((e: unknown) => log.error(`shutdown failed: ${errorText(e)}`));
    return this._shutdown;
  }

  deliveryStats(): PipelineStats {
    return this._pipeline.stats();
  }
}
