/**
 * A small Prometheus text-format registry for the sidecar's own numbers. Label sets are
 * bounded per metric: past `maxSeries`, new label values are folded into `other`, so a flood
 * of customer ids or model names cannot grow memory or the scrape without limit.
 */
type Labels = Readonly<Record<string, string>>;

interface Family {
  help: string;
  type: 'counter' | 'gauge';
  series: Map<string, { text: string; value: number }>;
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
  private readonly _families = new Map<string, Family>();
  private readonly _gauges = new Map<string, () => number>();
  private readonly _maxSeries: number;

  constructor(maxSeries = 200) {
    this._maxSeries = maxSeries;
  }

  /** Declares a metric (idempotent). */
  define(name: string, type: 'counter' | 'gauge', help: string): void {
    if (!this._families.has(name)) this._families.set(name, { help, type, series: new Map() });
  }

  /** A value read at scrape time: a gauge, or a counter kept elsewhere. */
  gauge(name: string, help: string, read: () => number, type: 'counter' | 'gauge' = 'gauge'): void {
    this.define(name, type, help);
    this._gauges.set(name, read);
  }

  add(name: string, value: number, labels: Labels = {}): void {
    const f = this._families.get(name);
    if (!f || !Number.isFinite(value)) return;
    let k = key(labels);
    let s = f.series.get(k);
    if (!s) {
      if (f.series.size >= this._maxSeries) {
        const folded: Record<string, string> = {};
        for (const l of Object.keys(labels)) folded[l] = 'other';
        k = key(folded);
        s = f.series.get(k);
        if (!s) f.series.set(k, (s = { text: text(folded), value: 0 }));
      } else f.series.set(k, (s = { text: text(labels), value: 0 }));
    }
    s.value += value;
  }

  /** The current value of one series (tests, readiness). */
  value(name: string, labels: Labels = {}): number {
    const read = this._gauges.get(name);
    if (read) return read();
    return this._families.get(name)?.series.get(key(labels))?.value ?? 0;
  }

  render(): string {
    const out: string[] = [];
    for (const [name, f] of this._families) {
      out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
      const read = this._gauges.get(name);
      if (read) {
        out.push(`${name} ${read()}`);
        continue;
      }
      if (f.series.size === 0 && f.type === 'counter') out.push(`${name} 0`);
      for (const s of f.series.values()) out.push(`${name}${s.text} ${s.value}`);
    }
    return out.join('\n') + '\n';
  }
}
