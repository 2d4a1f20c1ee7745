/**
 * What "this host" is, so that mx4map never answers a route to ourselves. Postfix asks its transport map
 * for every recipient, its own names included; an IPv4 route to one of our own addresses makes Postfix
 * bounce the mail ("mail for … loops back to myself"). A domain that is local — named in local_domains,
 * this host's own name — or whose MX hosts resolve to one of our addresses is answered NOTFOUND (reason
 * `local`), so the MTA delivers it itself or applies its own loop rules.
 *
 * Addresses are compared as our DNS decoder writes them (IPv6 in canonical form, RFC 5952); configured ones
 * may be written any way. Our addresses: those of the non-loopback interfaces (addresses on `lo` are loopback, special already,
 * or anycast set-ups) and the configured local_addresses (NAT, anycast, proxies).
 */
import type { NetworkInterfaceInfo } from 'node:os';
import { BlockList, isIP } from 'node:net';
import { DomainSet } from '../domain/domain-set.js';
import { canonicalIpv6 } from '../net/ipv6-text.js';

export interface Locality {
  /** Whether a domain is local: a local_domains pattern matches it, or it is this host's own name. */
  isLocalDomain(domain: string): boolean;
  /** Whether an address (A or AAAA text) is one of ours. */
  isOwn(address: string): boolean;
  /** Equal for equal localities, so a refresh that changes nothing costs nothing. */
  readonly fingerprint: string;
  /** Our addresses, for logs and `lookup`. */
  readonly addresses: readonly string[];
}

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** A local_addresses item: an address or a prefix (`198.51.100.25`, `2001:db8::/64`); or why it is not one. */
export function parseAddressItem(text: string): { address: string; prefix: number; family: 4 | 6 } | { problem: string } {
  const [address, bits, extra] = text.trim().split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return { problem: `"${text}" is not an IP address or prefix (198.51.100.25, 2001:db8::/64)` };
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
  if (!(prefix >= 0 && prefix <= max)) return { problem: `"${text}" has a prefix length outside 0-${max}` };
  return { address, prefix, family: family as 4 | 6 };
}

/** Addresses of the non-internal interfaces. */
export function interfaceAddresses(table: InterfaceTable): string[] {
  const out: string[] = [];
  for (const entries of Object.values(table)) for (const e of entries ?? []) if (!e.internal) out.push(e.address.replace(/%.*$/, ''));
  return out;
}

export function buildLocality(options: {
  domains: DomainSet;
  hostNames: readonly string[];
  configured: readonly string[];
  interfaces: readonly string[];
}): Locality {
  // Whole addresses in a Set (a lookup per address of every decision: cheap); prefixes in a BlockList
  // per family (one holding a v4-mapped prefix would match IPv4 addresses too).
  const exact = new Set<string>();
  const lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  let prefixes = 0;
  const shown: string[] = [];
  for (const item of [...options.interfaces, ...options.configured]) {
    const parsed = parseAddressItem(item);
    if ('problem' in parsed) continue; // configured items are checked when the configuration is read
    const type = parsed.family === 4 ? 'ipv4' : 'ipv6';
    if (parsed.prefix === (parsed.family === 4 ? 32 : 128)) exact.add(parsed.family === 6 ? canonicalIpv6(parsed.address) : parsed.address);
    else {
      lists[type].addSubnet(parsed.address, parsed.prefix, type);
      prefixes++;
    }
    shown.push(item);
  }
  const { domains } = options;
  const names = new Set(options.hostNames.map((n) => n.trim().toLowerCase().replace(/\.$/, '')).filter((n) => n !== '' && n !== 'localhost'));
  const sorted = [...new Set(shown)].sort();
  return {
    isLocalDomain: (domain) => names.has(domain) || domains.has(domain),
    addresses: sorted,
    fingerprint: `${domains.fingerprint}|${[...names].sort().join(',')}|${sorted.join(',')}`,
    isOwn(address: string): boolean {
      if (exact.has(address)) return true;
      if (prefixes === 0) return false;
      const family = isIP(address);
      if (family === 0) return false;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      return lists[type].check(address, type);
    },
  };
}

/** No local names or addresses: for tests and for callers that do not need the check. */
export function nowhere(): Locality {
  return buildLocality({ domains: new DomainSet(), hostNames: [], configured: [], interfaces: [] });
}
