/**
 * IPv6 SMTP reachability with memory: one probe per address per lifetime (success and failure lifetimes
 * apart), concurrent askers share one probe, and probes run under a concurrency cap.
 */
import { Semaphore, SingleFlight, TtlCache } from '../cache/ttl-cache.js';
import { ProbeResult, SmtpProbe } from './smtp-probe.js';

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
  private readonly flights = new SingleFlight<string, ProbeResult>();
  private readonly limit: Semaphore;
  readonly outcomes: Record<string, number> = {};

  constructor(
    private readonly options: ProberOptions,
    private readonly probe: SmtpProbe,
    now: () => number = Date.now,
  ) {
    this.cache = new TtlCache(options.cacheSize, now);
    this.limit = new Semaphore(options.concurrency);
  }

  get cacheStats(): { hits: number; misses: number; size: number } {
    return { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size };
  }

  async check(address: string): Promise<ProbeVerdict> {
    const cached = this.cache.get(address);
    if (cached) return { ...cached, cached: true, ttlMs: this.cache.remaining(address) };
    const result = await this.flights.run(address, () =>
      this.limit.use(async () => {
        const r = await this.probe(address, this.options.port, this.options.timeoutMs);
        const outcome = r.ok ? 'ok' : r.detail.split(' ')[0];
        this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
        this.cache.set(address, r, r.ok ? this.options.okTtlMs : this.options.failTtlMs);
        return r;
      }),
    );
    return { ...result, cached: false, ttlMs: result.ok ? this.options.okTtlMs : this.options.failTtlMs };
  }
}
