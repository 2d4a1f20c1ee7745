/**
 * How long answers take, by map and answer kind: the histogram behind the deadline promise
 * (mx4map_answer_seconds). Counted on every request, so the hot path is a two-level Map lookup and a short
 * bucket scan on plain arrays, no label hashing; prom-client reads it at scrape time as a custom metric.
 *
 * The time runs from the request's hand-over to the answer being ready, in process: decided at once (a cache
 * hit, a skipped key) counts as 0; waiting in the kernel or on the socket write is not in it.
 */

/** Bucket bounds, seconds: fine below 100 ms (hits and warm DNS), then around the deadline. */
export function answerBuckets(deadlineMs: number): number[] {
  const deadline = deadlineMs / 1000;
  const around = [0.5, 0.8, 1, 1.2].map((f) => Math.round(deadline * f * 1000) / 1000);
  return [...new Set([0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, ...around])].sort((a, b) => a - b);
}

interface Series {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName: string;
}

export class AnswerTimes {
  readonly name = 'mx4map_answer_seconds';
  readonly help =
    'Time from a request to its answer, in process (decided at once: 0), by map and answer (OK, NOTFOUND, TEMP, PERM); buckets around the deadline at start';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  private readonly series = new Map<string, Map<string, Series>>();

  constructor(deadlineMs: number) {
    this.bounds = answerBuckets(deadlineMs);
  }

  observe(map: string, answer: string, ms: number): void {
    let byAnswer = this.series.get(map);
    if (!byAnswer) {
      byAnswer = new Map();
      this.series.set(map, byAnswer);
    }
    let s = byAnswer.get(answer);
    if (!s) {
      s = { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
      byAnswer.set(answer, s);
    }
    const seconds = ms / 1000;
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }

  /** prom-client's view of a metric (what its Registry calls at scrape time). */
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const [map, byAnswer] of this.series)
      for (const [answer, s] of byAnswer) {
        let cumulative = 0;
        for (const [i, bound] of this.bounds.entries()) {
          cumulative += s.counts[i];
          values.push({ labels: { map, answer, le: bound }, value: cumulative, metricName: `${this.name}_bucket` });
        }
        values.push({ labels: { map, answer, le: '+Inf' }, value: s.count, metricName: `${this.name}_bucket` });
        values.push({ labels: { map, answer }, value: s.sum, metricName: `${this.name}_sum` });
        values.push({ labels: { map, answer }, value: s.count, metricName: `${this.name}_count` });
      }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
