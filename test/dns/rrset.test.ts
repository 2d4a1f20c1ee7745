import type { DnsClient, QueryOutcome } from '../../src/dns/client';
import { type DnsRecord, RCODE } from '../../src/dns/message';
import { MAX_CNAME_LINKS, resolveRRset } from '../../src/dns/rrset';

/** A scripted DNS client: answers from a table keyed "name TYPE", like an authoritative server that does not follow CNAMEs. */
function scripted(table: Record<string, { rcode?: number; answers?: DnsRecord[]; soa?: number; ad?: boolean } | 'fail'>): DnsClient & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async query(name, type): Promise<QueryOutcome> {
      asked.push(`${name} ${type}`);
      const entry = table[`${name} ${type}`];
      if (entry === 'fail') return { kind: 'failure', detail: 'timeout' };
      const e = entry ?? { rcode: RCODE.NXDOMAIN };
      const authorities: DnsRecord[] = e.soa !== undefined ? [{ name: 'test', type: 'SOA', ttl: 3600, minimum: e.soa }] : [];
      return {
        kind: 'response',
        response: {
          id: 1,
          rcode: e.rcode ?? RCODE.NOERROR,
          truncated: false,
          authenticated: e.ad ?? false,
          question: { name, type: 1 },
          answers: e.answers ?? [],
          authorities,
          answersDropped: 0,
        },
      };
    },
  };
}

const cname = (name: string, target: string, ttl = 300): DnsRecord => ({ name, type: 'CNAME', ttl, target });
const a = (name: string, address: string, ttl = 300): DnsRecord => ({ name, type: 'A', ttl, address });

describe('resolveRRset', () => {
  test('records with the smallest TTL along the chain, and the aliases followed', async () => {
    const dns = scripted({ 'x.test A': { answers: [cname('x.test', 'y.test', 30), a('y.test', '192.0.2.1', 600)] } });
    expect(await resolveRRset(dns, 'x.test', 'A')).toEqual({
      kind: 'records',
      records: [a('y.test', '192.0.2.1', 600)],
      aliases: ['x.test'],
      canonical: 'y.test',
      ttl: 30,
      authenticated: false,
    });
  });

  test('a chain the server did not follow is followed by asking again', async () => {
    const dns = scripted({ 'x.test A': { answers: [cname('x.test', 'y.test')] }, 'y.test A': { answers: [a('y.test', '192.0.2.1')] } });
    expect(await resolveRRset(dns, 'x.test', 'A')).toMatchObject({ kind: 'records', aliases: ['x.test'] });
    expect(dns.asked).toEqual(['x.test A', 'y.test A']);
  });

  test('NODATA after a followed chain (SOA present) is final', async () => {
    const dns = scripted({ 'x.test AAAA': { answers: [cname('x.test', 'y.test')], soa: 90 } });
    expect(await resolveRRset(dns, 'x.test', 'AAAA')).toEqual({ kind: 'nodata', aliases: ['x.test'], canonical: 'y.test', ttl: 90, authenticated: false });
    expect(dns.asked).toHaveLength(1);
  });

  test('negative TTL is min(SOA TTL, SOA MINIMUM); without a SOA a default applies', async () => {
    expect(await resolveRRset(scripted({ 'n.test A': { rcode: RCODE.NXDOMAIN, soa: 7200 } }), 'n.test', 'A')).toMatchObject({ kind: 'nxdomain', ttl: 3600 });
    expect(await resolveRRset(scripted({ 'n.test A': { rcode: RCODE.NXDOMAIN } }), 'n.test', 'A')).toMatchObject({ kind: 'nxdomain', ttl: 60 });
  });

  test('a CNAME loop is a failure', async () => {
    const dns = scripted({ 'l1.test A': { answers: [cname('l1.test', 'l2.test')] }, 'l2.test A': { answers: [cname('l2.test', 'l1.test')] } });
    expect(await resolveRRset(dns, 'l1.test', 'A')).toEqual({ kind: 'failure', detail: 'CNAME loop at l1.test' });
  });

  test(`a chain longer than ${MAX_CNAME_LINKS} links is a failure (a 20-link chain)`, async () => {
    const answers = Array.from({ length: 20 }, (_, i) => cname(`c${i}.test`, `c${i + 1}.test`));
    const dns = scripted({ 'c0.test A': { answers: [...answers, a('c20.test', '192.0.2.1')] } });
    expect(await resolveRRset(dns, 'c0.test', 'A')).toMatchObject({ kind: 'failure', detail: expect.stringMatching(/longer than 8 links/) });
  });

  test('authenticated only when every response the answer was read from carried AD', async () => {
    const signed = scripted({ 'x.test A': { answers: [cname('x.test', 'y.test')], ad: true }, 'y.test A': { answers: [a('y.test', '192.0.2.1')], ad: true } });
    expect(await resolveRRset(signed, 'x.test', 'A')).toMatchObject({ kind: 'records', authenticated: true });
    const halfSigned = scripted({ 'x.test A': { answers: [cname('x.test', 'y.test')], ad: true }, 'y.test A': { answers: [a('y.test', '192.0.2.1')] } });
    expect(await resolveRRset(halfSigned, 'x.test', 'A')).toMatchObject({ kind: 'records', authenticated: false });
    const deniedSigned = scripted({ 'n.test TLSA': { rcode: RCODE.NXDOMAIN, ad: true } });
    expect(await resolveRRset(deniedSigned, 'n.test', 'TLSA')).toMatchObject({ kind: 'nxdomain', authenticated: true });
  });

  test('a query failure is passed on', async () => {
    expect(await resolveRRset(scripted({ 'x.test A': 'fail' }), 'x.test', 'A')).toEqual({ kind: 'failure', detail: 'timeout' });
  });
});
