/** What the engine learns about a domain before the rule decides: plain values, printed by `lookup`. */
import type { Trigger } from './decision.js';

/** `authenticated` only when true: unsigned answers (the common case, and all of them without DNSSEC) carry nothing. */
export function signed(authenticated: boolean): { authenticated?: true } {
  return authenticated ? { authenticated: true } : {};
}

export interface MxHost {
  readonly preference: number;
  readonly name: string;
}

export type MxFacts =
  | { readonly kind: 'nxdomain'; readonly ttl: number }
  | { readonly kind: 'null-mx'; readonly ttl: number }
  | { readonly kind: 'failure'; readonly detail: string }
  | {
      readonly kind: 'hosts';
      /** True when the domain has no MX and is its own mail host (RFC 5321 §5.1). */
      readonly implicit: boolean;
      /** CNAMEs followed from the domain itself (legal for a mail domain). */
      readonly aliases: readonly string[];
      readonly hosts: readonly MxHost[];
      readonly ttl: number;
      /** The answer carried AD from the resolver (DNSSEC-validated), with `dnssec: trust-ad`. */
      readonly authenticated?: boolean;
      /** MX hosts past max_mx_hosts, least preferred, not considered. */
      readonly dropped?: number;
    };

export type AddressFacts =
  | {
      readonly kind: 'records';
      /** Usable addresses, at most max_addresses of them. */
      readonly addresses: readonly string[];
      readonly ttl: number;
      /** Usable addresses past max_addresses, not kept. */
      readonly dropped?: number;
      /** Special-purpose addresses published and ignored (a few, for the reason trail). */
      readonly special?: readonly string[];
      /** The answer (its CNAME chain included) carried AD: DNSSEC-validated. */
      readonly authenticated?: boolean;
    }
  /** No records, or (with `special`) only special-purpose addresses that can never be a mail host. */
  | { readonly kind: 'nodata'; readonly ttl: number; readonly special?: readonly string[]; readonly authenticated?: boolean }
  | { readonly kind: 'nxdomain'; readonly ttl: number; readonly authenticated?: boolean }
  | { readonly kind: 'failure'; readonly detail: string };

export interface HostFacts {
  readonly name: string;
  /** Every name in the host's CNAME chain (empty for a proper host name). */
  readonly aliases: readonly string[];
  /** The name the chain ends at (the host itself when it is no alias). */
  readonly canonical: string;
  readonly a: AddressFacts;
  readonly aaaa: AddressFacts;
  /** Seconds these facts stay valid. */
  readonly ttl: number;
}

export interface ProbeFact {
  readonly address: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
  readonly cached: boolean;
  readonly ttlMs: number;
}

export interface HostReport extends HostFacts {
  readonly preference: number;
  readonly probes: readonly ProbeFact[];
  readonly triggers: readonly Trigger[];
}
