/**
 * Transport security a domain's owner asked for, looked up before the domain is forced onto an IP-literal
 * route — which throws away the MX host name that DANE and MTA-STS are tied to:
 *  - DANE (RFC 7672 §2.2): the MX answer validated (AD from a resolver the operator declared validating),
 *    and for at least one MX host its A answer validated and a validated TLSA RRset at _25._tcp.<host>. For
 *    a host behind a CNAME chain (validated with its A answer), the chain's end is asked first, then the
 *    host's own name (§2.2.2).
 *  - MTA-STS (RFC 8461 §3.1): a `v=STSv1` TXT record at _mta-sts.<domain>.
 * All lookups go out at once: one more round trip for a forced domain (two for a signed CNAME'd host
 * without TLSA at its chain's end), none for the rest. A lookup that fails (SERVFAIL — which a validating
 * resolver answers for a bogus TLSA RRset — or a timeout) cannot rule protection out: it counts as found,
 * so the domain is left to the MTA, and the finding is kept for failure_ttl only.
 */
import type { DnsClient } from '../dns/client.js';
import { type RRset, resolveRRset } from '../dns/rrset.js';
import { type DnsRecord, MAX_KEPT } from '../dns/message.js';
import type { Protection } from './decision.js';
import type { HostFacts, MxFacts } from './facts.js';

type Tlsa = Extract<DnsRecord, { type: 'TLSA' }>;

/** What one MX host's TLSA lookup found: validated records, validated denial, unvalidated data, or a failure. */
export interface TlsaFact {
  readonly host: string;
  /** The TLSA name asked last. */
  readonly name: string;
  readonly found: 'tlsa' | 'none' | 'insecure' | 'failure';
  /** Records of the validated RRset; usages 2 and 3 (DANE-TA, DANE-EE) are the ones SMTP uses. */
  readonly records?: readonly { readonly usage: number; readonly selector: number; readonly matchingType: number }[];
  readonly detail?: string;
}

export interface DaneFacts {
  /** Why no TLSA was asked: DNSSEC answers not trusted (`dnssec: off`), or the MX answer not validated. */
  readonly skipped?: 'dnssec-off' | 'mx-insecure' | 'no-validated-host';
  readonly hosts: readonly TlsaFact[];
}

export type StsFact =
  | { readonly found: 'record'; readonly record: string }
  | { readonly found: 'none' }
  | { readonly found: 'failure'; readonly detail: string };

export interface ProtectionFacts {
  readonly dane: DaneFacts;
  readonly mtaSts: StsFact;
  /** What the domain is treated as publishing: found, or not ruled out. DANE first. */
  readonly found: readonly Protection[];
  /** Seconds the finding holds: the answers' TTLs, failure_ttl when a lookup failed. */
  readonly ttl: number;
}

export interface ProtectionOptions {
  /** AD is trusted (`dnssec: trust-ad`): DANE can be found. */
  readonly dnssec: boolean;
  /** Seconds a finding from a failed lookup is kept. */
  readonly failureTtl: number;
}

const STS_VERSION = /^v=STSv1\s*(;|$)/;

function tlsaFact(host: string, name: string, set: RRset<Tlsa>): TlsaFact {
  switch (set.kind) {
    case 'failure':
      return { host, name, found: 'failure', detail: set.detail };
    case 'records':
      return set.authenticated
        ? { host, name, found: 'tlsa', records: set.records.map(({ usage, selector, matchingType }) => ({ usage, selector, matchingType })) }
        : { host, name, found: 'insecure' };
    default:
      return { host, name, found: set.authenticated ? 'none' : 'insecure' };
  }
}

/** The TLSA finding for one host whose A answer validated; `ttl` collects the answers' TTLs. */
async function hostTlsa(dns: DnsClient, host: HostFacts, ttls: number[]): Promise<TlsaFact> {
  const names = host.aliases.length > 0 ? [host.canonical, host.name] : [host.name];
  let fact: TlsaFact | undefined;
  for (const base of names) {
    const name = `_25._tcp.${base}`;
    const set = await resolveRRset(dns, name, 'TLSA');
    if (set.kind !== 'failure') ttls.push(set.ttl);
    fact = tlsaFact(host.name, name, set);
    if (fact.found !== 'none') break;
  }
  return fact as TlsaFact;
}

async function dane(dns: DnsClient, mx: MxFacts, hosts: readonly HostFacts[], options: ProtectionOptions, ttls: number[]): Promise<DaneFacts> {
  if (!options.dnssec) return { skipped: 'dnssec-off', hosts: [] };
  if (mx.kind !== 'hosts' || !mx.authenticated) return { skipped: 'mx-insecure', hosts: [] };
  // A host whose addresses are not validated is not DANE-authenticated, whatever its TLSA records say.
  const validated = hosts.filter((h) => h.a.kind === 'records' && h.a.authenticated === true);
  if (validated.length === 0) return { skipped: 'no-validated-host', hosts: [] };
  return { hosts: await Promise.all(validated.map((h) => hostTlsa(dns, h, ttls))) };
}

async function mtaSts(dns: DnsClient, domain: string, ttls: number[]): Promise<StsFact> {
  const set = await resolveRRset(dns, `_mta-sts.${domain}`, 'TXT');
  if (set.kind === 'failure') return { found: 'failure', detail: set.detail };
  ttls.push(set.ttl);
  const record = set.kind === 'records' ? set.records.find((r) => STS_VERSION.test(r.text)) : undefined;
  if (record) return { found: 'record', record: record.text };
  // A policy record among those past the cut cannot be ruled out: not knowing counts as protected.
  if (set.kind === 'records' && set.incomplete)
    return { found: 'failure', detail: `more TXT records than the ${MAX_KEPT} read; a v=STSv1 among the rest cannot be ruled out` };
  return { found: 'none' };
}

export async function checkProtection(
  dns: DnsClient,
  domain: string,
  mx: MxFacts,
  hosts: readonly HostFacts[],
  options: ProtectionOptions,
): Promise<ProtectionFacts> {
  const ttls: number[] = [];
  const [daneFacts, sts] = await Promise.all([dane(dns, mx, hosts, options, ttls), mtaSts(dns, domain, ttls)]);
  const daneFound = daneFacts.hosts.some((h) => h.found === 'tlsa' || h.found === 'failure');
  const found: Protection[] = [...(daneFound ? (['dane'] as const) : []), ...(sts.found === 'none' ? [] : (['mta-sts'] as const))];
  const failed = sts.found === 'failure' || daneFacts.hosts.some((h) => h.found === 'failure');
  return { dane: daneFacts, mtaSts: sts, found, ttl: Math.min(...ttls, failed ? options.failureTtl : Infinity) };
}
