/**
 * Answers counted for /metrics: how many, by map, answer and reason (mx4map_lookups_total), and how long they
 * took, by map and answer (mx4map_answer_seconds, the histogram behind the deadline promise).
 *
 * Counted on every request, so the registry holds a cell per (map, answer, reason) and an answer is one
 * `add` on it: two increments for a hit — no label hashing, no Map lookup, no clock read.
 *
 * The time runs from the request's hand-over to the answer being ready, in process: decided at once (a cache
 * hit, a skipped key) counts as 0; waiting in the kernel or on the socket write is not in it.
 */
import type { AnswerCell, AnswerTally } from '../maps/registry.js';
import { type CustomMetric, PlainHistogram, customMetric, histogramValues } from './plain-histogram.js';

/** Bucket bounds, seconds: fine below 100 ms (hits and warm DNS), then around the deadline. */
export function answerBuckets(deadlineMs: number): number[] {
  const deadline = deadlineMs / 1000;
  const around = [0.5, 0.8, 1, 1.2].map((f) => Math.round(deadline * f * 1000) / 1000);
  return [...new Set([0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, ...around])].sort((a, b) => a - b);
}

class Cell implements AnswerCell {
  count = 0;

  constructor(
    readonly map: string,
    readonly answer: string,
    readonly reason: string,
    private readonly times: PlainHistogram,
  ) {}

  add(ms: number): void {
    this.count++;
    this.times.observe(ms);
  }
}

export class AnswerCounts implements AnswerTally {
  private readonly bounds: readonly number[];
  private readonly cells = new Map<string, Cell>();
  private readonly times = new Map<string, { map: string; answer: string; times: PlainHistogram }>();

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

  private timesFor(map: string, answer: string): PlainHistogram {
    const key = `${map}\0${answer}`;
    let series = this.times.get(key);
    if (!series) {
      series = { map, answer, times: new PlainHistogram(this.bounds) };
      this.times.set(key, series);
    }
    return series.times;
  }

  readonly lookups: CustomMetric = customMetric(
    'mx4map_lookups_total',
    'Lookups answered, by map, answer and reason',
    'counter',
    ['map', 'answer', 'reason'],
    () => [...this.cells.values()].map((c) => ({ labels: { map: c.map, answer: c.answer, reason: c.reason }, value: c.count })),
  );

  readonly answerSeconds: CustomMetric = customMetric(
    'mx4map_answer_seconds',
    'Time from a request to its answer, in process (decided at once: 0), by map and answer (OK, NOTFOUND, TEMP, PERM); buckets around the deadline at start',
    'histogram',
    ['map', 'answer'],
    () => [...this.times.values()].flatMap(({ map, answer, times }) => histogramValues('mx4map_answer_seconds', { map, answer }, times)),
  );
}
