import type { Writable } from 'node:stream';
import type { BackfillProgress } from '../local/backfill.js';

/**
 * Progress of `convert --send`: a redrawn bar on a terminal (fitted to its width), plain lines
 * otherwise (CI logs, pipes), at most one every `intervalMs`. The final state is always printed.
 */
export interface ProgressReporter {
  update(p: BackfillProgress): void;
  done(p: BackfillProgress): void;
}

function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Share done: of the input while it is read (when its size is known), then of the transactions. */
function doneFraction(p: BackfillProgress): number {
  if (p.reading === true && p.inputFraction !== undefined) return p.inputFraction;
  return p.total ? (p.sent + p.failed + p.dropped) / p.total : 1;
}

function rateAndEta(p: BackfillProgress): { rate: number; tail: string; short: string } {
  const done = p.sent + p.failed + p.dropped;
  const rate = p.elapsedMs > 0 ? (done * 1000) / p.elapsedMs : 0;
  let eta: number;
  if (p.reading === true) {
    // The total is not known yet: the share of the input read tells the time left.
    const f = p.inputFraction;
    eta = f !== undefined && f > 0 ? (p.elapsedMs * (1 - f)) / f : Infinity;
  } else eta = done >= p.total ? 0 : rate > 0 ? ((p.total - done) / rate) * 1000 : Infinity;
  const finished = p.reading !== true && done >= p.total;
  return {
    rate,
    tail: finished ? `took ${duration(p.elapsedMs)}` : `ETA ${duration(eta)}`,
    short: finished ? duration(p.elapsedMs) : `ETA ${duration(eta)}`,
  };
}

/** `sent/total`, with `+` while the input is still read (the total still grows). */
function sentOfTotal(p: BackfillProgress): string {
  return `${p.sent}/${p.total}${p.reading === true ? '+' : ''}`;
}

/** One line of numbers: spans read, transactions sent of total, failures, rate and ETA. */
export function progressText(p: BackfillProgress, spansRead = p.spansRead ?? 0): string {
  const { rate, tail } = rateAndEta(p);
  const readShare =
    p.reading === true && p.inputFraction !== undefined ? ` (${Math.floor(p.inputFraction * 100)}%)` : '';
  return (
    `spans read ${p.spansRead ?? spansRead}${readShare} · transactions sent ${sentOfTotal(p)}` +
    (p.failed ? ` · failed ${p.failed}` : '') +
    (p.dropped ? ` · dropped ${p.dropped}` : '') +
    ` · ${rate.toFixed(rate < 10 ? 1 : 0)}/s · ${tail}`
  );
}

/** The same numbers in fewer characters, for narrow terminals (spans read last, or left out). */
export function compactProgressText(p: BackfillProgress, spansRead?: number): string {
  const { rate, short } = rateAndEta(p);
  const spans = p.spansRead ?? spansRead;
  return (
    `sent ${sentOfTotal(p)}` +
    (p.failed ? ` · failed ${p.failed}` : '') +
    (p.dropped ? ` · dropped ${p.dropped}` : '') +
    ` · ${rate.toFixed(rate < 10 ? 1 : 0)}/s · ${short}` +
    (spansRead === undefined || spans === undefined ? '' : ` · spans ${spans}`)
  );
}

/**
 * The terminal line, fitted to `columns` (it must not wrap, or each redraw adds a line): the
 * full bar and labels when they fit, then a shorter bar, then short labels, then the
 * percentage alone, then without the spans read, and at worst cut.
 */
export function fitProgressLine(p: BackfillProgress, spansRead: number, columns: number): string {
  const fraction = doneFraction(p);
  const max = Math.max(1, columns - 1); // the last column makes some terminals wrap
  const full = progressText(p, spansRead);
  const percent = `${String(Math.floor(Math.min(1, Math.max(0, fraction)) * 100)).padStart(3)}%`;
  const candidates = [
    `${bar(fraction)} ${full}`,
    `${bar(fraction, 10)} ${full}`,
    `${bar(fraction, 10)} ${compactProgressText(p, spansRead)}`,
    `${percent} ${compactProgressText(p, spansRead)}`,
    `${percent} ${compactProgressText(p)}`,
  ];
  return candidates.find((c) => c.length <= max) ?? candidates[candidates.length - 1]!.slice(0, max);
}

export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

export function progressReporter(
  out: Writable & { isTTY?: boolean },
  spansRead: number,
  options: { tty?: boolean; intervalMs?: number; now?: () => number; columns?: number } = {},
): ProgressReporter {
  const tty = options.tty ?? out.isTTY === true;
  // Read at each redraw: the terminal may be resized meanwhile.
  const columns = (): number => options.columns ?? (out as { columns?: number }).columns ?? 80;
  const interval = options.intervalMs ?? (tty ? 100 : 2_000);
  const now = options.now ?? Date.now;
  let last = -Infinity;
  let saidProblem: string | undefined;
  const line = (p: BackfillProgress): string =>
    tty ? fitProgressLine(p, spansRead, columns()) : `convert --send: ${progressText(p, spansRead)}`;
  return {
    update(p) {
      // Why nothing gets through: said on its own line when it starts (and when it changes).
      if (p.problem !== undefined && p.problem !== saidProblem) {
        saidProblem = p.problem;
        out.write(`${tty ? '\r\x1b[2K' : ''}convert --send: waiting: ${p.problem}; retrying\n`);
        last = -Infinity;
      } else if (p.problem === undefined) saidProblem = undefined;
      const t = now();
      if (t - last < interval) return;
      last = t;
      out.write(tty ? `\r\x1b[2K${line(p)}` : `${line(p)}\n`);
    },
    done(p) {
      out.write(tty ? `\r\x1b[2K${line(p)}\n` : `${line(p)}\n`);
    },
  };
}
