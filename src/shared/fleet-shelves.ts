/**
 * The shared tier as the engine and the prober see it: one FleetShelf per kind of fact (cache/tier.ts),
 * each read and write going to the tier's own keys and counters.
 */
import type { FleetCopy, FleetShelf } from '../cache/tier.js';
import type { Decision } from '../engine/decision.js';
import type { Evidence } from '../engine/evidence.js';
import type { HostFacts } from '../engine/facts.js';
import type { EngineFleet } from '../engine/fleet.js';
import type { LeaseResult } from '../probe/fleet.js';
import type { ProbeResult } from '../probe/smtp-probe.js';
import type { SharedTier } from './shared-tier.js';

/** Facts other than decisions are not kept past their fresh life. */
const freshOnly = <V>(value: V, freshMs: number): FleetCopy<V> => ({ value, freshMs, keptMs: freshMs });

export function fleetOf(tier: SharedTier): EngineFleet {
  return {
    decisions: (rule: string): FleetShelf<Decision> => ({
      read: async (domain, budgetMs) => {
        const found = await tier.readDecision(rule, domain, budgetMs);
        return found && { value: found.decision, freshMs: found.freshMs, keptMs: found.keptMs };
      },
      write: (domain, decision, freshMs, staleMs) => tier.writeDecision(rule, domain, decision, freshMs, staleMs),
    }),
    hosts: (maxAddresses: number): FleetShelf<HostFacts> => ({
      read: async (name, budgetMs) => {
        const facts = await tier.readHost(name, maxAddresses, budgetMs);
        return facts && freshOnly(facts, facts.ttl * 1000);
      },
      write: (_name, facts, freshMs) => tier.writeHost(facts, freshMs),
    }),
    verdicts: (port: number): FleetShelf<ProbeResult> => ({
      read: async (address, budgetMs) => {
        const found = await tier.readProbe(port, address, budgetMs);
        return found && freshOnly({ ok: found.ok, outcome: found.outcome, detail: found.detail, ms: found.ms }, found.ttlMs);
      },
      write: (address, result, freshMs) => tier.writeProbe(port, address, result, freshMs),
    }),
    evidence: (): FleetShelf<Evidence> => ({
      read: async (key, budgetMs) => {
        const found = await tier.readEvidence(key, budgetMs);
        return found && freshOnly(found.evidence, found.ttlMs);
      },
      write: (key, evidence, freshMs) => tier.writeEvidence(key, evidence, freshMs),
    }),
    takeProbeLease: (port, address, ms, budgetMs) => tier.takeProbeLease(port, address, ms, budgetMs),
    countLease: (result: LeaseResult) => void tier.counters.leases[result]++,
  };
}
