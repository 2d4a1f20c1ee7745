/** The MX step of the rule (RFC 5321 §5.1, RFC 7505): a domain's mail hosts, or why there are none. */
import type { DnsClient } from '../dns/client.js';
import { resolveRRset } from '../dns/rrset.js';
import { type MxFacts, signed } from './facts.js';

export async function resolveMx(dns: DnsClient, domain: string): Promise<MxFacts> {
  const set = await resolveRRset(dns, domain, 'MX');
  switch (set.kind) {
    case 'failure':
      return set;
    case 'nxdomain':
      return { kind: 'nxdomain', ttl: set.ttl };
    case 'nodata':
      // No MX: the domain (its canonical name, when it is an alias) is its own mail host at preference 0.
      return {
        kind: 'hosts',
        implicit: true,
        aliases: set.aliases,
        hosts: [{ preference: 0, name: set.canonical }],
        ttl: set.ttl,
        ...signed(set.authenticated),
      };
    case 'records': {
      // A null MX ("0 ."): the domain accepts no mail. Mixed with other MX records it is still honoured.
      if (set.records.some((r) => r.exchange === '' || r.exchange === '.')) return { kind: 'null-mx', ttl: set.ttl };
      const seen = new Set<string>();
      const hosts = [...set.records]
        .sort((x, y) => x.priority - y.priority)
        .filter((r) => !seen.has(r.exchange) && seen.add(r.exchange))
        .map((r) => ({ preference: r.priority, name: r.exchange }));
      return { kind: 'hosts', implicit: false, aliases: set.aliases, hosts, ttl: set.ttl, ...signed(set.authenticated) };
    }
  }
}

/**
 * The most preferred `max` MX hosts: a zone can name thousands (one domain with 2,800 hosts sent 5,646
 * queries and 5,600 probes at once). sendmail itself stops at 100; a decision needs the few it would try.
 */
export function limitMxHosts(mx: MxFacts, max: number): MxFacts {
  if (mx.kind !== 'hosts' || mx.hosts.length <= max) return mx;
  return { ...mx, hosts: mx.hosts.slice(0, max), dropped: mx.hosts.length - max };
}
