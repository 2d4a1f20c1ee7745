/**
 * IPv6 SMTP reachability with memory: one probe per address per lifetime (success and failure lifetimes
 * apart), concurrent askers share one probe, and probes run under a server-wide cap whose queue is waited
 * on only until the asking lookup's deadline. Special-purpose addresses are never probed (the engine never
 * asks for them); this is the last line.
 */
import { TtlCache } from '../cache/ttl-cache.js';
import { type FleetShelf, type Produced, Tier } from '../cache/tier.js';
import { Gate } from '../limits/gate.js';
import { isSpecialAddress } from '../net/special-address.js';
import { PROBE_OUTCOMES, type ProbeOutcome, type ProbeResult, type SmtpProbe } from './smtp-probe.js';
import type { ProbeFleet } from './fleet.js';

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
  private readonly verdicts: Tier<ProbeResult>;
  private fleet: { readonly leases: ProbeFleet; readonly verdicts: FleetShelf<ProbeResult> } | undefined;
  private sharedBudgetMs: () => number = () => 0;
  private readonly gate: Gate;
  /** Probes sent, by outcome: every outcome present from the start. */
  readonly outcomes = Object.fromEntries(PROBE_OUTCOMES.map((o) => [o, 0])) as Record<ProbeOutcome, number>;

  constructor(
    private readonly options: ProberOptions,
    private readonly probe: SmtpProbe,
    now: () => number = Date.now,
    /** Waits (the lease poll); injected so tests drive it with the clock. */
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.verdicts = new Tier(new TtlCache(options.cacheSize, now));
    this.gate = new Gate(options.concurrency);
  }

  /** Shares verdicts with the fleet, and takes a lease before probing so one instance probes for all. */
  useShared(fleet: ProbeFleet | undefined, budgetMs: () => number): void {
    this.fleet = fleet && { leases: fleet, verdicts: fleet.verdicts(this.options.port) };
    this.sharedBudgetMs = budgetMs;
    this.verdicts.share(this.fleet?.verdicts, budgetMs);
  }

  get cacheStats(): { hits: number; misses: number; size: number } {
    return this.verdicts.stats;
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
    // A decision refreshed ahead of expiry probes again a verdict in its last share of life. Only addresses
    // that passed the special-address check below are ever kept, so a kept verdict needs no check (that
    // check parses an IPv6 address through BlockList: a few µs for each IPv6 address of every cold decision).
    const cached = this.verdicts.fresh(address, refreshShare);
    if (cached) return { ...cached, cached: true, ttlMs: this.verdicts.cache.remaining(address) };
    if (isSpecialAddress(address)) return undefined;
    const found = await this.verdicts.fill<Found | undefined>(address, {
      refreshing: refreshShare > 0,
      budgetMs: until - performance.now(),
      // Believed no longer than a verdict of our own would be, whatever life the fleet's value claims.
      believe: (copy) => ({ ...copy, freshMs: Math.min(copy.freshMs, this.lifetime(copy.value)), keptMs: 0 }),
      fromFleet: (copy) => ({ result: copy.value, probed: false, ttlMs: copy.freshMs }),
      produce: () => this.probeOrWait(address, until),
    }).result;
    if (!found) return undefined;
    return { ...found.result, cached: !found.probed, ttlMs: found.ttlMs };
  }

  private lifetime(result: ProbeResult): number {
    return result.ok ? this.options.okTtlMs : this.options.failTtlMs;
  }

  /**
   * Probes here, unless another instance holds the fleet's lease to probe `address`: then waits for the
   * verdict it writes while this lookup can still wait (its probe's timeout at most), and probes here only
   * if none comes.
   */
  private async probeOrWait(address: string, until: number): Promise<Produced<ProbeResult, Found | undefined>> {
    const waited = this.fleet && (await this.waitForHolder(this.fleet, address, until));
    if (waited)
      return { result: { result: waited.value, probed: false, ttlMs: waited.ttlMs }, keep: { value: waited.value, ttlMs: waited.ttlMs, share: false } };
    const probed = await this.gate.run(until, async () => {
      const r = await this.probe(address, this.options.port, this.options.timeoutMs);
      this.outcomes[r.outcome]++;
      return r;
    });
    if (!probed) return { result: undefined };
    const ttlMs = this.lifetime(probed);
    return { result: { result: probed, probed: true, ttlMs }, keep: { value: probed, ttlMs, share: true } };
  }

  /** The holder's verdict when another instance holds the lease and writes it in time; undefined: probe here. */
  private async waitForHolder(
    fleet: { readonly leases: ProbeFleet; readonly verdicts: FleetShelf<ProbeResult> },
    address: string,
    until: number,
  ): Promise<{ value: ProbeResult; ttlMs: number } | undefined> {
    const budget = (): number => Math.min(this.sharedBudgetMs(), until - performance.now());
    const leaseMs = this.options.timeoutMs + LEASE_MARGIN_MS;
    const won = await fleet.leases.takeProbeLease(this.options.port, address, leaseMs, budget());
    if (won !== false) {
      if (won) fleet.leases.countLease('won');
      return undefined;
    }
    const giveUpAt = Math.min(until, performance.now() + leaseMs);
    while (performance.now() + LEASE_POLL_MS < giveUpAt) {
      await this.sleep(LEASE_POLL_MS);
      const copy = await fleet.verdicts.read(address, budget());
      if (copy) {
        fleet.leases.countLease('waited');
        return { value: copy.value, ttlMs: Math.min(copy.freshMs, this.lifetime(copy.value)) };
      }
    }
    fleet.leases.countLease('timed-out');
    return undefined;
  }
}
