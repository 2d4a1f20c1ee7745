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
  private readonly flights = new SingleFlight<string, ProbeResult | undefined>();
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
    const result = await this.flights.run(address, () =>
      this.gate.run(until, async () => {
        const r = await this.probe(address, this.options.port, this.options.timeoutMs);
        this.outcomes[r.outcome]++;
        this.cache.set(address, r, r.ok ? this.options.okTtlMs : this.options.failTtlMs);
        return r;
      }),
    );
    if (!result) return undefined;
    return { ...result, cached: false, ttlMs: result.ok ? this.options.okTtlMs : this.options.failTtlMs };
  }
}
