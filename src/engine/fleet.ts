/**
 * What the engine needs from the fleet (`shared_cache`): decisions made under the same rule, MX host facts,
 * and, through the prober, probe verdicts. Defined here, implemented by shared/ for Redis.
 */
import type { FleetShelf } from '../cache/tier.js';
import type { ProbeFleet } from '../probe/fleet.js';
import type { Decision } from './decision.js';
import type { Evidence } from './evidence.js';
import type { HostFacts } from './facts.js';

export interface EngineFleet extends ProbeFleet {
  /** Decisions made under `rule` (a ruleFingerprint), keyed by domain. */
  decisions(rule: string): FleetShelf<Decision>;
  /** MX host facts keyed by host name, at most `maxAddresses` of each family as read. */
  hosts(maxAddresses: number): FleetShelf<HostFacts>;
  /** Delivery-log evidence keyed `domain:<name>` or `host:<name>`. */
  evidence(): FleetShelf<Evidence>;
}
