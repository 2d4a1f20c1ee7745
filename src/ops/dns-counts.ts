/**
 * DNS exchanges counted for /metrics by outcome (mx4map_dns_queries_total, mx4map_dns_query_seconds): plain
 * counters read at scrape time, so a cold decision's queries cost an increment each, and queries made before
 * the Prometheus registry exists (start-up, the identity check) are counted too.
 */
import { type CustomMetric, PlainHistogram, customMetric, histogramValues } from './plain-histogram.js';

const BOUNDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class DnsCounts {
  private readonly byOutcome = new Map<string, PlainHistogram>();

  /** One exchange: its outcome (an rcode, TIMEOUT, MALFORMED or NETWORK) and how long it took. */
  readonly observe = (outcome: string, ms: number): void => {
    let h = this.byOutcome.get(outcome);
    if (!h) {
      h = new PlainHistogram(BOUNDS);
      this.byOutcome.set(outcome, h);
    }
    h.observe(ms);
  };

  readonly queries: CustomMetric = customMetric(
    'mx4map_dns_queries_total',
    'DNS exchanges, by outcome: rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, FORMERR, NOTIMP, other), TIMEOUT, MALFORMED or NETWORK',
    'counter',
    ['rcode'],
    () => [...this.byOutcome].map(([rcode, h]) => ({ labels: { rcode }, value: h.count })),
  );

  readonly seconds: CustomMetric = customMetric('mx4map_dns_query_seconds', 'DNS query latency, by outcome', 'histogram', ['rcode'], () =>
    [...this.byOutcome].flatMap(([rcode, h]) => histogramValues('mx4map_dns_query_seconds', { rcode }, h)),
  );
}
