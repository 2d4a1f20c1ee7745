import { startEngineRig, type EngineRig } from '../support/engine-rig';
import { until } from '../support/until';
import { buildDomainSet } from '../../src/domain/domain-set';
import type { Decision } from '../../src/engine/decision';

let rig: EngineRig;
afterEach(() => rig?.close());

const forced = (triggers: string[], routes: string[][]): Decision => ({ action: 'force-ipv4', triggers: triggers as never, routes });
const leave = (reason: string): Decision => ({ action: 'leave', reason: reason as never });

describe('the rule, row by row, against live DNS and SMTP fixtures', () => {
  beforeEach(async () => {
    rig = await startEngineRig();
  });

  test.each([
    ['cname-mx.test', forced(['cname-mx'], [['192.0.2.10']])],
    ['no-aaaa.test', forced(['no-aaaa'], [['192.0.2.20']])],
    ['aaaa-error.test', forced(['aaaa-error'], [['192.0.2.30']])],
    ['unreachable.test', forced(['ipv6-unreachable'], [['192.0.2.40']])],
    ['silent.test', forced(['ipv6-unreachable'], [['192.0.2.41']])],
    ['tempfail.test', forced(['ipv6-unreachable'], [['192.0.2.42']])],
    ['ipv6-ok.test', leave('ipv6-ok')],
    ['nxdomain.test', leave('nxdomain')],
    ['null-mx.test', leave('null-mx')],
    ['implicit.test', forced(['no-aaaa'], [['192.0.2.60']])],
    ['no-ipv4.test', leave('no-ipv4')],
    ['host-nx.test', forced(['no-aaaa'], [['192.0.2.70']])],
    ['multi.test', forced(['no-aaaa'], [['192.0.2.5', '192.0.2.3', '192.0.2.1'], ['192.0.2.4']])],
    ['alias-domain.test', forced(['no-aaaa'], [['192.0.2.20']])],
  ])('%s', async (domain, expected) => {
    expect(await rig.engine.decide(domain)).toEqual(expected);
  });

  test('MX SERVFAIL is a DNS failure', async () => {
    expect(await rig.engine.decide('servfail.test')).toMatchObject({ action: 'dns-failure', detail: expect.stringMatching(/SERVFAIL .*servfail\.test MX/) });
  });

  test("an MX host's A SERVFAIL makes the whole decision a DNS failure", async () => {
    expect(await rig.engine.decide('host-servfail.test')).toMatchObject({ action: 'dns-failure' });
  });

  test('a CNAME loop at an MX host (SERVFAIL from a recursive server) is a DNS failure, not a decision', async () => {
    expect(await rig.engine.decide('loop.test')).toMatchObject({ action: 'dns-failure' });
  });

  test('every fresh decision logs one info line with reasons, duration and DNS queries', async () => {
    await rig.engine.decide('cname-mx.test');
    await rig.engine.decide('cname-mx.test');
    const lines = rig.sink.events('decision');
    expect(lines).toHaveLength(1);
    // MX, the host's A and AAAA, and the domain's _mta-sts TXT (secure_domains: skip looks before forcing).
    expect(lines[0]).toMatchObject({ domain: 'cname-mx.test', action: 'force-ipv4', reasons: ['cname-mx'], dnsQueries: 4, level: 30 });
    expect(typeof lines[0].durationMs).toBe('number');
  });
});

describe('probes', () => {
  beforeEach(async () => {
    rig = await startEngineRig();
  });

  test('no probe is sent when DNS alone has decided', async () => {
    await rig.engine.decide('cname-mx.test');
    await rig.engine.decide('no-aaaa.test');
    expect(rig.probed).toEqual([]);
  });

  test('one probe per address per lifetime, however many domains use it', async () => {
    rig.dns.zone.records['other-ok.test'] = [{ type: 'MX', exchange: 'mx.ipv6-ok.test', priority: 5 }];
    rig.dns.zone.records['third-ok.test'] = [{ type: 'MX', exchange: 'mx.other.test', priority: 5 }];
    rig.dns.zone.records['mx.other.test'] = [
      { type: 'A', address: '192.0.2.51' },
      { type: 'AAAA', address: '2001:db8::a' },
    ];
    await Promise.all([rig.engine.decide('ipv6-ok.test'), rig.engine.decide('other-ok.test'), rig.engine.decide('third-ok.test')]);
    expect(rig.probed).toEqual(['2001:db8::a']);
  });

  test('with probing off, present AAAA records count as working', async () => {
    rig = (await rig.close(), await startEngineRig({ settings: { probe: false } }));
    expect(await rig.engine.decide('unreachable.test')).toEqual(leave('ipv6-ok'));
    expect(rig.probed).toEqual([]);
  });
});

describe('triggers can be switched off', () => {
  test.each([
    ['cname-mx', 'cname-mx.test', leave('ipv6-ok')],
    ['no-aaaa', 'no-aaaa.test', leave('ipv6-ok')],
    ['aaaa-error', 'aaaa-error.test', leave('ipv6-ok')],
    ['ipv6-unreachable', 'unreachable.test', leave('ipv6-ok')],
  ])('without %s, %s is left alone', async (off, domain, expected) => {
    const all = ['cname-mx', 'no-aaaa', 'aaaa-error', 'ipv6-unreachable'] as const;
    rig = await startEngineRig({ settings: { triggers: new Set(all.filter((t) => t !== off)) } });
    expect(await rig.engine.decide(domain)).toEqual(expected);
  });
});

describe('overrides', () => {
  test('never: NOTFOUND without any DNS; force_ipv4: forced whatever the triggers say; null MX still wins', async () => {
    rig = await startEngineRig({
      overrides: { never: buildDomainSet(['cname-mx.test', '.sub.test'], 'never'), force: buildDomainSet(['ipv6-ok.test', 'null-mx.test'], 'force_ipv4') },
    });
    expect(await rig.engine.decide('cname-mx.test')).toEqual(leave('never'));
    expect(await rig.engine.decide('a.sub.test')).toEqual(leave('never'));
    expect(rig.dns.queries).toEqual([]);
    expect(await rig.engine.decide('ipv6-ok.test')).toEqual(forced(['override'], [['192.0.2.50']]));
    expect(rig.probed).toEqual([]);
    expect(await rig.engine.decide('null-mx.test')).toEqual(leave('null-mx'));
  });
});

describe('sharing work', () => {
  beforeEach(async () => {
    rig = await startEngineRig();
  });

  test('concurrent lookups of one domain run once (single flight)', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => rig.engine.decide('cname-mx.test')));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(rig.dns.count('cname-mx.test', 'MX')).toBe(1);
    expect(rig.dns.count('mail.cname-mx.test', 'A')).toBe(1);
  });

  test('domains sharing an MX host cost one host check: one MX query per domain after the first', async () => {
    await rig.engine.decide('shop1.test');
    const before = rig.dns.queries.length;
    await Promise.all([rig.engine.decide('shop2.test'), rig.engine.decide('shop3.test')]);
    // Besides each domain's own MX, only its own _mta-sts TXT (it is forced): nothing more for the shared host.
    expect(rig.dns.queries.slice(before).sort()).toEqual(['_mta-sts.shop2.test TXT', '_mta-sts.shop3.test TXT', 'shop2.test MX', 'shop3.test MX']);
    expect(rig.dns.count('mx.provider.test', 'A')).toBe(1);
  });

  test('a cached decision is answered synchronously, with no DNS', async () => {
    await rig.engine.decide('no-aaaa.test');
    const before = rig.dns.queries.length;
    const again = rig.engine.decide('no-aaaa.test');
    expect(again).toEqual(forced(['no-aaaa'], [['192.0.2.20']]));
    expect(rig.dns.queries.length).toBe(before);
  });
});

describe('deadline and background completion', () => {
  test('an answer that misses the deadline is "leave (deadline)"; the decision lands in the cache later', async () => {
    rig = await startEngineRig({ settings: { deadlineMs: 100 }, probeTimeoutMs: 600 });
    const first = await rig.engine.decide('silent.test'); // its probe waits 600 ms for a greeting
    expect(first).toEqual(leave('deadline'));
    expect(rig.sink.events('deadline')).toHaveLength(1);
    // The lookup goes on in the background: its decision is logged when it lands in the cache.
    await until(() => rig.sink.events('decision').some((e) => e.domain === 'silent.test'));
    expect(rig.engine.decide('silent.test')).toEqual(forced(['ipv6-unreachable'], [['192.0.2.41']]));
  });

  test('a DNS server that never answers: the query times out and the lookup fails open within the deadline', async () => {
    rig = await startEngineRig({ settings: { deadlineMs: 1000 } });
    // A DNS failure, not `leave (deadline)`: the query's own timeout (300 ms) ended the lookup before the deadline.
    expect(await rig.engine.decide('blackhole.test')).toMatchObject({ action: 'dns-failure', detail: expect.stringMatching(/timeout/) });
  });
});

describe('lifetimes', () => {
  test('a decision lives for the shortest TTL it used, then is decided afresh (injected clock)', async () => {
    const clock = { now: 1_000_000 };
    rig = await startEngineRig({ settings: { minTtlMs: 0 }, now: () => clock.now });
    rig.dns.zone.records['short.test'] = [{ type: 'MX', exchange: 'mx.short.test', priority: 1, ttl: 1 }];
    rig.dns.zone.records['mx.short.test'] = [{ type: 'A', address: '192.0.2.99', ttl: 30 }];
    const e = await rig.engine.evaluate('short.test');
    expect(e.ttlMs).toBe(1000);
    await rig.engine.decide('short.test');
    rig.dns.zone.records['mx.short.test'] = [
      { type: 'A', address: '192.0.2.98', ttl: 30 },
      { type: 'AAAA', address: '2001:db8::a', ttl: 30 },
    ];
    expect(rig.engine.decide('short.test')).toEqual(forced(['no-aaaa'], [['192.0.2.99']]));
    clock.now += 1001;
    // The MX expired; the host facts (TTL 30 s) are still cached, so the old host answer stands.
    expect(await rig.engine.decide('short.test')).toEqual(forced(['no-aaaa'], [['192.0.2.99']]));
    expect(rig.dns.count('short.test', 'MX')).toBe(3);
  });

  test('NXDOMAIN is cached for the SOA negative TTL, clamped', async () => {
    rig = await startEngineRig({ settings: { minTtlMs: 0 } });
    expect((await rig.engine.evaluate('nxdomain.test')).ttlMs).toBe(120_000);
  });

  test('TTLs are clamped to [min, max]', async () => {
    rig = await startEngineRig({ settings: { minTtlMs: 500_000, maxTtlMs: 600_000 } });
    expect((await rig.engine.evaluate('nxdomain.test')).ttlMs).toBe(500_000);
    rig.dns.zone.records['long.test'] = [{ type: 'MX', exchange: 'mx.long.test', priority: 1, ttl: 86400 }];
    rig.dns.zone.records['mx.long.test'] = [{ type: 'A', address: '192.0.2.97', ttl: 86400 }];
    rig.dns.zone.negativeTtl = 86400;
    expect((await rig.engine.evaluate('long.test')).ttlMs).toBe(600_000);
  });

  test('DNS failures are held for the failure TTL only', async () => {
    rig = await startEngineRig({ settings: { failureTtlMs: 5000 } });
    expect((await rig.engine.evaluate('servfail.test')).ttlMs).toBe(5000);
  });
});
