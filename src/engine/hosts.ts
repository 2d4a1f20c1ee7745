/**
 * MX host facts, shared by every domain that names the host: its A and AAAA records (looked up together),
 * its CNAME chain and TTL, cached per host and resolved once however many domains ask at the same time.
 */
import { DnsClient } from '../dns/client.js';
import { RRset, resolveRRset } from '../dns/rrset.js';
import { DnsRecord } from '../dns/message.js';
import { SingleFlight, TtlCache } from '../cache/ttl-cache.js';
import { AddressFacts, HostFacts } from './facts.js';

function addressFacts(set: RRset<Extract<DnsRecord, { type: 'A' | 'AAAA' }>>): AddressFacts {
  switch (set.kind) {
    case 'records':
      return { kind: 'records', addresses: set.records.map((r) => r.address), ttl: set.ttl };
    case 'nodata':
    case 'nxdomain':
      return { kind: set.kind, ttl: set.ttl };
    case 'failure':
      return set;
  }
}

export async function resolveHost(dns: DnsClient, name: string, failureTtl: number): Promise<HostFacts> {
  const [a, aaaa] = await Promise.all([resolveRRset(dns, name, 'A'), resolveRRset(dns, name, 'AAAA')]);
  const aliases = [...new Set([...(a.kind === 'failure' ? [] : a.aliases), ...(aaaa.kind === 'failure' ? [] : aaaa.aliases)])];
  const facts = { a: addressFacts(a), aaaa: addressFacts(aaaa) };
  const ttls = [facts.a, facts.aaaa].map((f) => (f.kind === 'failure' ? failureTtl : f.ttl));
  const canonical = a.kind !== 'failure' ? a.canonical : aaaa.kind !== 'failure' ? aaaa.canonical : name;
  return { name, aliases, canonical, ...facts, ttl: Math.min(...ttls) };
}

/** How long host facts are kept; read on every store, so a reload applies at once. */
export interface HostLifetimes {
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly failureTtlMs: number;
}

export class HostDirectory {
  private readonly cache: TtlCache<string, HostFacts>;
  private readonly flights = new SingleFlight<string, HostFacts>();

  constructor(
    size: number,
    private readonly lifetimes: () => HostLifetimes,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(size, now);
  }

  get cacheStats(): { hits: number; misses: number; size: number } {
    return { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size };
  }

  /** Cached facts for `name`, or resolves them through `dns` (whose queries count for the first asker). */
  get(name: string, dns: DnsClient): HostFacts | Promise<HostFacts> {
    const cached = this.cache.get(name);
    // A cached host lives on only for what is left of its lifetime, so decisions made from it do too.
    if (cached) return { ...cached, ttl: this.cache.remaining(name) / 1000 };
    return this.flights.run(name, async () => {
      const { minTtlMs, maxTtlMs, failureTtlMs } = this.lifetimes();
      const facts = await resolveHost(dns, name, failureTtlMs / 1000);
      const failed = facts.a.kind === 'failure' || facts.aaaa.kind === 'failure';
      this.cache.set(name, facts, failed ? failureTtlMs : Math.min(maxTtlMs, Math.max(minTtlMs, facts.ttl * 1000)));
      return facts;
    });
  }
}
