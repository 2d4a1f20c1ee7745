import { buildLocality, interfaceAddresses, parseAddressItem } from '../../src/engine/locality';
import { DomainSet, buildDomainSet } from '../../src/domain/domain-set';
import { decide } from '../../src/engine/rule';
import { Engine } from '../../src/engine/engine';
import { Prober } from '../../src/probe/prober';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink } from '../support/log-sink';
import { cnameMxDomain, stubDns } from '../support/stub-dns';
import { encodeSnapshot } from '../../src/snapshot/format';

const eth0 = {
  address: '198.51.100.25',
  netmask: '255.255.255.0',
  family: 'IPv4' as const,
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: '198.51.100.25/24',
};
const lo = { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' };
const lo6 = { address: '192.0.2.80', netmask: '255.255.255.255', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: '192.0.2.80/32' };
const v6 = {
  address: 'fe80::1%eth0',
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6' as const,
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: 'fe80::1/64',
  scopeid: 2,
};

describe("this host's addresses and names", () => {
  test('interfaces: every non-loopback address (addresses on lo are not ours for routing)', () => {
    expect(interfaceAddresses({ lo: [lo, lo6], eth0: [eth0, v6] })).toEqual(['198.51.100.25', 'fe80::1']);
  });

  test('local_addresses take addresses and prefixes; anything else names itself', () => {
    expect(parseAddressItem('203.0.113.7')).toEqual({ address: '203.0.113.7', prefix: 32, family: 4 });
    expect(parseAddressItem('2001:db8::/64')).toEqual({ address: '2001:db8::', prefix: 64, family: 6 });
    expect(parseAddressItem('mail.example')).toEqual({ problem: '"mail.example" is not an IP address or prefix (198.51.100.25, 2001:db8::/64)' });
    expect(parseAddressItem('10.0.0.0/33')).toEqual({ problem: '"10.0.0.0/33" has a prefix length outside 0-32' });
  });

  test('an address is ours when an interface has it or local_addresses covers it, however it was configured', () => {
    const l = buildLocality({
      domains: new DomainSet(),
      hostNames: [],
      configured: ['203.0.113.0/28', '2001:DB8:1:0:0:0:0:25'],
      interfaces: ['198.51.100.25'],
    });
    expect(['198.51.100.25', '203.0.113.9', '2001:db8:1::25'].map((a) => l.isOwn(a))).toEqual([true, true, true]);
    expect(['198.51.100.26', '203.0.113.16', '2001:db8:1::26', 'not-an-address'].map((a) => l.isOwn(a))).toEqual([false, false, false, false]);
  });

  test("local domains: local_domains patterns and the host's own name (not localhost)", () => {
    const l = buildLocality({
      domains: buildDomainSet(['.corp.example', 'shop.example'], 'local_domains'),
      hostNames: ['Mail.Example.', 'localhost'],
      configured: [],
      interfaces: [],
    });
    expect(['mail.example', 'a.corp.example', 'shop.example'].map((d) => l.isLocalDomain(d))).toEqual([true, true, true]);
    expect(['localhost', 'corp.example', 'other.example'].map((d) => l.isLocalDomain(d))).toEqual([false, false, false]);
  });

  test('the fingerprint changes with the addresses, not with their order', () => {
    const a = buildLocality({ domains: new DomainSet(), hostNames: ['h'], configured: [], interfaces: ['198.51.100.25', '198.51.100.26'] });
    const b = buildLocality({ domains: new DomainSet(), hostNames: ['h'], configured: [], interfaces: ['198.51.100.26', '198.51.100.25'] });
    const c = buildLocality({ domains: new DomainSet(), hostNames: ['h'], configured: [], interfaces: ['198.51.100.25'] });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.fingerprint).not.toBe(c.fingerprint);
  });
});

describe('never a route to ourselves', () => {
  const facts = (address: string) => ({
    name: 'mx.example',
    aliases: ['mx.example'],
    canonical: 'real.example',
    a: { kind: 'records' as const, addresses: [address], ttl: 300 },
    aaaa: { kind: 'nodata' as const, ttl: 300 },
    ttl: 300,
    preference: 10,
    probes: [],
    triggers: ['cname-mx' as const],
  });
  const mx = { kind: 'hosts' as const, implicit: false, aliases: [], hosts: [{ preference: 10, name: 'mx.example' }], ttl: 300 };

  test('the rule: an MX host with one of our addresses makes the domain local, even when forced', () => {
    const ours = (a: string) => a === '198.51.100.25';
    expect(decide(mx, [facts('198.51.100.25')], { isOwn: ours }).decision).toEqual({ action: 'leave', reason: 'local' });
    expect(decide(mx, [facts('198.51.100.25')], { forced: true, isOwn: ours }).decision).toEqual({ action: 'leave', reason: 'local' });
    expect(decide(mx, [facts('198.51.100.30')], { isOwn: ours }).decision).toMatchObject({ action: 'force-ipv4' });
  });

  function engine() {
    const clock = { now: 1_000_000 };
    const dns = stubDns({ ...cnameMxDomain('own.example', '198.51.100.25'), ...cnameMxDomain('away.example', '198.51.100.30') });
    const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 1, failTtlMs: 1, concurrency: 1, cacheSize: 1 }, () =>
      Promise.reject(new Error('no probe')),
    );
    const e = new Engine({ ...TEST_SETTINGS, probe: false }, { never: new DomainSet(), force: new DomainSet() }, dns, prober, logSink().log, () => clock.now);
    return { e, dns };
  }
  const at = (...interfaces: string[]) =>
    buildLocality({ domains: buildDomainSet(['mine.example'], 'local_domains'), hostNames: ['this-host.example'], configured: [], interfaces });

  test('the engine: local domains need no DNS; an MX on our address is local; a change of addresses re-checks what is cached', async () => {
    const { e, dns } = engine();
    e.setLocality(at('198.51.100.25'));
    expect(e.decide('mine.example')).toEqual({ action: 'leave', reason: 'local' });
    expect(e.decide('this-host.example')).toEqual({ action: 'leave', reason: 'local' });
    expect(dns.asked).toEqual([]);
    expect(await e.decide('own.example')).toEqual({ action: 'leave', reason: 'local' });
    expect(await e.decide('away.example')).toMatchObject({ action: 'force-ipv4', routes: [['198.51.100.30']] });
    // The host moves: .30 is ours now, .25 no longer.
    expect(e.setLocality(at('198.51.100.30'))).toBe(true);
    expect(await e.decide('away.example')).toEqual({ action: 'leave', reason: 'local' });
    expect(await e.decide('own.example')).toMatchObject({ action: 'force-ipv4', routes: [['198.51.100.25']] });
    expect(e.setLocality(at('198.51.100.30'))).toBe(false);
  });

  test('a local answer is not kept in the cache snapshot: it depends on the addresses read at start', () => {
    const text = encodeSnapshot([{ domain: 'own.example', decision: { action: 'leave', reason: 'local' }, expiresAt: 2e12 }], 1e12, 'r');
    expect(text.split('\n')[0]).toContain('"entries":0');
  });
});
