/** A zone giving every row of the rule its own domain (documentation addresses only). */
import { networkInterfaces } from 'node:os';
import type { Zone } from './dns-fixture.js';

/**
 * mx4map never routes to this machine's own addresses (they are answered `local`): a fixture route that
 * is one of them would change the answers. Some test machines do have documentation addresses on their
 * interfaces (one seen with 192.0.2.2/24), so say so plainly rather than fail obscurely.
 */
export function assertNoOwnAddresses(zone: Zone): Zone {
  const own = new Set(Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((i) => !i.internal).map((i) => i.address)));
  for (const [name, records] of Object.entries(zone.records)) {
    for (const r of records) {
      if ((r.type === 'A' || r.type === 'AAAA') && own.has(r.address))
        throw new Error(`test zone: ${name} has ${r.address}, an address of this machine; mx4map would answer it "local". Change the fixture address.`);
    }
  }
  return zone;
}

export const V6_GREETS = '2001:db8::a';
export const V6_REFUSES = '2001:db8::b';
export const V6_SILENT = '2001:db8::c';
export const V6_TEMPFAIL = '2001:db8::d';

export function ruleZone(): Zone {
  return assertNoOwnAddresses({
    negativeTtl: 120,
    records: {
      // cname-mx: the MX host is an alias
      'cname-mx.test': [{ type: 'MX', exchange: 'mail.cname-mx.test', priority: 10 }],
      'mail.cname-mx.test': [{ type: 'CNAME', target: 'real.cname-mx.test', ttl: 200 }],
      'real.cname-mx.test': [
        { type: 'A', address: '192.0.2.10' },
        { type: 'AAAA', address: V6_GREETS },
      ],
      // the same, and it publishes MTA-STS: a literal route would drop it
      'sts.test': [{ type: 'MX', exchange: 'mail.sts.test', priority: 10 }],
      'mail.sts.test': [{ type: 'CNAME', target: 'real.sts.test' }],
      'real.sts.test': [{ type: 'A', address: '192.0.2.12' }],
      '_mta-sts.sts.test': [{ type: 'TXT', text: 'v=STSv1; id=20261125' }],
      // no-aaaa
      'no-aaaa.test': [{ type: 'MX', exchange: 'mx.no-aaaa.test', priority: 10 }],
      'mx.no-aaaa.test': [{ type: 'A', address: '192.0.2.20' }],
      // aaaa-error: AAAA SERVFAIL while A resolves
      'aaaa-error.test': [{ type: 'MX', exchange: 'mx.aaaa-error.test', priority: 10 }],
      'mx.aaaa-error.test': [{ type: 'A', address: '192.0.2.30' }],
      // ipv6-unreachable: AAAA present, SMTP over it refused
      'unreachable.test': [{ type: 'MX', exchange: 'mx.unreachable.test', priority: 10 }],
      'mx.unreachable.test': [
        { type: 'A', address: '192.0.2.40' },
        { type: 'AAAA', address: V6_REFUSES },
      ],
      // silent and 4xx greeting also count as unreachable
      'silent.test': [{ type: 'MX', exchange: 'mx.silent.test', priority: 10 }],
      'mx.silent.test': [
        { type: 'A', address: '192.0.2.41' },
        { type: 'AAAA', address: V6_SILENT },
      ],
      'tempfail.test': [{ type: 'MX', exchange: 'mx.tempfail.test', priority: 10 }],
      'mx.tempfail.test': [
        { type: 'A', address: '192.0.2.42' },
        { type: 'AAAA', address: V6_TEMPFAIL },
      ],
      // ipv6-ok: a proper host name with working IPv6 SMTP
      'ipv6-ok.test': [{ type: 'MX', exchange: 'mx.ipv6-ok.test', priority: 10 }],
      'mx.ipv6-ok.test': [
        { type: 'A', address: '192.0.2.50', ttl: 600 },
        { type: 'AAAA', address: V6_GREETS, ttl: 600 },
      ],
      // null MX
      'null-mx.test': [{ type: 'MX', exchange: '', priority: 0 }],
      // no MX: the domain is its own mail host
      'implicit.test': [{ type: 'A', address: '192.0.2.60' }],
      // a trigger fires but there is no IPv4 address
      'no-ipv4.test': [{ type: 'MX', exchange: 'mx.no-ipv4.test', priority: 10 }],
      'mx.no-ipv4.test': [{ type: 'CNAME', target: 'v6only.no-ipv4.test' }],
      'v6only.no-ipv4.test': [{ type: 'AAAA', address: V6_GREETS }],
      // MX lookup fails; a host's A lookup fails
      'servfail.test': [],
      'host-servfail.test': [{ type: 'MX', exchange: 'mx.host-servfail.test', priority: 10 }],
      'mx.host-servfail.test': [{ type: 'A', address: '192.0.2.80' }],
      // an MX host that does not exist is skipped
      'host-nx.test': [
        { type: 'MX', exchange: 'gone.host-nx.test', priority: 10 },
        { type: 'MX', exchange: 'mx2.host-nx.test', priority: 20 },
      ],
      'mx2.host-nx.test': [{ type: 'A', address: '192.0.2.70' }],
      // preference groups: two hosts at 10, one at 20
      'multi.test': [
        { type: 'MX', exchange: 'b.multi.test', priority: 10 },
        { type: 'MX', exchange: 'c.multi.test', priority: 20 },
        { type: 'MX', exchange: 'a.multi.test', priority: 10 },
      ],
      'a.multi.test': [{ type: 'A', address: '192.0.2.1' }],
      'b.multi.test': [
        { type: 'A', address: '192.0.2.5' },
        { type: 'A', address: '192.0.2.3' },
      ],
      'c.multi.test': [{ type: 'A', address: '192.0.2.4' }],
      // a mail domain that is itself a CNAME (legal), to a domain whose MX has no AAAA
      'alias-domain.test': [{ type: 'CNAME', target: 'no-aaaa.test' }],
      // CNAME loop at an MX host
      'loop.test': [{ type: 'MX', exchange: 'l1.loop.test', priority: 10 }],
      'l1.loop.test': [{ type: 'CNAME', target: 'l2.loop.test' }],
      'l2.loop.test': [{ type: 'CNAME', target: 'l1.loop.test' }],
      // shared MX hosts: many domains, one provider
      'shop1.test': [{ type: 'MX', exchange: 'mx.provider.test', priority: 10 }],
      'shop2.test': [{ type: 'MX', exchange: 'mx.provider.test', priority: 10 }],
      'shop3.test': [{ type: 'MX', exchange: 'mx.provider.test', priority: 10 }],
      'mx.provider.test': [{ type: 'CNAME', target: 'edge.provider.test' }],
      'edge.provider.test': [{ type: 'A', address: '192.0.2.90' }],
      // MX lookup never answered; answered after 2 s
      'blackhole.test': [],
      'slow.test': [{ type: 'MX', exchange: 'mx.no-aaaa.test', priority: 10 }],
    },
    behaviours: {
      'mx.aaaa-error.test': { AAAA: 'servfail' },
      'servfail.test': { MX: 'servfail' },
      'mx.host-servfail.test': { A: 'servfail' },
      'blackhole.test': { '*': 'silent' },
      'slow.test': { MX: 'slow' },
    },
  });
}
