/**
 * The decision engine: overrides, MX, host facts, probes, rule; a cache per domain in front, shared host
 * and probe caches behind, single flight throughout, and an answer deadline after which the lookup is
 * answered "leave" while the work finishes into the cache.
 */
import type { Logger } from 'pino';
import { DnsClient, QueryOutcome } from '../dns/client.js';
import { RecordType } from '../dns/message.js';
import { SingleFlight, TtlCache } from '../cache/ttl-cache.js';
import { Prober } from '../probe/prober.js';
import { Decider, Decision, ExportedDecision, Trigger } from './decision.js';
import { HostReport, MxFacts, ProbeFact } from './facts.js';
import { HostDirectory } from './hosts.js';
import { resolveMx } from './mx.js';
import { intern, leave } from './intern.js';
import { Overrides, matchOverride } from './overrides.js';
import type { SnapshotEntry } from '../snapshot/format.js';
import { RuleSettings, decide, dnsTriggers, probeTrigger, probesNeeded } from './rule.js';

export interface EngineSettings extends RuleSettings {
  readonly deadlineMs: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly failureTtlMs: number;
  readonly cacheSize: number;
  readonly hostCacheSize: number;
  /** Most addresses probed per MX host. */
  readonly probesPerHost: number;
  readonly dryRun: boolean;
}

export interface Evaluation {
  readonly domain: string;
  readonly override: 'never' | 'force' | undefined;
  readonly mx: MxFacts | undefined;
  readonly hosts: readonly HostReport[];
  readonly decision: Decision;
  /** How long the decision is cached. */
  readonly ttlMs: number;
  readonly dnsQueries: number;
  readonly probesSent: number;
  readonly durationMs: number;
}

interface Tally {
  dnsQueries: number;
  probesSent: number;
}

function counting(dns: DnsClient, tally: Tally): DnsClient {
  return {
    query(name: string, type: RecordType): Promise<QueryOutcome> {
      tally.dnsQueries++;
      return dns.query(name, type);
    },
  };
}


export class Engine implements Decider {
  private decisions: TtlCache<string, Decision>;
  private readonly flights = new SingleFlight<string, Evaluation>();
  private readonly hosts: HostDirectory;

  constructor(
    private settings: EngineSettings,
    private overrides: Overrides,
    private readonly dns: DnsClient,
    private readonly prober: Prober,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.decisions = new TtlCache(settings.cacheSize, now);
    this.hosts = new HostDirectory(settings.hostCacheSize, () => this.settings, now);
  }

  get cacheStats(): Record<'decisions' | 'hosts' | 'probes', { hits: number; misses: number; size: number }> {
    const d = this.decisions;
    return { decisions: { hits: d.hits, misses: d.misses, size: d.size }, hosts: this.hosts.cacheStats, probes: this.prober.cacheStats };
  }

  /** Applies a reloaded configuration; cached decisions are dropped, since the rule may have changed. */
  reconfigure(settings: EngineSettings, overrides: Overrides): void {
    this.settings = settings;
    this.overrides = overrides;
    this.decisions = new TtlCache(settings.cacheSize, this.now);
  }

  /** The forced decisions held now, with their remaining lifetime (for /decisions and `export`). */
  forcedDecisions(): ExportedDecision[] {
    const out: ExportedDecision[] = [];
    for (const [domain, d, ttlMs] of this.decisions.fresh()) {
      if (d.action === 'force-ipv4') out.push({ domain, triggers: d.triggers, routes: d.routes, ttlMs });
    }
    return out.sort((x, y) => (x.domain < y.domain ? -1 : x.domain > y.domain ? 1 : 0));
  }

  /** Cached decisions with their expiry, for the snapshot file. */
  *snapshotEntries(): IterableIterator<SnapshotEntry> {
    const now = this.now();
    for (const [domain, decision, ttlMs] of this.decisions.fresh()) yield { domain, decision, expiresAt: now + ttlMs };
  }

  /** Puts decisions from a snapshot back into the cache (at start, before any lookup). */
  restore(entries: Iterable<SnapshotEntry>): number {
    const now = this.now();
    let restored = 0;
    for (const { domain, decision, expiresAt } of entries) {
      if (expiresAt <= now) continue;
      this.decisions.set(domain, decision, expiresAt - now);
      restored++;
    }
    return restored;
  }

  decide(domain: string): Decision | Promise<Decision> {
    const cached = this.decisions.get(domain);
    if (cached) return cached;
    const override = matchOverride(this.overrides, domain);
    if (override === 'never') return leave('never');
    const work = this.flights.run(domain, () => this.evaluateAndCache(domain));
    return new Promise<Decision>((resolve) => {
      const timer = setTimeout(() => {
        this.log.info({ evt: 'deadline', domain, deadlineMs: this.settings.deadlineMs }, 'no decision within the deadline; answered NOTFOUND, finishing in the background');
        resolve(leave('deadline'));
      }, this.settings.deadlineMs);
      work.then(
        (evaluation) => {
          clearTimeout(timer);
          resolve(evaluation.decision);
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.log.error({ evt: 'decision-failed', domain, err }, 'decision failed; answered as a DNS failure');
          resolve({ action: 'dns-failure', detail: 'internal error' });
        },
      );
    });
  }

  private async evaluateAndCache(domain: string): Promise<Evaluation> {
    const evaluation = await this.evaluate(domain);
    if (evaluation.ttlMs > 0) this.decisions.set(domain, evaluation.decision, evaluation.ttlMs);
    this.logDecision(evaluation);
    return evaluation;
  }

  /** Runs the whole rule for one domain, without the domain cache (shared host and probe caches still apply). */
  async evaluate(domain: string): Promise<Evaluation> {
    const started = performance.now();
    const tally: Tally = { dnsQueries: 0, probesSent: 0 };
    const settings = this.settings;
    const override = matchOverride(this.overrides, domain);
    const finish = (mx: MxFacts | undefined, hosts: HostReport[], decision: Decision, ttlMs: number): Evaluation => ({
      domain,
      override,
      mx,
      hosts,
      decision,
      ttlMs,
      dnsQueries: tally.dnsQueries,
      probesSent: tally.probesSent,
      durationMs: Math.round(performance.now() - started),
    });
    if (override === 'never') return finish(undefined, [], leave('never'), 0);

    const dns = counting(this.dns, tally);
    const mx = await resolveMx(dns, domain);
    const facts = mx.kind === 'hosts' ? await Promise.all(mx.hosts.map((h) => this.hosts.get(h.name, dns))) : [];
    const forced = override === 'force';
    const probing = mx.kind === 'hosts' && probesNeeded(facts, forced, settings);
    const hosts: HostReport[] = await Promise.all(
      facts.map(async (host, i) => {
        const preference = mx.kind === 'hosts' ? mx.hosts[i].preference : 0;
        const probes = probing ? await this.probeHost(host.aaaa.kind === 'records' ? host.aaaa.addresses : [], tally) : [];
        const triggers: Trigger[] = [...dnsTriggers(host, settings), ...probeTrigger(host, probes, settings)];
        return { ...host, preference, probes, triggers };
      }),
    );
    const outcome = decide(mx, hosts, forced);
    const ttlMs = outcome.decision.action === 'dns-failure' ? settings.failureTtlMs : Math.min(settings.maxTtlMs, Math.max(settings.minTtlMs, outcome.ttl * 1000));
    return finish(mx, hosts, intern(outcome.decision), ttlMs);
  }

  private async probeHost(addresses: readonly string[], tally: Tally): Promise<ProbeFact[]> {
    const chosen = addresses.slice(0, this.settings.probesPerHost);
    return Promise.all(
      chosen.map(async (address) => {
        const verdict = await this.prober.check(address);
        if (!verdict.cached) tally.probesSent++;
        return { address, ok: verdict.ok, detail: verdict.detail, ms: verdict.ms, cached: verdict.cached, ttlMs: verdict.ttlMs };
      }),
    );
  }

  private logDecision(e: Evaluation): void {
    const d = e.decision;
    const fields = {
      evt: 'decision',
      domain: e.domain,
      action: d.action,
      reasons: d.action === 'force-ipv4' ? d.triggers : d.action === 'leave' ? [d.reason] : ['dns-failure'],
      routes: d.action === 'force-ipv4' ? d.routes : undefined,
      detail: d.action === 'dns-failure' ? d.detail : undefined,
      ttlMs: e.ttlMs,
      durationMs: e.durationMs,
      dnsQueries: e.dnsQueries,
      probes: e.probesSent,
      dryRun: this.settings.dryRun || undefined,
    };
    this.log.info(fields, `${e.domain}: ${d.action}${this.settings.dryRun ? ' (dry run: answered NOTFOUND)' : ''}`);
  }
}
