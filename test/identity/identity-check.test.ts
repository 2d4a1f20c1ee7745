/**
 * The reverse-DNS check of an IPv6 source address, over in-memory DNS: PTR, then the PTR name's AAAA back
 * to the same address. And the state and schedule built from the checks.
 */
import { checkIdentity, reverseName } from '../../src/identity/identity-check';
import { identityState, nextCheckMs, describeIdentity } from '../../src/identity/sender-identity';
import type { DnsRecord } from '../../src/dns/message';
import { stubDns } from '../support/stub-dns';

const ADDRESS = '2001:db8::25';
const REVERSE = reverseName(ADDRESS);
const ptr = (owner: string, target: string, ttl = 3600): DnsRecord => ({ name: owner, type: 'PTR', ttl, target });
const aaaa = (name: string, address: string, ttl = 600): DnsRecord => ({ name, type: 'AAAA', ttl, address });

describe('reverseName', () => {
  test('32 nibbles, least significant first, under ip6.arpa (RFC 3596 §2.5)', () => {
    expect(reverseName('2001:db8::25')).toBe('5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  });
  test('any spelling of the address gives the same name', () => {
    expect(reverseName('2001:0DB8:0:0:0:0:0:0025')).toBe(REVERSE);
    expect(reverseName('2001:db8:0::25')).toBe(REVERSE);
  });
  test('leading and trailing groups of zeros', () => {
    expect(reverseName('::1')).toBe(`1${'.0'.repeat(31)}.ip6.arpa`);
    expect(reverseName('fe80::')).toBe(`${'0.'.repeat(28)}0.8.e.f.ip6.arpa`);
  });
});

describe('checkIdentity', () => {
  test('PTR whose name has AAAA back to the address: pass, resting on the smaller TTL', async () => {
    const dns = stubDns({ [REVERSE]: [ptr(REVERSE, 'mail.sender.example')], 'mail.sender.example': [aaaa('mail.sender.example', ADDRESS, 600)] });
    const check = await checkIdentity(dns, ADDRESS);
    expect(check).toMatchObject({ address: ADDRESS, verdict: 'pass', names: ['mail.sender.example'], ttl: 600 });
  });

  test('no PTR record: no-ptr', async () => {
    expect((await checkIdentity(stubDns({}), ADDRESS)).verdict).toBe('no-ptr');
  });

  test('a PTR whose name has no AAAA: no-forward', async () => {
    const dns = stubDns({
      [REVERSE]: [ptr(REVERSE, 'mail.sender.example')],
      'mail.sender.example': [{ name: 'mail.sender.example', type: 'A', ttl: 60, address: '192.0.2.25' }],
    });
    expect(await checkIdentity(dns, ADDRESS)).toMatchObject({ verdict: 'no-forward', detail: 'PTR mail.sender.example, which has no AAAA record' });
  });

  test('a PTR whose name resolves to another address: forward-mismatch, naming what it resolves to', async () => {
    const dns = stubDns({ [REVERSE]: [ptr(REVERSE, 'mail.sender.example')], 'mail.sender.example': [aaaa('mail.sender.example', '2001:db8::99')] });
    expect(await checkIdentity(dns, ADDRESS)).toMatchObject({
      verdict: 'forward-mismatch',
      detail: 'PTR mail.sender.example, whose AAAA is 2001:db8::99, not 2001:db8::25',
    });
  });

  test('several PTR names: one resolving back is enough', async () => {
    const dns = stubDns({
      [REVERSE]: [ptr(REVERSE, 'old.sender.example'), ptr(REVERSE, 'mail.sender.example')],
      'old.sender.example': [aaaa('old.sender.example', '2001:db8::99')],
      'mail.sender.example': [aaaa('mail.sender.example', ADDRESS)],
    });
    expect((await checkIdentity(dns, ADDRESS)).verdict).toBe('pass');
  });

  test('the PTR lookup failing: unknown (nothing concluded)', async () => {
    const dns = stubDns({ [REVERSE]: [ptr(REVERSE, 'mail.sender.example')] });
    dns.failing.add(REVERSE);
    expect(await checkIdentity(dns, ADDRESS)).toMatchObject({ verdict: 'unknown', ttl: 0 });
  });

  test('the forward lookup failing: unknown, not a mismatch', async () => {
    const dns = stubDns({ [REVERSE]: [ptr(REVERSE, 'mail.sender.example')], 'mail.sender.example': [aaaa('mail.sender.example', ADDRESS)] });
    dns.failing.add('mail.sender.example');
    expect((await checkIdentity(dns, ADDRESS)).verdict).toBe('unknown');
  });

  test('at most four PTR names are followed', async () => {
    const names = Array.from({ length: 10 }, (_, i) => `n${i}.sender.example`);
    const dns = stubDns({ [REVERSE]: names.map((n) => ptr(REVERSE, n)) });
    await checkIdentity(dns, ADDRESS);
    expect(dns.asked.filter((q) => q.endsWith(' AAAA'))).toHaveLength(4);
  });
});

describe('identity state', () => {
  const check = (address: string, verdict: 'pass' | 'no-ptr' | 'unknown', ttl = 3600) => ({ address, verdict, names: [], detail: verdict, ttl });
  test('unready when any source fails; unknown decides nothing', () => {
    expect(identityState(['a', 'b'], false, [check('a', 'pass'), check('b', 'no-ptr')]).unready).toBe(true);
    expect(identityState(['a', 'b'], false, [check('a', 'pass'), check('b', 'unknown')]).unready).toBe(false);
    expect(identityState([], true, []).unready).toBe(false);
  });
  test("checked again after the verdict's TTL, within 5 min and 1 h; a minute after a DNS failure", () => {
    expect(nextCheckMs(identityState(['a'], false, [check('a', 'pass', 60)]))).toBe(300_000);
    expect(nextCheckMs(identityState(['a'], false, [check('a', 'pass', 1800)]))).toBe(1_800_000);
    expect(nextCheckMs(identityState(['a'], false, [check('a', 'no-ptr', 86_400)]))).toBe(3_600_000);
    expect(nextCheckMs(identityState(['a'], false, [check('a', 'unknown')]))).toBe(60_000);
  });
  test('described line by line, saying whether the trigger is active', () => {
    expect(describeIdentity(identityState([], true, []))).toEqual([
      'sender-ipv6: no IPv6 source address (none configured, no global one found): sender-ipv6-unready inert',
    ]);
    expect(describeIdentity(identityState(['2001:db8::25'], false, [check('2001:db8::25', 'no-ptr')]))).toEqual([
      'sender-ipv6 2001:db8::25 (configured): no-ptr, sender-ipv6-unready active — no-ptr',
    ]);
  });
});
