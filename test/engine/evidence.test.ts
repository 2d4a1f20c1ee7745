/**
 * ipv6-delivery-failed: evidence from the MTA's delivery log, checked against the domain's MX hosts in our
 * DNS view, forcing the domain onto IPv4 for evidence_ttl. In-memory DNS and the injected clock.
 */
import { DomainSet, buildDomainSet } from '../../src/domain/domain-set';
import type { Decision } from '../../src/engine/decision';
import { Engine } from '../../src/engine/engine';
import type { FailureReport } from '../../src/engine/evidence';
import type { Overrides } from '../../src/engine/overrides';
import type { EngineSettings } from '../../src/engine/policy';
import { Prober } from '../../src/probe/prober';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink } from '../support/log-sink';
import { dualStackDomain, stubDns } from '../support/stub-dns';

const DAY = 86_400_000;
const LEFT: Decision = { action: 'leave', reason: 'ipv6-ok' };

function rig(over: Partial<EngineSettings> = {}, overrides: Overrides = { never: new DomainSet(), force: new DomainSet() }) {
  const clock = { now: 1_000_000 };
  const dns = stubDns({
    ...dualStackDomain('customer.example', '192.0.2.31', 3600),
    // Another domain served by the same MX host (a provider's customers).
    'sibling.example': [{ name: 'sibling.example', type: 'MX', ttl: 3600, exchange: 'mx.customer.example', priority: 10 }],
    ...dualStackDomain('other.example', '192.0.2.41', 3600),
  });
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 60_000, failTtlMs: 60_000, concurrency: 1, cacheSize: 10 }, () =>
    Promise.reject(new Error('no probe')),
  );
  const settings: EngineSettings = { ...TEST_SETTINGS, probe: false, evidenceTtlMs: 7 * DAY, maxEvidence: 100, ...over };
  const engine = new Engine(settings, overrides, dns, prober, logSink().log, () => clock.now);
  return { engine, clock, dns };
}

const report = (over: Partial<FailureReport> = {}): FailureReport => ({
  domain: 'customer.example',
  host: 'mx.customer.example',
  address: '2001:db8::1',
  class: 'ptr',
  signal: 'microsoft-reverse-dns',
  excerpt: '450 4.7.25 Service unavailable, sending IPv6 address [2001:db8::25] must have reverse DNS record.',
  ...over,
});

const forced = (address: string): Decision => ({ action: 'force-ipv4', triggers: ['ipv6-delivery-failed'], routes: [[address]] });

test("a logged PTR rejection by the domain's MX host forces it onto IPv4 at the next lookup, its own addresses only", async () => {
  const r = rig();
  expect(await r.engine.decide('customer.example')).toEqual(LEFT);
  expect(await r.engine.acceptFailure(report())).toBe('new');
  expect(await r.engine.decide('customer.example')).toEqual(forced('192.0.2.31'));
  const evaluation = await r.engine.evaluate('customer.example');
  expect(evaluation.evidence?.evidence).toMatchObject({ class: 'ptr', relay: 'mx.customer.example', scope: 'domain' });
});

test('a PTR rejection by an MX host applies to every domain that host serves', async () => {
  const r = rig();
  await r.engine.acceptFailure(report());
  expect(await r.engine.decide('sibling.example')).toEqual(forced('192.0.2.31'));
  expect(await r.engine.decide('other.example')).toEqual(LEFT);
});

test("a line naming a relay that is not the domain's MX host (forged, or misread) forces nothing", async () => {
  const r = rig();
  expect(await r.engine.acceptFailure(report({ host: 'mx.other.example' }))).toBe('foreign-relay');
  expect(await r.engine.acceptFailure(report({ domain: 'other.example' }))).toBe('foreign-relay');
  expect(await r.engine.decide('customer.example')).toEqual(LEFT);
  expect(await r.engine.decide('other.example')).toEqual(LEFT);
  expect(r.engine.evidence.size).toBe(0);
});

test("sendmail's bind deferral names the domain itself: it counts", async () => {
  const r = rig();
  expect(await r.engine.acceptFailure(report({ class: 'bind', host: 'customer.example', address: undefined, signal: 'eafnosupport' }))).toBe('new');
  expect(await r.engine.decide('customer.example')).toEqual(forced('192.0.2.31'));
});

test('NXDOMAIN wins, and so does never', async () => {
  const r = rig({}, { never: buildDomainSet(['customer.example'], 'never'), force: new DomainSet() });
  expect(await r.engine.acceptFailure(report({ domain: 'gone.example', host: 'mx.gone.example' }))).toBe('no-mail-hosts');
  expect(await r.engine.acceptFailure(report())).toBe('new');
  expect(await r.engine.decide('customer.example')).toEqual({ action: 'leave', reason: 'never' });
});

test('one connect failure is not evidence; three within the hour are', async () => {
  const r = rig();
  const connect = report({ class: 'connect', signal: 'connection-timed-out' });
  expect(await r.engine.acceptFailure(connect)).toBe('counted');
  expect(await r.engine.acceptFailure(connect)).toBe('counted');
  expect(await r.engine.decide('customer.example')).toEqual(LEFT);
  expect(await r.engine.acceptFailure(connect)).toBe('new');
  expect(await r.engine.decide('customer.example')).toEqual(forced('192.0.2.31'));
  // Connect evidence is the domain's: the sibling behind the same host is not forced by it.
  expect(await r.engine.decide('sibling.example')).toEqual(LEFT);
});

test('evidence lasts evidence_ttl, renewed by a new failure; then the domain goes back to what DNS says', async () => {
  const r = rig({ evidenceTtlMs: 2 * DAY, maxTtlMs: DAY });
  await r.engine.acceptFailure(report());
  r.clock.now += DAY + 1; // the decision expired; the evidence has a day left
  expect(await r.engine.decide('customer.example')).toEqual(forced('192.0.2.31'));
  expect(await r.engine.acceptFailure(report())).toBe('renewed');
  r.clock.now += DAY + 1; // two days after the first failure, one after the renewal
  expect(await r.engine.decide('customer.example')).toEqual(forced('192.0.2.31'));
  r.clock.now += DAY + 1; // the renewal has run out too
  expect(await r.engine.decide('customer.example')).toEqual(LEFT);
});

test('a forced decision lives no longer than the evidence behind it', async () => {
  // (secure_domains: force: no transport-security lookups, whose negative TTL would be the shorter one.)
  const r = rig({ evidenceTtlMs: 10 * 60_000, maxTtlMs: DAY, minTtlMs: 60_000, secureDomains: 'force' });
  await r.engine.acceptFailure(report());
  const evaluation = await r.engine.evaluate('customer.example');
  expect(evaluation.ttlMs).toBe(10 * 60_000);
});

test('with the trigger switched off, evidence is kept but forces nothing', async () => {
  const r = rig({ triggers: new Set(['cname-mx', 'no-aaaa']) });
  expect(await r.engine.acceptFailure(report())).toBe('new');
  expect(await r.engine.decide('customer.example')).toEqual(LEFT);
});
