/**
 * The fleet's shared memory, as the engine and the prober see it: reads that take at most the budget they
 * are given and never throw (a miss, an error, a tier that is down all read as "nothing"), writes that never
 * wait. The Redis implementation is redis-tier.ts; without `shared_cache` there is none.
 */
import type { Decision } from '../engine/decision.js';
import type { HostFacts } from '../engine/facts.js';
import type { Evidence } from '../engine/evidence.js';
import type { ProbeResult } from '../probe/smtp-probe.js';
import { LEASE_RESULTS, type LeaseResult } from '../probe/fleet.js';
import type { SharedDecision } from './shared-entries.js';

/** How a read ended: found, not there, a value that did not check out, failed, out of time, or not tried (the tier is down or saturated). */
export const READ_RESULTS = ['hit', 'miss', 'invalid', 'error', 'budget', 'skipped'] as const;
export type ReadResult = (typeof READ_RESULTS)[number];
export const WRITE_RESULTS = ['ok', 'error', 'skipped'] as const;
export type WriteResult = (typeof WRITE_RESULTS)[number];

export interface SharedCounters {
  readonly decisionReads: Record<ReadResult, number>;
  readonly probeReads: Record<ReadResult, number>;
  readonly hostReads: Record<ReadResult, number>;
  readonly evidenceReads: Record<ReadResult, number>;
  readonly writes: Record<WriteResult, number>;
  readonly leases: Record<LeaseResult, number>;
}

export function emptyCounters(): SharedCounters {
  const zero = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  return {
    decisionReads: zero(READ_RESULTS),
    probeReads: zero(READ_RESULTS),
    hostReads: zero(READ_RESULTS),
    evidenceReads: zero(READ_RESULTS),
    writes: zero(WRITE_RESULTS),
    leases: zero(LEASE_RESULTS),
  };
}

export interface SharedProbe extends ProbeResult {
  /** Valid for this long from now. */
  readonly ttlMs: number;
}

export interface SharedTier {
  readonly counters: SharedCounters;
  /** Whether the last exchange with the tier worked. */
  readonly up: boolean;
  readDecision(rule: string, domain: string, budgetMs: number): Promise<SharedDecision | undefined>;
  writeDecision(rule: string, domain: string, decision: Decision, freshMs: number, staleMs: number): void;
  /** An MX host's facts as another instance resolved them; at most `maxAddresses` of each family. */
  readHost(name: string, maxAddresses: number, budgetMs: number): Promise<HostFacts | undefined>;
  writeHost(facts: HostFacts, ttlMs: number): void;
  readProbe(port: number, address: string, budgetMs: number): Promise<SharedProbe | undefined>;
  writeProbe(port: number, address: string, result: ProbeResult, ttlMs: number): void;
  /** Takes the right to probe `address` for `ms`: true (won), false (another instance holds it), undefined (the tier cannot say). */
  takeProbeLease(port: number, address: string, ms: number, budgetMs: number): Promise<boolean | undefined>;
  /** Delivery-log evidence another instance read from its log (`key`: `domain:<name>` or `host:<name>`). */
  readEvidence(key: string, budgetMs: number): Promise<{ evidence: Evidence; ttlMs: number } | undefined>;
  writeEvidence(key: string, evidence: Evidence, ttlMs: number): void;
  close(): Promise<void>;
}
