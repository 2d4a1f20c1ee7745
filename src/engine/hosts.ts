/**
 * MX host facts, shared by every domain that names the host: its A and AAAA records (looked up together),
 * its CNAME chain and TTL, cached per host and resolved once however many domains ask at the same time.
 */
import type { DnsClient } from '../dns/client.js';
import { type RRset, resolveRRset } from '../dns/rrset.js';
import type { DnsRecord } from '../dns/message.js';
import { TtlCache } from '../cache/ttl-cache.js';
import { type FleetShelf, Tier } from '../cache/tier.js';
import { type AddressFacts, type HostFacts, signed } from './facts.js';
import { isSpecialAddress } from '../net/special-address.js';

/** Special-purpose addresses shown in a host's facts; the rest are only counted out. */
const SPECIAL_SHOWN = 4;

/**
 * The addresses kept for a host: special-purpose ones never (a host with only those has, in effect, none),
 * and at most `maxAddresses` of the rest, in the order the server gave them, before anything is cached,
 * routed, logged or snapshotted.
 */
function addressFacts(set: RRset<Extract<DnsRecord, { type: 'A' | 'AAAA' }>>, maxAddresses: number): AddressFacts {
  switch (set.kind) {
    case 'records': {
      const usable: string[] = [];
      const special: string[] = [];
      let dropped = 0;
      for (const r of set.records) {
        if (isSpecialAddress(r.address)) special.push(r.address);
        else if (usable.includes(r.address)) continue;
        else if (usable.length < maxAddresses) usable.push(r.address);
        else dropped++;
      }
      const shown = special.length ? { special: special.slice(0, SPECIAL_SHOWN) } : {};
      if (usable.length === 0) return { kind: 'nodata', ttl: set.ttl, ...shown, ...signed(set.authenticated) };
      return { kind: 'records', addresses: usable, ttl: set.ttl, ...(dropped ? { dropped } : {}), ...shown, ...signed(set.authenticated) };
    }
    case 'nodata':
    case 'nxdomain':
      return { kind: set.kind, ttl: set.ttl, ...signed(set.authenticated) };
    case 'failure':
      return set;
  }
}

export async function resolveHost(dns: DnsClient, name: string, failureTtl: number, maxAddresses: number): Promise<HostFacts> {
  const [a, aaaa] = await Promise.all([resolveRRset(dns, name, 'A'), resolveRRset(dns, name, 'AAAA')]);
  const aliases = [...new Set([...(a.kind === 'failure' ? [] : a.aliases), ...(aaaa.kind === 'failure' ? [] : aaaa.aliases)])];
  const facts = { a: addressFacts(a, maxAddresses), aaaa: addressFacts(aaaa, maxAddresses) };
  const ttls = [facts.a, facts.aaaa].map((f) => (f.kind === 'failure' ? failureTtl : f.ttl));
  const canonical = a.kind !== 'failure' ? a.canonical : aaaa.kind !== 'failure' ? aaaa.canonical : name;
  return { name, aliases, canonical, ...facts, ttl: Math.min(...ttls) };
}

/** How long host facts are kept and how many addresses; read on every store, so a reload applies at once. */
export interface HostLifetimes {
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly failureTtlMs: number;
  readonly maxAddresses: number;
}

export class HostDirectory {
  private readonly tier: Tier<HostFacts>;

  constructor(
    size: number,
    private readonly lifetimes: () => HostLifetimes,
    now: () => number = Date.now,
  ) {
    this.tier = new Tier(new TtlCache(size, now));
  }

  /** Puts the fleet's copies behind this cache: a host missing here is looked for there before DNS. */
  useShared(fleet: FleetShelf<HostFacts> | undefined, budgetMs: () => number): void {
    this.tier.share(fleet, budgetMs);
  }

  get cacheStats(): { hits: number; misses: number; size: number } {
    return this.tier.stats;
  }

  /**
   * Cached facts for `name`, or resolves them through `dns` (whose queries count for the first asker).
   * `refreshShare`, for a decision being refreshed ahead of its expiry: facts in that last share of their
   * lifetime are resolved anew, so the refresh learns what changed instead of what is about to expire.
   */
  get(name: string, dns: DnsClient, refreshShare = 0): HostFacts | Promise<HostFacts> {
    const cached = this.tier.fresh(name, refreshShare);
    // A cached host lives on only for what is left of its lifetime, so decisions made from it do too.
    if (cached) return { ...cached, ttl: this.tier.cache.remaining(name) / 1000 };
    const { minTtlMs, maxTtlMs, failureTtlMs, maxAddresses } = this.lifetimes();
    return this.tier.fill<HostFacts>(name, {
      refreshing: refreshShare > 0,
      believe: (copy) => ({ ...copy, freshMs: Math.min(maxTtlMs, copy.freshMs), keptMs: 0 }),
      fromFleet: (copy) => copy.value,
      produce: async () => {
        const facts = await resolveHost(dns, name, failureTtlMs / 1000, maxAddresses);
        const failed = facts.a.kind === 'failure' || facts.aaaa.kind === 'failure';
        const ttlMs = failed ? failureTtlMs : Math.min(maxTtlMs, Math.max(minTtlMs, facts.ttl * 1000));
        return { result: facts, keep: { value: facts, ttlMs, share: !failed } };
      },
    }).result;
  }
}
