/**
 * Answers counted for /metrics: how many, by map, answer and reason (mx4map_lookups_total), and how long they
 * took, by map and answer (mx4map_answer_seconds, the histogram behind the deadline promise).
 *
 * Counted on every request, so the registry holds a cell per (map, answer, reason) and an answer is one
 * `add` on it: a counter increment and, for a hit, one more — no label hashing, no Map lookup, no clock read.
 * prom-client reads both series at scrape time as custom metrics.
 *
 * The time runs from the request's hand-over to the answer being ready, in process: decided at once (a cache
 * hit, a skipped key) counts as 0; waiting in the kernel or on the socket write is not in it.
 */
import type { AnswerCell, AnswerTally } from '../maps/registry.js';

/** Bucket bounds, seconds: fine below 100 ms (hits and warm DNS), then around the deadline. */
export function answerBuckets(deadlineMs: number): number[] {
  const deadline = deadlineMs / 1000;
  const around = [0.5, 0.8, 1, 1.2].map((f) => Math.round(deadline * f * 1000) / 1000);
  return [...new Set([0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, ...around])].sort((a, b) => a - b);
}

/** One histogram series (map, answer). */
class Times {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
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

class Cell implements AnswerCell {
  count = 0;

  constructor(
    readonly map: string,
    readonly answer: string,
    readonly reason: string,
    private readonly times: Times,
  ) {}

  add(ms: number): void {
    this.count++;
    this.times.observe(ms);
  }
}

interface MetricValue {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

/** What prom-client's Registry calls at scrape time. */
interface CustomMetric {
  readonly name: string;
  readonly help: string;
  readonly type: string;
  readonly aggregator: string;
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] };
}

export class AnswerCounts implements AnswerTally {
  private readonly bounds: readonly number[];
  private readonly cells = new Map<string, Cell>();
  private readonly times = new Map<string, { map: string; answer: string; times: Times }>();

  constructor(deadlineMs: number) {
    this.bounds = answerBuckets(deadlineMs);
  }

  /** The cell for one (map, answer, reason); the registry asks once and keeps it. */
  cell(map: string, answer: string, reason: string): AnswerCell {
    const key = `${map}\0${answer}\0${reason}`;
    let cell = this.cells.get(key);
    if (!cell) {
      cell = new Cell(map, answer, reason, this.timesFor(map, answer));
      this.cells.set(key, cell);
    }
    return cell;
  }

  private timesFor(map: string, answer: string): Times {
    const key = `${map}\0${answer}`;
    let series = this.times.get(key);
    if (!series) {
      series = { map, answer, times: new Times(this.bounds) };
      this.times.set(key, series);
    }
    return series.times;
  }

  /** mx4map_lookups_total, as a custom counter. */
  readonly lookups: CustomMetric = {
    name: 'mx4map_lookups_total',
    help: 'Lookups answered, by map, answer and reason',
    type: 'counter',
    aggregator: 'sum',
    get: () => {
      const values = [...this.cells.values()].map((c) => ({ labels: { map: c.map, answer: c.answer, reason: c.reason }, value: c.count }));
      return { name: this.lookups.name, help: this.lookups.help, type: 'counter', aggregator: 'sum', values };
    },
  };

  /** mx4map_answer_seconds, as a custom histogram. */
  readonly answerSeconds: CustomMetric = {
    name: 'mx4map_answer_seconds',
    help: 'Time from a request to its answer, in process (decided at once: 0), by map and answer (OK, NOTFOUND, TEMP, PERM); buckets around the deadline at start',
    type: 'histogram',
    aggregator: 'sum',
    get: () => {
      const name = this.answerSeconds.name;
      const values: MetricValue[] = [];
      for (const { map, answer, times } of this.times.values()) {
        let cumulative = 0;
        for (const [i, bound] of this.bounds.entries()) {
          cumulative += times.counts[i];
          values.push({ labels: { map, answer, le: bound }, value: cumulative, metricName: `${name}_bucket` });
        }
        values.push({ labels: { map, answer, le: '+Inf' }, value: times.count, metricName: `${name}_bucket` });
        values.push({ labels: { map, answer }, value: times.sum, metricName: `${name}_sum` });
        values.push({ labels: { map, answer }, value: times.count, metricName: `${name}_count` });
      }
      return { name, help: this.answerSeconds.help, type: 'histogram', aggregator: 'sum', values };
    },
  };
}
