/**
 * A histogram series kept in plain arrays, for figures counted on every request or query: an observation is a
 * short bucket scan, no label hashing. prom-client reads the series at scrape time through `histogramValues`.
 */

export class PlainHistogram {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  /** `bounds`: bucket upper bounds in seconds, ascending. */
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(ms: number): void {
    this.count++;
    if (ms <= 0) {
      this.counts[0]++;
      return;
    }
    const seconds = ms / 1000;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
  }
}

export interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/** What prom-client's Registry calls at scrape time for a metric it does not keep itself. */
export interface CustomMetric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  /** For the metric table (metric-table.ts); `le` is implied for histograms. */
  readonly labelNames: readonly string[];
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] };
}

/** A custom metric whose values are worked out at scrape time. */
export function customMetric(
  name: string,
  help: string,
  type: 'counter' | 'histogram',
  labelNames: readonly string[],
  values: () => MetricValue[],
): CustomMetric {
  return { name, help, type, aggregator: 'sum', labelNames, get: () => ({ name, help, type, aggregator: 'sum', values: values() }) };
}

/** One histogram's _bucket (cumulative), _sum and _count lines under `labels`. */
export function histogramValues(name: string, labels: Record<string, string>, h: PlainHistogram): MetricValue[] {
  const values: MetricValue[] = [];
  let cumulative = 0;
  for (const [i, bound] of h.bounds.entries()) {
    cumulative += h.counts[i];
    values.push({ labels: { ...labels, le: bound }, value: cumulative, metricName: `${name}_bucket` });
  }
  values.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${name}_bucket` });
  values.push({ labels, value: h.sum, metricName: `${name}_sum` });
  values.push({ labels, value: h.count, metricName: `${name}_count` });
  return values;
}
