/**
 * The rule: from gathered facts to a decision and its lifetime. Pure; one test per row of the rule table.
 */
import type { Decision, Trigger } from './decision.js';
import type { HostFacts, HostReport, MxFacts, ProbeFact } from './facts.js';

export interface RuleSettings {
  /** Triggers switched on. */
  readonly triggers: ReadonlySet<Trigger>;
  /** Whether present AAAA records are probed; without probes they count as working. */
  readonly probe: boolean;
  /** MX host names (or suffixes) of receivers that reject IPv6 senders without matching reverse DNS. */
  readonly strictReceivers?: { has(name: string): boolean; readonly fingerprint: string };
  /** This host's IPv6 sending identity fails the reverse-DNS check (see identity/): set while it does. */
  readonly senderUnready?: boolean;
}

export interface Outcome {
  readonly decision: Decision;
  /** Seconds the decision may be served, before clamping. */
  readonly ttl: number;
  /** Addresses past max_addresses left out of the routes. */
  readonly routesDropped?: number;
}

export interface DecideOptions {
  /** A force_ipv4 override applies; `never` overrides are answered before any DNS and never get here. */
  readonly forced?: boolean;
  /** This host's own addresses: a domain whose mail hosts include us is never routed. */
  readonly isOwn?: (address: string) => boolean;
  /** Most addresses in the routes, most preferred first. */
  readonly maxAddresses?: number;
}

/** Triggers that DNS alone can fire for one host. */
export function dnsTriggers(host: HostFacts, settings: RuleSettings): Trigger[] {
  const fired: Trigger[] = [];
  const on = (t: Trigger): boolean => settings.triggers.has(t);
  if (on('cname-mx') && host.aliases.length > 0) fired.push('cname-mx');
  if (on('no-aaaa') && (host.aaaa.kind === 'nodata' || host.aaaa.kind === 'nxdomain') && host.a.kind === 'records') fired.push('no-aaaa');
  if (on('aaaa-error') && host.aaaa.kind === 'failure' && host.a.kind === 'records') fired.push('aaaa-error');
  // Only a host reached over IPv6 (it has AAAA) sees our IPv6 identity; one without A cannot be helped.
  if (on('sender-ipv6-unready') && settings.senderUnready && host.aaaa.kind === 'records' && host.a.kind === 'records' && isStrictReceiver(host, settings))
    fired.push('sender-ipv6-unready');
  return fired;
}

/** Whether a host is a strict receiver's, by its name or the name its CNAME chain ends at. */
function isStrictReceiver(host: HostFacts, settings: RuleSettings): boolean {
  const strict = settings.strictReceivers;
  return strict !== undefined && (strict.has(host.name) || strict.has(host.canonical));
}

/** Whether probes can change the outcome: only when nothing else has decided it already. */
export function probesNeeded(hosts: readonly HostFacts[], forced: boolean, settings: RuleSettings): boolean {
  if (forced || !settings.probe || !settings.triggers.has('ipv6-unreachable')) return false;
  if (hosts.some((h) => h.a.kind === 'failure')) return false;
  return !hosts.some((h) => dnsTriggers(h, settings).length > 0);
}

/** The probe-based trigger for one host, given its probes (none run = none fired). */
export function probeTrigger(host: HostFacts, probes: readonly ProbeFact[], settings: RuleSettings): Trigger[] {
  if (!settings.triggers.has('ipv6-unreachable') || host.aaaa.kind !== 'records' || probes.length === 0) return [];
  return probes.some((p) => p.ok) ? [] : ['ipv6-unreachable'];
}

/** IPv4 addresses grouped by MX preference, most preferred first, each address once. */
export function routesFor(hosts: readonly HostReport[]): string[][] {
  const byPreference = new Map<number, string[]>();
  const seen = new Set<string>();
  for (const host of [...hosts].sort((x, y) => x.preference - y.preference)) {
    if (host.a.kind !== 'records') continue;
    const group = byPreference.get(host.preference) ?? [];
    for (const address of host.a.addresses) {
      if (seen.has(address)) continue;
      seen.add(address);
      group.push(address);
    }
    byPreference.set(host.preference, group);
  }
  return [...byPreference.values()].filter((g) => g.length > 0);
}

function minTtl(values: number[]): number {
  return values.length === 0 ? Infinity : Math.min(...values);
}

/** Keeps preference order and grouping while dropping addresses past `max`. */
export function capRoutes(routes: readonly (readonly string[])[], max: number): string[][] {
  const out: string[][] = [];
  let left = max;
  for (const group of routes) {
    if (left <= 0) break;
    const kept = group.slice(0, left);
    if (kept.length > 0) out.push(kept);
    left -= kept.length;
  }
  return out;
}

/** Whether any address of the hosts (A or AAAA) is one of this host's own. */
function routesToUs(hosts: readonly HostReport[], isOwn: (address: string) => boolean): boolean {
  for (const h of hosts) {
    for (const facts of [h.a, h.aaaa]) if (facts.kind === 'records' && facts.addresses.some(isOwn)) return true;
  }
  return false;
}

/**
 * Decides from the MX facts and the host reports (probes and triggers filled in). A domain whose mail hosts
 * include this host is never routed (Postfix would bounce the mail as looping back to itself), whatever
 * the triggers or overrides say.
 */
export function decide(mx: MxFacts, hosts: readonly HostReport[], options: DecideOptions = {}): Outcome {
  const { forced = false, isOwn = () => false, maxAddresses = Infinity } = options;
  switch (mx.kind) {
    case 'failure':
      return { decision: { action: 'dns-failure', detail: mx.detail }, ttl: 0 };
    case 'nxdomain':
      return { decision: { action: 'leave', reason: 'nxdomain' }, ttl: mx.ttl };
    case 'null-mx':
      // Never overridden: sendmail >= 8.16.1 bounces these correctly (556 5.1.10).
      return { decision: { action: 'leave', reason: 'null-mx' }, ttl: mx.ttl };
    case 'hosts':
      break;
  }
  const failed = hosts.find((h) => h.a.kind === 'failure');
  if (failed && failed.a.kind === 'failure') return { decision: { action: 'dns-failure', detail: failed.a.detail }, ttl: 0 };
  const usable = hosts.filter((h) => !(h.a.kind === 'nxdomain' && h.aaaa.kind !== 'records'));
  const probeTtls = usable.flatMap((h) => h.probes.map((p) => p.ttlMs / 1000));
  const ttl = minTtl([mx.ttl, ...usable.map((h) => h.ttl), ...probeTtls]);
  if (routesToUs(usable, isOwn)) return { decision: { action: 'leave', reason: 'local' }, ttl };
  const all = routesFor(usable);
  // Only special-purpose IPv4 (127.0.0.1, 0.0.0.0, multicast …): nothing a route could ever go to.
  if (all.length === 0 && usable.some((h) => h.a.kind === 'nodata' && (h.a.special?.length ?? 0) > 0))
    return { decision: { action: 'leave', reason: 'special-ipv4' }, ttl };
  const triggers = forced ? (['override'] as const) : [...new Set(usable.flatMap((h) => h.triggers))];
  if (triggers.length === 0) return { decision: { action: 'leave', reason: 'ipv6-ok' }, ttl };
  if (all.length === 0) return { decision: { action: 'leave', reason: 'no-ipv4' }, ttl };
  const routes = capRoutes(all, maxAddresses);
  const routesDropped = all.flat().length - routes.flat().length;
  return { decision: { action: 'force-ipv4', triggers, routes }, ttl, ...(routesDropped ? { routesDropped } : {}) };
}
