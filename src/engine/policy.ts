/**
 * The policy a decision is made under: the settings, the operator's overrides and what this host is. A
 * reload replaces it whole; the parts a cached decision depends on are named here (ruleFingerprint,
 * dependsOnRule, involvesUs), so the store can tell which decisions a change leaves standing.
 */
import type { Decision, SecureDomains } from './decision.js';
import type { Locality } from './locality.js';
import type { Overrides } from './overrides.js';
import type { RuleSettings } from './rule.js';

/** Most addresses of one MX host that are probed: two show whether a host's IPv6 works without probing a whole pool. */
export const PROBES_PER_HOST = 2;

export interface EngineSettings extends RuleSettings {
  readonly deadlineMs: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly failureTtlMs: number;
  readonly cacheSize: number;
  readonly hostCacheSize: number;
  /** Most addresses probed per MX host. */
  readonly probesPerHost: number;
  /** Most probes one lookup may ask for, most preferred hosts first. */
  readonly maxProbes: number;
  /** Most MX hosts considered per domain, most preferred first. */
  readonly maxMxHosts: number;
  /** Most addresses kept per host and per decision. */
  readonly maxAddresses: number;
  /** How long an expired decision is kept to be answered when its refresh fails (serve-stale); 0 = never. */
  readonly staleTtlMs: number;
  /** Fraction of a decision's lifetime, at its end, in which a hit starts a background refresh; 0 = never. */
  readonly refreshAhead: number;
  readonly dryRun: boolean;
  /**
   * What a forced domain that publishes DANE or MTA-STS answers on maps that route to IP literals: skip
   * (NOTFOUND: the MTA's MX routing keeps the protection), warn (forced, logged at warn) or force (forced,
   * and nothing is looked up). Maps that keep the next hop (Postfix `nexthop: domain`) are not affected.
   */
  readonly secureDomains: SecureDomains;
  /** AD bits from the resolver are believed (`dnssec: trust-ad`): DANE can be found. */
  readonly dnssec: boolean;
  /** Longest wait for the fleet's shared cache on a local miss (with `shared_cache`). */
  readonly sharedReadBudgetMs: number;
  /** How long evidence from the delivery log forces a domain (ipv6-delivery-failed), renewed by new failures. */
  readonly evidenceTtlMs: number;
  /** Most pieces of evidence kept (per domain and per MX host). */
  readonly maxEvidence: number;
}

export interface Policy {
  readonly settings: EngineSettings;
  readonly overrides: Overrides;
  readonly locality: Locality;
}

/** Whether a decision involves this host: a `local` answer, or a route to one of our addresses. */
export function involvesUs(decision: Decision, locality: Locality): boolean {
  if (decision.action === 'leave') return decision.reason === 'local';
  return decision.action === 'force-ipv4' && decision.routes.some((group) => group.some((a) => locality.isOwn(a)));
}

/** The part of the settings a decision's content depends on, as a string (also kept in cache snapshots). */
export function ruleFingerprint(
  settings: RuleSettings & { readonly maxAddresses: number; readonly maxMxHosts: number; readonly secureDomains: SecureDomains; readonly dnssec: boolean },
): string {
  // Whether transport security was looked up, and with which DNSSEC trust, is part of every forced decision.
  const checks = settings.secureDomains === 'force' ? 'off' : settings.dnssec ? 'dnssec' : 'sts';
  const base = `triggers=${[...settings.triggers].sort().join(',')};probe=${settings.probe};addresses=${settings.maxAddresses};mx=${settings.maxMxHosts};secure=${checks}`;
  // Whether our IPv6 identity fails, and who rejects it, decide sender-ipv6-unready: part of the rule then.
  if (!settings.triggers.has('sender-ipv6-unready')) return base;
  return `${base};strict=${settings.strictReceivers?.fingerprint ?? ''};unready=${settings.senderUnready === true}`;
}

export function forcedByOverride(decision: Decision): boolean {
  return decision.action === 'force-ipv4' && decision.triggers.includes('override');
}

/** Whether a decision depends on the rule (triggers, probing); nxdomain and null MX do not, nor overrides. */
export function dependsOnRule(decision: Decision): boolean {
  if (decision.action === 'force-ipv4') return !(decision.triggers.length === 1 && decision.triggers[0] === 'override');
  return decision.action === 'leave' && (decision.reason === 'ipv6-ok' || decision.reason === 'no-ipv4');
}

/** How long a decision may be kept fresh: failure_ttl for a DNS failure, max_ttl for the rest. */
export function lifetimeCap(decision: Decision, settings: EngineSettings): number {
  return decision.action === 'dns-failure' ? settings.failureTtlMs : settings.maxTtlMs;
}
