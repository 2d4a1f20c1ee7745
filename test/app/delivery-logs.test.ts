/**
 * The delivery_log files as serve follows them: lines appended to a real file, polled by the test, checked
 * by a real engine over in-memory DNS; what /metrics and /healthz say about them.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryLogs } from '../../src/app/delivery-logs';
import { DomainSet, buildDomainSet } from '../../src/domain/domain-set';
import { Engine } from '../../src/engine/engine';
import { Metrics } from '../../src/ops/metrics';
import { metricSources } from '../support/metric-sources';
import { describeDeliveryLogs } from '../../src/ops/delivery-log-health';
import { Prober } from '../../src/probe/prober';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink } from '../support/log-sink';
import { dualStackDomain, stubDns } from '../support/stub-dns';
import { until } from '../support/until';

const PTR_LINE =
  'Dec  4 10:00:00 mx1 postfix/smtp[100]: 4Xk2Lq1FZ9z9sT3: to=<u@customer.example>, relay=mx.customer.example[2001:db8::1]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.7.25, status=deferred (host mx.customer.example[2001:db8::1] said: 450 4.7.25 Service unavailable, sending IPv6 address [2001:db8::25] must have reverse DNS record. (in reply to RCPT TO command))';
const FORGED_LINE = PTR_LINE.replaceAll('mx.customer.example', 'mx.attacker.example');

let dir: string;
let logs: DeliveryLogs | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mx4map-dlog-'));
});
afterEach(async () => {
  await logs?.close();
  logs = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function rig(strict: DomainSet = new DomainSet()) {
  const dns = stubDns(dualStackDomain('customer.example', '192.0.2.31', 3600));
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 60_000, failTtlMs: 60_000, concurrency: 1, cacheSize: 10 }, () =>
    Promise.reject(new Error('no probe')),
  );
  const sink = logSink('debug');
  const engine = new Engine({ ...TEST_SETTINGS, probe: false }, { never: new DomainSet(), force: new DomainSet() }, dns, prober, sink.log);
  logs = new DeliveryLogs(engine, sink.log, () => strict);
  return { engine, sink, logs };
}

test('a rejection appended to the followed log forces its domain; a forged one is refused and said so', async () => {
  const path = join(dir, 'maillog');
  writeFileSync(path, `${PTR_LINE}\n`); // history: not read
  const r = rig();
  r.logs.configure([path]);
  await r.logs.poll();
  expect(await r.engine.decide('customer.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
  appendFileSync(path, `${FORGED_LINE}\n${PTR_LINE}\n`);
  await r.logs.poll();
  await until(() => r.logs.counts.outcomes.new + r.logs.counts.outcomes['foreign-relay'] === 2, 2000, 'both reports checked');
  expect(await r.engine.decide('customer.example')).toMatchObject({ action: 'force-ipv4', triggers: ['ipv6-delivery-failed'] });
  expect(r.logs.counts).toMatchObject({ failures: { ptr: 2 }, outcomes: { new: 1, 'foreign-relay': 1 } });
  expect(r.sink.events('delivery-evidence').map((l) => l.outcome)).toEqual(['foreign-relay', 'new']);
  // A strict receiver outside strict_receivers: one suggestion, with learn's pattern.
  expect(r.sink.events('strict-receiver-suggested')).toEqual([expect.objectContaining({ host: 'mx.customer.example', pattern: '.customer.example' })]);
});

test('a host already covered by strict_receivers is not suggested again', async () => {
  const path = join(dir, 'maillog');
  writeFileSync(path, '');
  const r = rig(buildDomainSet(['.customer.example'], 'strict_receivers'));
  r.logs.configure([path]);
  await r.logs.poll();
  appendFileSync(path, `${PTR_LINE}\n`);
  await r.logs.poll();
  await until(() => r.logs.counts.outcomes.new === 1, 2000, 'the report checked');
  expect(r.sink.events('strict-receiver-suggested')).toEqual([]);
});

test('a missing log is waited for (one warning); reconfigured away, it is no longer followed', async () => {
  const path = join(dir, 'not-yet');
  const r = rig();
  r.logs.configure([path]);
  await r.logs.poll();
  await r.logs.poll();
  expect(r.sink.events('delivery-log-missing')).toHaveLength(1);
  writeFileSync(path, `${PTR_LINE}\n`);
  await r.logs.poll();
  await until(() => r.logs.counts.outcomes.new === 1, 2000, 'the first line of the new file');
  expect(r.sink.events('delivery-log-open')).toHaveLength(1);
  r.logs.configure([]);
  expect(r.logs.states).toEqual([]);
});

test('/metrics and /healthz show the followed logs and the evidence held', async () => {
  const path = join(dir, 'maillog');
  writeFileSync(path, '');
  const r = rig();
  r.logs.configure([path]);
  await r.logs.poll();
  appendFileSync(path, `${PTR_LINE}\nnot a delivery line\n${'z'.repeat(9000)}\n`);
  await r.logs.poll();
  await until(() => r.logs.counts.outcomes.new === 1, 2000, 'the report checked');
  const metrics = new Metrics(metricSources({ deliveryLogs: () => ({ ...r.logs.counts, logs: r.logs.states, evidence: r.engine.evidence.size }) }));
  const text = await metrics.registry.metrics();
  expect(text).toContain('mx4map_delivery_failures_total{class="ptr"} 1');
  expect(text).toContain('mx4map_delivery_reports_total{outcome="new"} 1');
  expect(text).toContain(`mx4map_delivery_log_lines{path="${path}"} 3`);
  expect(text).toContain(`mx4map_delivery_log_lines_skipped{path="${path}"} 1`);
  expect(text).toContain(`mx4map_delivery_log_readable{path="${path}"} 1`);
  expect(text).toContain('mx4map_delivery_evidence 2'); // the domain's, and the MX host's
  const health = describeDeliveryLogs(r.logs.states, r.engine.evidence.size);
  expect(health[0]).toMatch(new RegExp(`^delivery log ${path}: at byte \\d+, last line \\d+ s ago$`));
  expect(health[1]).toBe('delivery evidence held: 2');
});
