import { spawnSync } from 'node:child_process';
import { AnswerCounts, answerBuckets } from '../../src/ops/answer-counts';
import { DnsCounts } from '../../src/ops/dns-counts';
import { type MetricSources, Metrics } from '../../src/ops/metrics';
import { metricSources } from '../support/metric-sources';

/** A server with four protocol errors and two loop stalls behind it; the rest zero. */
function sources(over: Partial<MetricSources> = {}): MetricSources {
  return metricSources({
    connections: () => ({ open: 0, idle: 0, protocolErrors: 4, staleReplies: 0, evicted: 0, refused: 0 }),
    loopStalls: () => ({ stalls: 2, seconds: 0.5 }),
    ...over,
  });
}

test('answer-time buckets: fine below 100 ms, then around the deadline', () => {
  expect(answerBuckets(3000)).toEqual([0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 1.5, 2.4, 3, 3.6]);
  expect(answerBuckets(1000)).toEqual([0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 0.8, 1, 1.2]);
});

test('mx4map_answer_seconds: a Prometheus histogram by map and answer, cumulative buckets, sum and count', async () => {
  const answers = new AnswerCounts(3000);
  const metrics = new Metrics(sources(), { answers, dns: new DnsCounts() });
  const forced = answers.cell('mailertable', 'OK', 'cname-mx');
  for (const ms of [0, 40, 2900]) forced.add(ms);
  answers.cell('mailertable', 'NOTFOUND', 'ipv6-ok').add(5000);
  const text = await metrics.registry.metrics();
  expect(text).toContain('# TYPE mx4map_answer_seconds histogram');
  const line = (labels: string): string | undefined => new RegExp(`^mx4map_answer_seconds${labels.replace(/[{}+]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1];
  expect(line('_bucket{map="mailertable",answer="OK",le="0.001"}')).toBe('1');
  expect(line('_bucket{map="mailertable",answer="OK",le="0.025"}')).toBe('1');
  expect(line('_bucket{map="mailertable",answer="OK",le="0.1"}')).toBe('2');
  expect(line('_bucket{map="mailertable",answer="OK",le="2.4"}')).toBe('2');
  expect(line('_bucket{map="mailertable",answer="OK",le="3"}')).toBe('3');
  expect(line('_bucket{map="mailertable",answer="OK",le="+Inf"}')).toBe('3');
  expect(line('_count{map="mailertable",answer="OK"}')).toBe('3');
  expect(Number(line('_sum{map="mailertable",answer="OK"}'))).toBeCloseTo(2.94, 6);
  expect(line('_bucket{map="mailertable",answer="NOTFOUND",le="3.6"}')).toBe('0');
  expect(line('_bucket{map="mailertable",answer="NOTFOUND",le="+Inf"}')).toBe('1');
});

test('counters that only ever had one label value have none', async () => {
  const text = await new Metrics(sources()).registry.metrics();
  expect(text).toMatch(/^mx4map_protocol_errors_total 4$/m);
  expect(text).toMatch(/^mx4map_event_loop_stalls_total 2$/m);
  expect(text).not.toMatch(/kind="(all|stall)"/);
});

test('mx4map_dns_queries_total and mx4map_dns_query_seconds: counted by outcome, read at scrape time', async () => {
  const dns = new DnsCounts();
  const metrics = new Metrics(sources(), { answers: new AnswerCounts(3000), dns });
  dns.observe('NOERROR', 3);
  dns.observe('NOERROR', 0.5);
  dns.observe('TIMEOUT', 1500);
  const text = await metrics.registry.metrics();
  expect(text).toContain('# TYPE mx4map_dns_queries_total counter');
  expect(text).toMatch(/^mx4map_dns_queries_total\{rcode="NOERROR"\} 2$/m);
  expect(text).toMatch(/^mx4map_dns_queries_total\{rcode="TIMEOUT"\} 1$/m);
  expect(text).toMatch(/^mx4map_dns_query_seconds_bucket\{rcode="NOERROR",le="0.001"\} 1$/m);
  expect(text).toMatch(/^mx4map_dns_query_seconds_bucket\{rcode="NOERROR",le="0.005"\} 2$/m);
  expect(text).toMatch(/^mx4map_dns_query_seconds_bucket\{rcode="TIMEOUT",le="1"\} 0$/m);
  expect(text).toMatch(/^mx4map_dns_query_seconds_count\{rcode="TIMEOUT"\} 1$/m);
  expect(text).toMatch(/^mx4map_dns_query_seconds_sum\{rcode="TIMEOUT"\} 1.5$/m);
});

test('exposition hygiene: no gauge or histogram named like a counter, and promtool check metrics finds nothing', async () => {
  const text = await new Metrics(sources()).registry.metrics();
  const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1], type: m[2] }));
  expect(types.filter((t) => t.type !== 'counter' && t.name.endsWith('_total'))).toEqual([]);
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (promtool.error) return; // promtool not installed: the rules suite says so (contrib/prometheus)
  expect({ status: promtool.status, said: `${promtool.stdout}${promtool.stderr}`.trim() }).toEqual({ status: 0, said: '' });
});
