import { diag } from '@opentelemetry/api';
import type { FenraWarningCode } from '../internal/process-warning.js';
import { CONDITIONS } from '../internal/conditions.js';
import { warnProcessOnce } from '../internal/process-warning.js';
import type { Sleep } from '../internal/sleep.js';
import type { BlockedState, PipelineState } from './stats.js';

export interface GateOptions {
  /** Transactions kept while paused (the queue's capacity), for the message. */
  maxQueueSize: number;
  /** Where transactions go, for the messages (shown without credentials or query). */
  endpoint: string;
  /** How to fix the key and the endpoint, as the entry point spells it. */
  hints: { key: string; endpoint: string };
  /** Where transactions wait while paused, for the messages (default: in memory, up to `maxQueueSize`). */
  kept?: string;
  /** Also emit the one-time messages as Node process warnings. */
  processWarnings: boolean;
  /** Wait between probes while the key or the endpoint is refused, ms. */
  probeMillis: number;
  /** First wait before probing a destination that refuses everything, ms (doubles up to `probeMillis`). */
  rejectingProbeMillis: number;
  sleep: Sleep;
  signal: AbortSignal;
  /** A probe is due: the owner sends one batch and reports with {@link Gate.probed}. */
  onProbe: () => void;
  /** Sending may have become possible (a pause ended, a block was lifted). */
  onChange: () => void;
}

const log = diag.createComponentLogger({ namespace: '@fenra/otel/delivery' });

/**
 * The key/endpoint gate: whether batches may leave now. A refused key (401/403), a wrong
 * endpoint (404/405/410, a redirect) or a destination refusing everything (see the bisecting
 * sender) blocks sending: said once, loudly, with what is kept and how it recovers; one batch
 * probes now and then, and the first answer that is not the same refusal lifts the block. A
 * batch that used its retry budget pauses sending for a while (backoff), so a dead endpoint is
 * not hammered.
 */
export class Gate {
  private readonly _o: GateOptions;
  private _state: PipelineState;
  private _paused = false;
  private _probeScheduled = false;
  private _probeWait: number;
  private _refusedProbes = 0;
  private _blockMessage = '';

  constructor(options: GateOptions, initial: PipelineState) {
    this._o = options;
    this._state = initial;
    this._probeWait = options.rejectingProbeMillis;
  }

  get state(): PipelineState {
    return this._state;
  }

  set state(s: PipelineState) {
    this._state = s;
  }

  blocked(): boolean {
    return (
      this._state === 'unauthorized' || this._state === 'endpoint_rejected' || this._state === 'rejecting_all'
    );
  }

  /** Batches may leave now (not paused, not blocked, not shut down). */
  open(): boolean {
    return this._state === 'running' && !this._paused && !this._o.signal.aborted;
  }

  /** Probes answered with the same block since it began (the first block is not one). */
  get refusedProbes(): number {
    return this._refusedProbes;
  }

  /** What the destination said when it last blocked sending. */
  get blockMessage(): string {
    return this._blockMessage;
  }

  /**
   * Blocks sending (said once per change of state) and schedules a probe. `probe`: this is the
   * answer to a probe.
   */
  block(state: BlockedState, status: number, message: string, probe = false): void {
    if (this._state === state && probe) this._refusedProbes++;
    this._blockMessage = message;
    if (this._state !== state) {
      this._state = state;
      this._refusedProbes = 0;
      this._probeWait = this._o.rejectingProbeMillis;
      const { code, text } = this._message(state, status, message);
      log.error(text);
      if (this._o.processWarnings) warnProcessOnce(code, text);
    }
    this._scheduleProbe();
  }

  /** A probe (or any batch) got an answer that is not a block: sending resumes. */
  recover(): void {
    if (!this.blocked()) return;
    const was = this._state;
    this._state = 'running';
    log.info(
      was === 'unauthorized'
        ? 'Fenra accepted the API key; sending resumes'
        : was === 'endpoint_rejected'
          ? 'Fenra endpoint answered; sending resumes'
          : 'Fenra accepts transactions again; sending resumes',
    );
    this._o.onChange();
  }

  /** A probe found nothing to send, or was refused the same way: probe again later. */
  probed(): void {
    if (this.blocked()) this._scheduleProbe();
  }

  /** Holds new batches back for `ms` (a batch used its retry budget). */
  pause(ms: number): void {
    if (this._paused) return;
    this._paused = true;
    void this._o.sleep(ms, this._o.signal).then(() => {
      this._paused = false;
      this._o.onChange();
    });
  }

  private _scheduleProbe(): void {
    if (this._probeScheduled || this._o.signal.aborted) return;
    this._probeScheduled = true;
    let wait = this._o.probeMillis;
    if (this._state === 'rejecting_all') {
      wait = Math.min(this._probeWait, this._o.probeMillis);
      this._probeWait = Math.min(this._probeWait * 2, this._o.probeMillis);
    }
    void this._o.sleep(wait, this._o.signal).then(() => {
      this._probeScheduled = false;
      if (!this.blocked() || this._o.signal.aborted) return;
      this._o.onProbe();
    });
  }

  private _message(
    state: BlockedState,
    status: number,
    message: string,
  ): { code: FenraWarningCode; text: string } {
    const o = this._o;
    const names = { apiKey: o.hints.key, endpoint: o.hints.endpoint };
    const probe = Math.round(o.probeMillis / 1000);
    const kept = o.kept ?? `kept in memory (up to ${o.maxQueueSize})`;
    if (state === 'unauthorized')
      return {
        code: 'FENRA_API_KEY_REJECTED',
        text: CONDITIONS.keyRefused(names, status, message, kept, probe),
      };
    if (state === 'endpoint_rejected')
      return {
        code: 'FENRA_ENDPOINT_REJECTED',
        text: CONDITIONS.endpointRefused(names, o.endpoint, status, message, kept, probe),
      };
    return {
      code: 'FENRA_REJECTING_ALL',
      text: CONDITIONS.rejectingAll(
        status,
        message,
        o.maxQueueSize,
        Math.round(o.rejectingProbeMillis / 1000),
      ),
    };
  }
}
