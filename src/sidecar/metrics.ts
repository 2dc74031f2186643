import type { MetricDef, MetricName, Reading } from '../internal/self-metrics.js';
import { prometheusName, SELF_METRICS } from '../internal/self-metrics.js';

/**
 * The sidecar's self-metrics as Prometheus text, named by the one vocabulary (`SELF_METRICS`):
 * counters the sidecar counts itself ({@link add}) and readings taken at scrape time from the
 * conversion stage, the pipeline, the spool ({@link observe}). Label sets are bounded per
 * metric: past `maxSeries`, new label values are folded into `other`, so a flood of model
 * names cannot grow memory or the scrape without limit.
 */
type Labels = Readonly<Record<string, string>>;

interface Series {
  text: string;
  value: number;
}

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** Lookup key of a label set: cheap (no escaping); label order is the caller's, always the same. */
function key(labels: Labels): string {
  let k = '';
  for (const name in labels) k += name + '\u0001' + labels[name] + '\u0002';
  return k;
}

/** The label set as Prometheus writes it: `{a="x",b="y"}`. */
function text(labels: Labels): string {
  const parts = Object.keys(labels).map((k) => `${k}="${escape(labels[k]!)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Metrics {
  private readonly _counters = new Map<MetricName, Map<string, Series>>();
  private readonly _readers: (() => Iterable<Reading>)[] = [];
  private readonly _maxSeries: number;

  constructor(maxSeries = 200) {
    this._maxSeries = maxSeries;
  }

  /** Counts `value` on a counter the sidecar keeps itself. */
  add(name: MetricName, value: number, labels: Labels = {}): void {
    if (!Number.isFinite(value)) return;
    let series = this._counters.get(name);
    if (series === undefined) this._counters.set(name, (series = new Map()));
    bounded(series, labels, this._maxSeries).value += value;
  }

  /** Adds readings taken at scrape time (gauges, and counters kept elsewhere). */
  observe(read: () => Iterable<Reading>): void {
    this._readers.push(read);
  }

  /** The current value of one series (tests, readiness): a reading, else a counter, else 0. */
  value(name: MetricName, labels: Labels = {}): number {
    const k = key(labels);
    let found: number | undefined;
    for (const read of this._readers)
      for (const r of read())
        if (r.name === name && key(r.labels ?? {}) === k) found = (found ?? 0) + r.value;
    return found ?? this._counters.get(name)?.get(k)?.value ?? 0;
  }

  render(): string {
    const families = new Map<MetricName, Map<string, Series>>();
    for (const [name, series] of this._counters) families.set(name, new Map(series));
    for (const read of this._readers) {
      for (const r of read()) {
        let series = families.get(r.name);
        if (series === undefined) families.set(r.name, (series = new Map()));
        bounded(series, r.labels ?? {}, this._maxSeries).value += r.value;
      }
    }
    const out: string[] = [];
    for (const [name, d] of Object.entries(SELF_METRICS) as [MetricName, MetricDef][]) {
      const series = families.get(name);
      if (series === undefined && d.kind === 'gauge') continue;
      const prom = prometheusName(name);
      out.push(`# HELP ${prom} ${d.description}`, `# TYPE ${prom} ${d.kind}`);
      if (series === undefined || series.size === 0) out.push(`${prom} 0`);
      else for (const s of series.values()) out.push(`${prom}${s.text} ${s.value}`);
    }
    return out.join('\n') + '\n';
  }
}

/** The series of a label set, created if new; past `max` series, the labels fold into `other`. */
function bounded(series: Map<string, Series>, labels: Labels, max: number): Series {
  let k = key(labels);
  let s = series.get(k);
  if (s !== undefined) return s;
  let shown = labels;
  if (series.size >= max) {
    const folded: Record<string, string> = {};
    for (const l of Object.keys(labels)) folded[l] = 'other';
    shown = folded;
    k = key(folded);
    s = series.get(k);
    if (s !== undefined) return s;
  }
  s = { text: text(shown), value: 0 };
  series.set(k, s);
  return s;
}
