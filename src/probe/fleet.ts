/**
 * What the prober needs from the fleet (`shared_cache`): the verdicts other instances found, and a lease so
 * one instance probes an address for all. Defined here, implemented by shared/ for Redis.
 */
import type { FleetShelf } from '../cache/tier.js';
import type { ProbeResult } from './smtp-probe.js';

/** A probe lease: won (this instance probes), lost then the holder's verdict arrived in time, or lost and nothing came (probed here). */
export const LEASE_RESULTS = ['won', 'waited', 'timed-out'] as const;
export type LeaseResult = (typeof LEASE_RESULTS)[number];

export interface ProbeFleet {
  /** Verdicts on SMTP port `port`, keyed by address. */
  verdicts(port: number): FleetShelf<ProbeResult>;
  /** Takes the right to probe `address` for `ms`: true (won), false (another instance holds it), undefined (the fleet cannot say). */
  takeProbeLease(port: number, address: string, ms: number, budgetMs: number): Promise<boolean | undefined>;
  countLease(result: LeaseResult): void;
}
