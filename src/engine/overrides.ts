/**
 * Operator overrides: `never` (always NOTFOUND, no DNS) and `force_ipv4` (force whatever the triggers say),
 * each a DomainSet. A force_ipv4 pattern ending in `!` forces the domain even when it publishes DANE or
 * MTA-STS (see protection.ts).
 */
import type { DomainSet } from '../domain/domain-set.js';
import type { Decision } from './decision.js';

export interface Overrides {
  readonly never: DomainSet;
  readonly force: DomainSet;
}

export type OverrideMatch = 'never' | 'force' | undefined;

export function matchOverride(overrides: Overrides, domain: string): OverrideMatch {
  if (overrides.never.has(domain)) return 'never';
  return overrides.force.has(domain) ? 'force' : undefined;
}

export function sameOverrides(a: Overrides, b: Overrides): boolean {
  return a.never.fingerprint === b.never.fingerprint && a.force.fingerprint === b.force.fingerprint;
}

/**
 * Whether a decision made earlier still fits the domain's override now: a domain now under `never` has no
 * decision to serve, a domain now forced needs a forced one (or a reason forcing cannot apply), and a
 * decision forced by an override that is gone is void.
 */
export function fitsOverride(decision: Decision, match: OverrideMatch): boolean {
  const byOverride = decision.action === 'force-ipv4' && decision.triggers.includes('override');
  switch (match) {
    case 'never':
      return false;
    case 'force':
      return (
        byOverride ||
        decision.action === 'dns-failure' ||
        (decision.action === 'leave' && (decision.reason === 'nxdomain' || decision.reason === 'null-mx' || decision.reason === 'no-ipv4'))
      );
    case undefined:
      return !byOverride;
  }
}
