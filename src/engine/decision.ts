/**
 * A decision is a value: what to do for one domain, and why. Exactly one function per map format turns it
 * into a reply (../maps/format.ts).
 */

/**
 * The vocabularies, defined once: the options table, the snapshot reader, the metrics and the README all
 * take them from here.
 */

/** Triggers the `triggers` option switches: why delivery must be forced onto IPv4. */
export const RULE_TRIGGERS = ['cname-mx', 'no-aaaa', 'aaaa-error', 'ipv6-unreachable', 'sender-ipv6-unready', 'ipv6-delivery-failed'] as const;
/** Every trigger a forced decision may name: the rule's, and a force_ipv4 override. */
export const TRIGGERS = [...RULE_TRIGGERS, 'override'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** Why a domain is left to the MTA's normal routing, found in its DNS data: these are cached. */
export const DATA_LEAVE_REASONS = [
  'nxdomain',
  'null-mx',
  'ipv6-ok',
  'no-ipv4',
  'special-ipv4', // the MX hosts' only IPv4 addresses are special-purpose (loopback, multicast …): no route possible
] as const;

/** Every reason a domain is left alone. */
export const LEAVE_REASONS = [
  ...DATA_LEAVE_REASONS,
  'never', // a `never` override
  'local', // a local domain, or one whose MX hosts are this host: never routed to ourselves
  'deadline', // not decided within the answer deadline; the work goes on in the background
  'no-engine', // served without a decision engine: everything is left alone
] as const;
export type LeaveReason = (typeof LEAVE_REASONS)[number];

/**
 * Transport security a domain's owner asked for that an IP-literal route would drop (it throws away the MX
 * host name every check is tied to): DANE (RFC 7672) and MTA-STS (RFC 8461). Also the reasons a forced
 * decision is answered NOTFOUND under `secure_domains: skip`.
 */
export const PROTECTIONS = ['dane', 'mta-sts'] as const;
export type Protection = (typeof PROTECTIONS)[number];

/** `secure_domains`: what a forced domain that publishes either answers on maps routing to IP literals. */
export const SECURE_DOMAIN_POLICIES = ['skip', 'warn', 'force'] as const;
export type SecureDomains = (typeof SECURE_DOMAIN_POLICIES)[number];

export type Decision =
  | {
      readonly action: 'force-ipv4';
      readonly triggers: readonly Trigger[];
      /** IPv4 addresses by MX preference, most preferred group first. */
      readonly routes: readonly (readonly string[])[];
      /** What the domain publishes (or could not be ruled out to): answered per `secure_domains`. */
      readonly protection?: readonly Protection[];
    }
  | { readonly action: 'leave'; readonly reason: LeaveReason }
  | { readonly action: 'dns-failure'; readonly detail: string };

/** A forced decision held in the cache, as /decisions serves it and `mx4map export` writes it. */
export interface ExportedDecision {
  readonly domain: string;
  readonly triggers: readonly Trigger[];
  readonly routes: readonly (readonly string[])[];
  readonly protection?: readonly Protection[];
  readonly ttlMs: number;
}

/** Decides for one normalised domain. Implementations never reject: failures are decisions too. */
export interface Decider {
  decide(domain: string): Decision | Promise<Decision>;
}

/** The decider used until an engine is configured: fail open for every domain. */
export const leaveEverything: Decider = {
  decide: () => ({ action: 'leave', reason: 'no-engine' }),
};
