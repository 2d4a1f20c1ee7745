/**
 * Whether an IPv6 source address would pass the check strict receivers make of a sender: a PTR record
 * whose name resolves forward (AAAA) to the same address (forward-confirmed reverse DNS; Google's
 * "IPv6 sending guidelines regarding PTR records", RFC 1912 §2.1). Pure over an injected DNS client.
 */
import type { DnsClient } from '../dns/client.js';
import { resolveRRset } from '../dns/rrset.js';
import { canonicalIpv6 } from '../net/ipv6-text.js';
import type { DnsRecord } from '../dns/message.js';

/**
 * pass: a PTR name resolves back to the address. no-ptr: no PTR record. no-forward: the PTR names have no
 * AAAA. forward-mismatch: they have AAAA records, none of them this address. unknown: DNS failed, so
 * nothing is concluded (fail open: an unknown identity never forces anything).
 */
export const IDENTITY_VERDICTS = ['pass', 'no-ptr', 'no-forward', 'forward-mismatch', 'unknown'] as const;
export type IdentityVerdict = (typeof IDENTITY_VERDICTS)[number];

/** Verdicts that strict receivers reject. */
export function failsIdentity(verdict: IdentityVerdict): boolean {
  return verdict === 'no-ptr' || verdict === 'no-forward' || verdict === 'forward-mismatch';
}

export interface IdentityCheck {
  readonly address: string;
  readonly verdict: IdentityVerdict;
  /** The PTR names found (at most MAX_PTR_NAMES). */
  readonly names: readonly string[];
  /** What was seen, in words, for logs and `lookup`. */
  readonly detail: string;
  /** Seconds the verdict rests on (the smallest TTL involved); for `unknown`, 0. */
  readonly ttl: number;
}

/** PTR names followed forward: a reverse zone may publish many, and each costs a query. */
const MAX_PTR_NAMES = 4;

/** The ip6.arpa name of an IPv6 address: its 32 nibbles, least significant first (RFC 3596 §2.5). */
export function reverseName(address: string): string {
  const groups = expandIpv6(address);
  const nibbles = groups.join('').split('').reverse();
  return `${nibbles.join('.')}.ip6.arpa`;
}

/** The eight groups of an IPv6 address, four hex digits each. */
function expandIpv6(address: string): string[] {
  const canonical = canonicalIpv6(address);
  const [head, tail] = canonical.includes('::') ? canonical.split('::') : [canonical, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // (The URL serialisation behind canonicalIpv6 writes an embedded IPv4 tail as two hex groups.)
  const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0'));
}

export async function checkIdentity(dns: DnsClient, address: string): Promise<IdentityCheck> {
  const canonical = canonicalIpv6(address);
  const unknown = (detail: string): IdentityCheck => ({ address: canonical, verdict: 'unknown', names: [], detail, ttl: 0 });
  const ptr = await resolveRRset(dns, reverseName(canonical), 'PTR');
  if (ptr.kind === 'failure') return unknown(`PTR lookup failed: ${ptr.detail}`);
  if (ptr.kind !== 'records') return { address: canonical, verdict: 'no-ptr', names: [], detail: `no PTR record for ${canonical}`, ttl: ptr.ttl };
  const names = [...new Set(ptr.records.map((r) => r.target))].slice(0, MAX_PTR_NAMES);
  const forward = await Promise.all(names.map((name) => resolveRRset(dns, name, 'AAAA')));
  let ttl = ptr.ttl;
  let failed: string | undefined;
  const seen: string[] = [];
  for (const [i, set] of forward.entries()) {
    if (set.kind === 'failure') {
      failed ??= set.detail;
      continue;
    }
    ttl = Math.min(ttl, set.ttl);
    if (set.kind !== 'records') continue;
    // (The record type is shared by A and AAAA, so the AAAA RRset is typed by hand.)
    const addresses = (set.records as ReadonlyArray<Extract<DnsRecord, { type: 'A' | 'AAAA' }>>).map((r) => r.address);
    if (addresses.includes(canonical)) return { address: canonical, verdict: 'pass', names, detail: `PTR ${names[i]}, whose AAAA is ${canonical}`, ttl };
    seen.push(...addresses);
  }
  if (failed !== undefined) return unknown(`AAAA lookup of the PTR name failed: ${failed}`);
  if (seen.length > 0)
    return {
      address: canonical,
      verdict: 'forward-mismatch',
      names,
      detail: `PTR ${names.join(', ')}, whose AAAA is ${[...new Set(seen)].slice(0, 4).join(', ')}, not ${canonical}`,
      ttl,
    };
  return { address: canonical, verdict: 'no-forward', names, detail: `PTR ${names.join(', ')}, which has no AAAA record`, ttl };
}
