import { decide, dnsTriggers, probeTrigger, probesNeeded, routesFor, type RuleSettings } from '../../src/engine/rule';
import type { AddressFacts, HostFacts, HostReport, MxFacts } from '../../src/engine/facts';
import { ALL_TRIGGERS } from '../../src/config/options';
import { buildDomainSet } from '../../src/domain/domain-set';

const on: RuleSettings = { triggers: new Set(ALL_TRIGGERS), probe: true };
const v4 = (...addresses: string[]): AddressFacts => ({ kind: 'records', addresses, ttl: 300 });
const nodata: AddressFacts = { kind: 'nodata', ttl: 60 };
const fail: AddressFacts = { kind: 'failure', detail: 'SERVFAIL' };
const host = (name: string, a: AddressFacts, aaaa: AddressFacts, aliases: string[] = []): HostFacts => ({ name, aliases, canonical: name, a, aaaa, ttl: 300 });
const report = (h: HostFacts, preference = 10, probes: HostReport['probes'] = []): HostReport => ({
  ...h,
  preference,
  probes,
  triggers: [...dnsTriggers(h, on), ...probeTrigger(h, probes, on)],
});
const mx = (...hosts: Array<[number, string]>): MxFacts => ({
  kind: 'hosts',
  implicit: false,
  aliases: [],
  hosts: hosts.map(([preference, name]) => ({ preference, name })),
  ttl: 300,
});
const probe = (ok: boolean) => ({ address: '2001:db8::1', ok, detail: ok ? 'greeting' : 'refused', ms: 1, cached: false, ttlMs: 600_000 });

describe('dnsTriggers', () => {
  test('an alias is cname-mx', () => expect(dnsTriggers(host('m', v4('192.0.2.1'), v4('::1'), ['m']), on)).toEqual(['cname-mx']));
  test('AAAA NODATA is no-aaaa', () => expect(dnsTriggers(host('m', v4('192.0.2.1'), nodata), on)).toEqual(['no-aaaa']));
  test('AAAA failure while A resolves is aaaa-error', () => expect(dnsTriggers(host('m', v4('192.0.2.1'), fail), on)).toEqual(['aaaa-error']));
  test('AAAA failure without A fires nothing (nothing to route to)', () => expect(dnsTriggers(host('m', nodata, fail), on)).toEqual([]));
  test('a proper host with AAAA fires nothing from DNS', () => expect(dnsTriggers(host('m', v4('192.0.2.1'), v4('2001:db8::1')), on)).toEqual([]));
  test('switched-off triggers never fire', () => expect(dnsTriggers(host('m', v4('192.0.2.1'), nodata, ['m']), { ...on, triggers: new Set() })).toEqual([]));
});

describe('sender-ipv6-unready', () => {
  const strict = buildDomainSet(['.google.com'], 'strict_receivers');
  const unready: RuleSettings = { ...on, strictReceivers: strict, senderUnready: true };
  const google = host('aspmx.l.google.com', v4('192.0.2.1'), v4('2001:db8::1'));
  test("fires for a strict receiver's host while our identity fails", () => expect(dnsTriggers(google, unready)).toEqual(['sender-ipv6-unready']));
  test('never while our identity passes', () => expect(dnsTriggers(google, { ...unready, senderUnready: false })).toEqual([]));
  test("never for a host that is no strict receiver's", () =>
    expect(dnsTriggers(host('mx.example.net', v4('192.0.2.1'), v4('2001:db8::1')), unready)).toEqual([]));
  test('a host whose CNAME chain ends at a strict receiver counts (by its canonical name)', () => {
    const alias: HostFacts = { ...host('mx.customer.example', v4('192.0.2.1'), v4('2001:db8::1'), ['mx.customer.example']), canonical: 'aspmx.l.google.com' };
    expect(dnsTriggers(alias, unready)).toEqual(['cname-mx', 'sender-ipv6-unready']);
  });
  test('not for a host without AAAA (reached over IPv4 anyway) nor one without A (nothing to route to)', () => {
    expect(dnsTriggers(host('aspmx.l.google.com', v4('192.0.2.1'), nodata), unready)).toEqual(['no-aaaa']);
    expect(dnsTriggers(host('aspmx.l.google.com', nodata, v4('2001:db8::1')), unready)).toEqual([]);
  });
  test('switched off in triggers: never', () => expect(dnsTriggers(google, { ...unready, triggers: new Set(['cname-mx']) })).toEqual([]));
  test('fired from DNS, it makes probes unneeded', () => expect(probesNeeded([google], false, unready)).toBe(false));
});

describe('probes', () => {
  const h = host('m', v4('192.0.2.1'), v4('2001:db8::1'));
  test('needed only when DNS has not decided, nothing is forced and probing is on', () => {
    expect(probesNeeded([h], false, on)).toBe(true);
    expect(probesNeeded([h, host('n', v4('192.0.2.2'), nodata)], false, on)).toBe(false);
    expect(probesNeeded([h], true, on)).toBe(false);
    expect(probesNeeded([h], false, { ...on, probe: false })).toBe(false);
    expect(probesNeeded([host('m', fail, nodata)], false, on)).toBe(false);
  });
  test('no success on any address is ipv6-unreachable; one success is enough', () => {
    expect(probeTrigger(h, [probe(false), probe(false)], on)).toEqual(['ipv6-unreachable']);
    expect(probeTrigger(h, [probe(false), probe(true)], on)).toEqual([]);
    expect(probeTrigger(h, [], on)).toEqual([]);
  });
});

describe('decide', () => {
  test('failure, NXDOMAIN and null MX come first', () => {
    expect(decide({ kind: 'failure', detail: 'x' }, [], { forced: false }).decision).toEqual({ action: 'dns-failure', detail: 'x' });
    expect(decide({ kind: 'nxdomain', ttl: 30 }, [], { forced: true })).toEqual({ decision: { action: 'leave', reason: 'nxdomain' }, ttl: 30 });
    expect(decide({ kind: 'null-mx', ttl: 30 }, [], { forced: true }).decision).toEqual({ action: 'leave', reason: 'null-mx' });
  });
  test('an A failure at any host fails the whole decision', () => {
    const r = decide(mx([10, 'a'], [20, 'b']), [report(host('a', v4('192.0.2.1'), nodata)), report(host('b', fail, nodata), 20)], { forced: false });
    expect(r.decision).toEqual({ action: 'dns-failure', detail: 'SERVFAIL' });
  });
  test('one trigger anywhere forces every host onto IPv4, in preference order', () => {
    const r = decide(
      mx([10, 'a'], [20, 'b']),
      [report(host('a', v4('192.0.2.1'), v4('2001:db8::1')), 10, [probe(true)]), report(host('b', v4('192.0.2.2'), nodata), 20)],
      { forced: false },
    );
    expect(r.decision).toEqual({ action: 'force-ipv4', triggers: ['no-aaaa'], routes: [['192.0.2.1'], ['192.0.2.2']] });
  });
  test('no trigger: ipv6-ok; no IPv4: no-ipv4', () => {
    expect(decide(mx([10, 'a']), [report(host('a', v4('192.0.2.1'), v4('2001:db8::1')), 10, [probe(true)])], { forced: false }).decision).toEqual({
      action: 'leave',
      reason: 'ipv6-ok',
    });
    expect(decide(mx([10, 'a']), [report(host('a', nodata, v4('2001:db8::1'), ['a']))], { forced: false }).decision).toEqual({
      action: 'leave',
      reason: 'no-ipv4',
    });
  });
  test('hosts that do not exist are skipped', () => {
    const gone = host('gone', { kind: 'nxdomain', ttl: 60 }, { kind: 'nxdomain', ttl: 60 });
    expect(decide(mx([10, 'gone'], [20, 'b']), [report(gone), report(host('b', v4('192.0.2.2'), nodata), 20)], { forced: false }).decision).toEqual({
      action: 'force-ipv4',
      triggers: ['no-aaaa'],
      routes: [['192.0.2.2']],
    });
  });
  test('a force_ipv4 override forces without triggers', () => {
    expect(decide(mx([10, 'a']), [report(host('a', v4('192.0.2.1'), v4('2001:db8::1')))], { forced: true }).decision).toEqual({
      action: 'force-ipv4',
      triggers: ['override'],
      routes: [['192.0.2.1']],
    });
  });
  test('the TTL is the smallest of MX, hosts and probes', () => {
    const h = { ...host('a', v4('192.0.2.1'), v4('2001:db8::1')), ttl: 100 };
    expect(decide({ ...(mx([10, 'a']) as object), ttl: 300 } as MxFacts, [report(h, 10, [{ ...probe(false), ttlMs: 50_000 }])], { forced: false }).ttl).toBe(
      50,
    );
  });
  test('routesFor groups equal preferences and drops repeated addresses', () => {
    expect(
      routesFor([
        report(host('a', v4('192.0.2.1'), nodata), 10),
        report(host('b', v4('192.0.2.1', '192.0.2.2'), nodata), 10),
        report(host('c', v4('192.0.2.3'), nodata), 5),
      ]),
    ).toEqual([['192.0.2.3'], ['192.0.2.1', '192.0.2.2']]);
  });
});
