/**
 * IPv6 SMTP reachability with memory: one probe per address per lifetime (success and failure lifetimes
 * apart), concurrent askers share one probe, and probes run under a server-wide cap whose queue is waited
 * on only until the asking lookup's deadline. Special-purpose addresses are never probed (the engine never
 * asks for them); this is the last line.
 */
import { SingleFlight, TtlCache } from '../cache/ttl-cache.js';
import { Gate } from '../limits/gate.js';
import { isSpecialAddress } from '../engine/special-address.js';
import { PROBE_OUTCOMES, ProbeOutcome, ProbeResult, SmtpProbe } from './smtp-probe.js';
import { SharedTier } from '../shared/shared-tier.js';

/** A lease outlives the probe it covers by this much (the holder still has to write its verdict). */
const LEASE_MARGIN_MS = 500;
/** How often an instance that lost the lease looks for the holder's verdict. */
const LEASE_POLL_MS = 50;

/** A verdict found, and whether this process probed for it (else: from the fleet). */
interface Found {
  readonly result: ProbeResult;
  readonly probed: boolean;
  readonly ttlMs: number;
}

export interface ProberOptions {
  readonly port: number;
  readonly timeoutMs: number;
  readonly okTtlMs: number;
  readonly failTtlMs: number;
  readonly concurrency: number;
  readonly cacheSize: number;
}

export interface ProbeVerdict extends ProbeResult {
  /** Whether this verdict came from the cache. */
  readonly cached: boolean;
  /** How long the verdict stays valid from now. */
  readonly ttlMs: number;
}

export class Prober {
  private readonly cache: TtlCache<string, ProbeResult>;
  private readonly flights = new SingleFlight<string, Found | undefined>();
  private shared: SharedTier | undefined;
  private sharedBudgetMs = 0;
  private readonly gate: Gate;
  /** Probes sent, by outcome: every outcome present from the start. */
  readonly outcomes = Object.fromEntries(PROBE_OUTCOMES.map((o) => [o, 0])) as Record<ProbeOutcome, number>;

  constructor(
    private readonly options: ProberOptions,
    private readonly probe: SmtpProbe,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(options.cacheSize, now);
    this.gate = new Gate(options.concurrency);
  }

  /** Shares verdicts with the fleet, and takes a lease before probing so one instance probes for all. */
  useShared(tier: SharedTier | undefined, budgetMs: number): void {
    this.shared = tier;
    this.sharedBudgetMs = budgetMs;
  }

  get cacheStats(): { hits: number; misses: number; size: number } {
    return { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size };
  }

  /** Probes that could not start before their lookup's deadline (the pool was full). */
  get refused(): number {
    return this.gate.refused;
  }

  /**
   * The verdict for `address`, probing it if nothing is remembered (or, with `refreshShare`, if what is
   * remembered is about to expire); undefined when the probe could not start before `until`
   * (performance.now() time), or the address can never be a mail host.
   */
  async check(address: string, until = Infinity, refreshShare = 0): Promise<ProbeVerdict | undefined> {
    if (isSpecialAddress(address)) return undefined;
    // A decision refreshed ahead of expiry probes again a verdict in its last share of life.
    const cached = refreshShare > 0 && this.cache.nearExpiry(address, refreshShare) ? undefined : this.cache.get(address);
    if (cached) return { ...cached, cached: true, ttlMs: this.cache.remaining(address) };
    const found = await this.flights.run(address, async () => (await this.fromFleet(address, until)) ?? this.probeHere(address, until));
    if (!found) return undefined;
    return { ...found.result, cached: !found.probed, ttlMs: found.ttlMs };
  }

  private async probeHere(address: string, until: number): Promise<Found | undefined> {
    return this.gate.run(until, async () => {
      const r = await this.probe(address, this.options.port, this.options.timeoutMs);
      this.outcomes[r.outcome]++;
      const ttlMs = r.ok ? this.options.okTtlMs : this.options.failTtlMs;
      this.cache.set(address, r, ttlMs);
      this.shared?.writeProbe(this.options.port, address, r, ttlMs);
      return { result: r, probed: true, ttlMs };
    });
  }

  /**
   * The fleet's verdict for `address`: one already there, or, when another instance holds the lease to
   * probe it, the verdict it writes while this lookup can still wait for it (its probe's timeout at most).
   * Undefined: probe here (no verdict, this instance won the lease, or the holder was too slow).
   */
  private async fromFleet(address: string, until: number): Promise<Found | undefined> {
    const tier = this.shared;
    if (!tier) return undefined;
    const budget = (): number => Math.min(this.sharedBudgetMs, until - performance.now());
    const remembered = (v: { ttlMs: number } & ProbeResult): Found => {
      const result: ProbeResult = { ok: v.ok, outcome: v.outcome, detail: v.detail, ms: v.ms };
      // Believed no longer than a verdict of our own would be, whatever life the fleet's value claims.
      const ttlMs = Math.min(v.ttlMs, v.ok ? this.options.okTtlMs : this.options.failTtlMs);
      this.cache.set(address, result, ttlMs);
      return { result, probed: false, ttlMs };
    };
    const known = await tier.readProbe(this.options.port, address, budget());
    if (known) return remembered(known);
    const leaseMs = this.options.timeoutMs + LEASE_MARGIN_MS;
    const won = await tier.takeProbeLease(this.options.port, address, leaseMs, budget());
    if (won !== false) {
      if (won) tier.counters.leases.won++;
      return undefined;
    }
    const giveUpAt = Math.min(until, performance.now() + leaseMs);
    while (performance.now() + LEASE_POLL_MS < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
      const verdict = await tier.readProbe(this.options.port, address, budget());
      if (verdict) {
        tier.counters.leases.waited++;
        return remembered(verdict);
      }
    }
    tier.counters.leases['timed-out']++;
    return undefined;
  }
}
