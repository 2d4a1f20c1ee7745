/** Replay figures: latencies and reply counts, summarised. Pure. */

export class LatencyRecorder {
  private values = new Float64Array(1024);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** Nearest-rank percentiles (p in 0..100) and the maximum. */
  summary(): { p50: number; p95: number; p99: number; max: number } {
    const sorted = this.values.slice(0, this.n).sort();
    const at = (p: number): number => (this.n === 0 ? 0 : sorted[Math.min(this.n - 1, Math.max(0, Math.ceil((p / 100) * this.n) - 1))]);
    return { p50: at(50), p95: at(95), p99: at(99), max: this.n === 0 ? 0 : sorted[this.n - 1] };
  }
}

/** `name{a="x",b="y"} value` lines of a Prometheus text exposition, as [name, labels, value]. */
export function parsePrometheus(text: string): Array<[string, Record<string, string>, number]> {
  const out: Array<[string, Record<string, string>, number]> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push([m[1], labels, Number(m[3])]);
  }
  return out;
}

/** The server-side figures a replay reports, from /metrics read before and after. */
export interface ServerFigures {
  lookups: number;
  dnsQueries: number;
  decisionHits: number;
  decisionMisses: number;
  byReason: Record<string, number>;
}

export function serverFigures(text: string): ServerFigures {
  const f: ServerFigures = { lookups: 0, dnsQueries: 0, decisionHits: 0, decisionMisses: 0, byReason: {} };
  for (const [name, labels, value] of parsePrometheus(text)) {
    if (name === 'mx4map_lookups_total') {
      f.lookups += value;
      const key = `${labels.answer} ${labels.reason}`;
      f.byReason[key] = (f.byReason[key] ?? 0) + value;
    } else if (name === 'mx4map_dns_queries_total') f.dnsQueries += value;
    else if (name === 'mx4map_cache_hits_total' && labels.cache === 'decisions') f.decisionHits = value;
    else if (name === 'mx4map_cache_misses_total' && labels.cache === 'decisions') f.decisionMisses = value;
  }
  return f;
}

export function figuresDelta(before: ServerFigures, after: ServerFigures): ServerFigures {
  const byReason: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byReason)) {
    const d = v - (before.byReason[k] ?? 0);
    if (d > 0) byReason[k] = d;
  }
  return {
    lookups: after.lookups - before.lookups,
    dnsQueries: after.dnsQueries - before.dnsQueries,
    decisionHits: after.decisionHits - before.decisionHits,
    decisionMisses: after.decisionMisses - before.decisionMisses,
    byReason,
  };
}
