/** A small Prometheus text-format registry: counters and histograms with labels, gauges read on scrape. */
export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly histograms = new Map<string, { help: string; buckets: number[]; values: Map<string, { counts: number[]; sum: number; count: number }> }>();
  private readonly gauges = new Map<string, { help: string; read: () => number }>();

  counter(name: string, help: string): void {
    this.counters.set(name, { help, values: new Map() });
  }

  histogram(name: string, help: string, buckets: number[]): void {
    this.histograms.set(name, { help, buckets, values: new Map() });
  }

  gauge(name: string, help: string, read: () => number): void {
    this.gauges.set(name, { help, read });
  }

  inc(name: string, labels: Record<string, string> = {}, by = 1): void {
    const c = this.counters.get(name);
    if (c === undefined) return;
    const key = labelText(labels);
    c.values.set(key, (c.values.get(key) ?? 0) + by);
  }

  observe(name: string, labels: Record<string, string>, value: number): void {
    const h = this.histograms.get(name);
    if (h === undefined) return;
    const key = labelText(labels);
    let v = h.values.get(key);
    if (v === undefined) {
      v = { counts: h.buckets.map(() => 0), sum: 0, count: 0 };
      h.values.set(key, v);
    }
    for (let i = 0; i < h.buckets.length; i++) if (value <= (h.buckets[i] as number)) v.counts[i] = (v.counts[i] as number) + 1;
    v.sum += value;
    v.count++;
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      if (c.values.size === 0) out.push(`${name} 0`);
      for (const [k, v] of c.values) out.push(`${name}${k} ${v}`);
    }
    for (const [name, h] of this.histograms) {
      out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      for (const [k, v] of h.values) {
        const inner = k === '' ? '' : `${k.slice(1, -1)},`;
        h.buckets.forEach((b, i) => out.push(`${name}_bucket{${inner}le="${b}"} ${v.counts[i] as number}`));
        out.push(`${name}_bucket{${inner}le="+Inf"} ${v.count}`, `${name}_sum${k} ${v.sum}`, `${name}_count${k} ${v.count}`);
      }
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`);
    }
    return `${out.join('\n')}\n`;
  }
}

function labelText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
