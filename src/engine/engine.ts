/**
 * The decision engine: overrides, MX, host facts, probes, rule; a cache per domain in front, shared host
 * and probe caches behind, single flight throughout, and an answer deadline after which the lookup is
 * answered "leave" while the work finishes into the cache.
 */
import type { Logger } from 'pino';
import { DnsClient, QueryOutcome } from '../dns/client.js';
import { RecordType } from '../dns/message.js';
import { CacheEntry, TtlCache } from '../cache/ttl-cache.js';
import { Prober } from '../probe/prober.js';
import { Decider, Decision, ExportedDecision, SecureDomains, Trigger } from './decision.js';
import { HostReport, MxFacts, ProbeFact } from './facts.js';
import { HostDirectory } from './hosts.js';
import { limitMxHosts, resolveMx } from './mx.js';
import { intern, leave } from './intern.js';
import { Overrides, fitsOverride, matchOverride, sameOverrides } from './overrides.js';
import { Locality, nowhere } from './locality.js';
import type { SnapshotEntry } from '../snapshot/format.js';
import { RuleSettings, decide, dnsTriggers, probeTrigger, probesNeeded } from './rule.js';
import { ProtectionFacts, checkProtection } from './protection.js';
import { SharedTier } from '../shared/shared-tier.js';
import { SharedDecision, shareable } from '../shared/shared-entries.js';

export interface EngineSettings extends RuleSettings {
  readonly deadlineMs: number;
  readonly minTtlMs: number;
  readonly maxTtlMs: number;
  readonly failureTtlMs: number;
  readonly cacheSize: number;
  readonly hostCacheSize: number;
  /** Most addresses probed per MX host. */
  readonly probesPerHost: number;
  /** Most probes one lookup may ask for, most preferred hosts first. */
  readonly maxProbes: number;
  /** Most MX hosts considered per domain, most preferred first. */
  readonly maxMxHosts: number;
  /** Most addresses kept per host and per decision. */
  readonly maxAddresses: number;
  /** How long an expired decision is kept to be answered when its refresh fails (serve-stale); 0 = never. */
  readonly staleTtlMs: number;
  /** Fraction of a decision's lifetime, at its end, in which a hit starts a background refresh; 0 = never. */
  readonly refreshAhead: number;
  readonly dryRun: boolean;
  /**
   * What a forced domain that publishes DANE or MTA-STS answers on maps that route to IP literals: skip
   * (NOTFOUND: the MTA's MX routing keeps the protection), warn (forced, logged at warn) or force (forced,
   * and nothing is looked up). Maps that keep the next hop (Postfix `nexthop: domain`) are not affected.
   */
  readonly secureDomains: SecureDomains;
  /** AD bits from the resolver are believed (`dnssec: trust-ad`): DANE can be found. */
  readonly dnssec: boolean;
  /** Longest wait for the fleet's shared cache on a local miss (with `shared_cache`). */
  readonly sharedReadBudgetMs: number;
}

export interface Evaluation {
  readonly domain: string;
  readonly override: 'never' | 'force' | undefined;
  readonly mx: MxFacts | undefined;
  readonly hosts: readonly HostReport[];
  readonly decision: Decision;
  /** How long the decision is cached. */
  readonly ttlMs: number;
  /** Addresses past max_addresses left out of the routes. */
  readonly routesDropped: number;
  readonly dnsQueries: number;
  readonly probesSent: number;
  readonly durationMs: number;
  /** The transport-security lookups made for a forced domain, and what they found. */
  readonly protection?: ProtectionFacts;
  /** Read from the fleet's shared cache, not evaluated here. */
  readonly shared?: boolean;
}

/** What `decide` would answer now, beside a fresh evaluation: for `mx4map lookup`. */
export type Explanation = Evaluation & {
  /** The decision answered: the cached one while it is fresh, a stale one when the evaluation failed. */
  readonly answered: Decision;
  /** evaluated: the evaluation is answered (and cached); cached: a fresh cached decision is; stale: an expired one is. */
  readonly answeredFrom: 'evaluated' | 'cached' | 'stale';
  /** For cached and stale answers: ms until expiry (negative: since), and ms it is kept stale for yet. */
  readonly cached?: { readonly expiresInMs: number; readonly keptForMs: number };
};

/** What a reload changed, for its log line; each part invalidates what depends on it, and only that. */
export interface Reconfigured {
  readonly rule: boolean;
  readonly overrides: boolean;
  readonly lifetimes: boolean;
}

/** Whether a decision involves this host: a `local` answer, or a route to one of our addresses. */
function involvesUs(decision: Decision, locality: Locality): boolean {
  if (decision.action === 'leave') return decision.reason === 'local';
  return decision.action === 'force-ipv4' && decision.routes.some((group) => group.some((a) => locality.isOwn(a)));
}

/** The part of the settings a decision's content depends on, as a string (also kept in cache snapshots). */
export function ruleFingerprint(
  settings: RuleSettings & { readonly maxAddresses: number; readonly maxMxHosts: number; readonly secureDomains: SecureDomains; readonly dnssec: boolean },
): string {
  // Whether transport security was looked up, and with which DNSSEC trust, is part of every forced decision.
  const checks = settings.secureDomains === 'force' ? 'off' : settings.dnssec ? 'dnssec' : 'sts';
  const base = `triggers=${[...settings.triggers].sort().join(',')};probe=${settings.probe};addresses=${settings.maxAddresses};mx=${settings.maxMxHosts};secure=${checks}`;
  // Whether our IPv6 identity fails, and who rejects it, decide sender-ipv6-unready: part of the rule then.
  if (!settings.triggers.has('sender-ipv6-unready')) return base;
  return `${base};strict=${settings.strictReceivers?.fingerprint ?? ''};unready=${settings.senderUnready === true}`;
}

function forcedByOverride(decision: Decision): boolean {
  return decision.action === 'force-ipv4' && decision.triggers.includes('override');
}

/** Whether a decision depends on the rule (triggers, probing); nxdomain and null MX do not, nor overrides. */
export function dependsOnRule(decision: Decision): boolean {
  if (decision.action === 'force-ipv4') return !(decision.triggers.length === 1 && decision.triggers[0] === 'override');
  return decision.action === 'leave' && (decision.reason === 'ipv6-ok' || decision.reason === 'no-ipv4');
}

interface Flight {
  /** The configuration generation it started under. */
  readonly generation: number;
  readonly result: Promise<Evaluation>;
}

interface Tally {
  dnsQueries: number;
  probesSent: number;
}

/** The lookup's view of the DNS client: its queries counted, and none started after its deadline. */
function counting(dns: DnsClient, tally: Tally, until: number): DnsClient {
  return {
    query(name: string, type: RecordType): Promise<QueryOutcome> {
      tally.dnsQueries++;
      return dns.query(name, type, until);
    },
  };
}


/**
 * Why a stale decision was answered: its refresh failed (DNS failure), missed the deadline, or is held off
 * (failure_ttl after a failed one).
 */
export const STALE_CAUSES = ['failed', 'deadline', 'held'] as const;
export type StaleCause = (typeof STALE_CAUSES)[number];

/** What the cache did, for /metrics. */
export interface EngineCounters {
  /** Answers from a stale decision, by cause. */
  readonly staleAnswers: Record<StaleCause, number>;
  /** Refreshes started ahead of expiry, on a hit in the last part of a decision's lifetime. */
  refreshesAhead: number;
  /** Refreshes ahead skipped because the DNS budget was tight. */
  refreshesSkipped: number;
}

export class Engine implements Decider {
  readonly counters: EngineCounters = { staleAnswers: { failed: 0, deadline: 0, held: 0 }, refreshesAhead: 0, refreshesSkipped: 0 };
  private readonly decisions: TtlCache<string, Decision>;
  private readonly flights = new Map<string, Flight>();
  private readonly hosts: HostDirectory;
  /**
   * Configuration generations: bumped by every reconfigure. Each part of the configuration a decision
   * depends on records the generation that last changed it; an entry or a lookup from before that is
   * checked (entries, on their next hit) or done again (lookups in flight) under the new configuration.
   */
  private generation = 0;
  private ruleChanged = 0;
  private overridesChanged = 0;
  private lifetimesChanged = 0;
  private localityChanged = 0;
  private locality: Locality = nowhere();
  private shared: SharedTier | undefined;

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

  /**
   * Applies a reloaded configuration. Cached decisions are kept: each is checked on its next hit against
   * what changed (dropped when the rule changed and it depends on the rule, or when it no longer fits the
   * domain's override; its lifetime cut to new bounds). Lookups in flight are asked again when they finish.
   */
  reconfigure(settings: EngineSettings, overrides: Overrides): Reconfigured {
    // The identity check's verdict is this engine's state, not configuration: it outlives a reload.
    return this.apply({ ...settings, senderUnready: this.settings.senderUnready }, overrides);
  }

  private apply(settings: EngineSettings, overrides: Overrides): Reconfigured {
    const before = this.settings;
    const changed: Reconfigured = {
      rule: ruleFingerprint(before) !== ruleFingerprint(settings),
      overrides: !sameOverrides(this.overrides, overrides),
      lifetimes: before.minTtlMs !== settings.minTtlMs || before.maxTtlMs !== settings.maxTtlMs || before.failureTtlMs !== settings.failureTtlMs,
    };
    this.generation++;
    if (changed.rule) this.ruleChanged = this.generation;
    if (changed.overrides) this.overridesChanged = this.generation;
    if (changed.lifetimes) this.lifetimesChanged = this.generation;
    this.settings = settings;
    this.overrides = overrides;
    this.decisions.resize(settings.cacheSize);
    return changed;
  }

  /**
   * Applies what this host is now (its names and addresses: at start, on a timer, on reload). A change
   * re-checks cached decisions that answer `local` or route to an address, on their next hit.
   */
  setLocality(locality: Locality): boolean {
    const changed = locality.fingerprint !== this.locality.fingerprint;
    this.locality = locality;
    if (changed) this.localityChanged = ++this.generation;
    return changed;
  }

  /**
   * Applies the verdict on this host's IPv6 sending identity (sender-ipv6-unready). A change is a change of
   * the rule: cached decisions that depend on it are decided again on their next hit.
   */
  setSenderUnready(unready: boolean): boolean {
    if ((this.settings.senderUnready === true) === unready) return false;
    this.apply({ ...this.settings, senderUnready: unready }, this.overrides);
    return true;
  }

  /** How long one read of the shared cache may take: its budget, never past the deadline. */
  private readonly sharedBudgetMs = (): number => Math.min(this.settings.sharedReadBudgetMs, this.settings.deadlineMs);

  /** Puts the fleet's shared cache behind the local one (serve with `shared_cache`). */
  useShared(tier: SharedTier | undefined): void {
    this.shared = tier;
    this.hosts.useShared(tier, this.sharedBudgetMs);
  }

  /** Whether work begun under `generation` was overtaken by a change it depends on. */
  private outdated(generation: number): boolean {
    return generation < this.ruleChanged || generation < this.overridesChanged || generation < this.localityChanged;
  }

  /** Checks a cached entry from before the latest reconfigure (TtlCache.lookup). */
  private readonly revalidate = (domain: string, entry: CacheEntry<Decision>): boolean => {
    if (entry.stamp < this.ruleChanged && dependsOnRule(entry.value)) return false;
    // A domain forced by an override is decided again after any override change: whether its pattern ends
    // in `!` (no transport-security lookups) is not written in the decision.
    if (entry.stamp < this.overridesChanged && (!fitsOverride(entry.value, matchOverride(this.overrides, domain)) || forcedByOverride(entry.value))) return false;
    if (entry.stamp < this.localityChanged && (this.locality.isLocalDomain(domain) || involvesUs(entry.value, this.locality))) return false;
    if (entry.stamp < this.lifetimesChanged) entry.expires = Math.min(entry.expires, this.now() + this.lifetimeCap(entry.value));
    return true;
  };

  private lifetimeCap(decision: Decision): number {
    return decision.action === 'dns-failure' ? this.settings.failureTtlMs : this.settings.maxTtlMs;
  }

  /** The forced decisions held now, with their remaining lifetime (for /decisions and `export`). */
  *forcedDecisions(): IterableIterator<ExportedDecision> {
    for (const [domain, d, ttlMs] of this.decisions.fresh()) {
      if (d.action === 'force-ipv4') yield { domain, triggers: d.triggers, routes: d.routes, ttlMs, ...(d.protection ? { protection: d.protection } : {}) };
    }
  }

  /** Cached decisions, stale ones included, with their expiry (the engine's clock is wall-clock time), for the snapshot file. */
  *snapshotEntries(): IterableIterator<SnapshotEntry> {
    for (const [domain, entry] of this.decisions.kept()) {
      yield { domain, decision: entry.value, expiresAt: entry.expires, ...(entry.keepUntil > entry.expires ? { staleUntil: entry.keepUntil } : {}) };
    }
  }

  /**
   * Puts decisions from a snapshot back into the cache (at start, before any lookup). Those that no longer
   * fit — the rule they were made under (`rule`, a ruleFingerprint; undefined when unknown) differs from
   * today's, or an override changed since — are dropped, not served.
   */
  restore(entries: Iterable<SnapshotEntry>, rule: string | undefined): { restored: number; dropped: number } {
    const now = this.now();
    const sameRule = rule === ruleFingerprint(this.settings);
    let restored = 0;
    let dropped = 0;
    for (const { domain, decision, expiresAt, staleUntil } of entries) {
      const keepUntil = Math.min(staleUntil ?? expiresAt, expiresAt + this.settings.staleTtlMs);
      if (keepUntil <= now && expiresAt <= now) continue;
      const fits = fitsOverride(decision, matchOverride(this.overrides, domain)) && !this.locality.isLocalDomain(domain) && !involvesUs(decision, this.locality);
      if ((!sameRule && dependsOnRule(decision)) || !fits) {
        dropped++;
        continue;
      }
      const ttl = Math.min(expiresAt - now, this.lifetimeCap(decision));
      this.decisions.set(domain, decision, ttl, this.generation, Math.max(0, keepUntil - (now + ttl)));
      restored++;
    }
    return { restored, dropped };
  }

  /** The rule the cached decisions were made under, for the snapshot header. */
  get rule(): string {
    return ruleFingerprint(this.settings);
  }

  decide(domain: string): Decision | Promise<Decision> {
    const entry = this.decisions.lookup(domain, this.generation, this.revalidate);
    const now = this.now();
    if (entry && entry.expires > now) {
      // In the last part of its lifetime: answered now, refreshed in the background for the next asker.
      if (now >= entry.expires - this.settings.refreshAhead * (entry.expires - entry.born)) this.refreshAhead(domain, entry, now);
      return entry.value;
    }
    if (matchOverride(this.overrides, domain) === 'never') return leave('never');
    if (this.locality.isLocalDomain(domain)) return leave('local');
    // Expired but kept: refreshed now, and answered if the refresh fails or misses the deadline.
    const stale = entry;
    if (stale && (stale.retryAt ?? 0) > now) return this.answerStale(stale.value, 'held');
    return new Promise<Decision>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        const kept = stale ?? this.keptFromFleet(domain);
        if (kept) return resolve(this.answerStale(kept.value, 'deadline'));
        this.log.info({ evt: 'deadline', domain, deadlineMs: this.settings.deadlineMs }, 'no decision within the deadline; answered NOTFOUND, finishing in the background');
        resolve(leave('deadline'));
      }, this.settings.deadlineMs);
      const finish = (decision: Decision): void => {
        settled = true;
        clearTimeout(timer);
        resolve(decision);
      };
      const attempt = (): void => {
        const flight = this.flight(domain);
        flight.result.then(
          (evaluation) => {
            if (settled) return;
            // Made under a configuration replaced meanwhile (a reload during the lookup): ask again.
            if (this.outdated(flight.generation)) attempt();
            else if (evaluation.decision.action !== 'dns-failure') finish(evaluation.decision);
            else {
              const kept = stale ?? this.keptFromFleet(domain);
              finish(kept ? this.answerStale(kept.value, 'failed') : evaluation.decision);
            }
          },
          (err: unknown) => {
            if (settled) return;
            this.log.error({ evt: 'decision-failed', domain, err }, 'decision failed; answered as a DNS failure');
            finish({ action: 'dns-failure', detail: 'internal error' });
          },
        );
      };
      attempt();
    });
  }

  /**
   * Evaluates `domain` afresh and says what `decide` would answer with the cache as it is (in `lookup`:
   * restored from the snapshot): the same choice between a fresh entry, a stale one and the evaluation.
   */
  async explain(domain: string): Promise<Explanation> {
    const entry = this.decisions.lookup(domain, this.generation, this.revalidate);
    const evaluation = await this.evaluate(domain);
    if (!entry || evaluation.override === 'never' || (evaluation.decision.action === 'leave' && evaluation.decision.reason === 'local')) {
      return { ...evaluation, answered: evaluation.decision, answeredFrom: 'evaluated' };
    }
    const now = this.now();
    const cached = { expiresInMs: Math.round(entry.expires - now), keptForMs: Math.round(Math.max(0, entry.keepUntil - now)) };
    if (entry.expires > now) return { ...evaluation, answered: entry.value, answeredFrom: 'cached', cached };
    const failed = evaluation.decision.action === 'dns-failure' || evaluation.durationMs > this.settings.deadlineMs;
    return failed ? { ...evaluation, answered: entry.value, answeredFrom: 'stale', cached } : { ...evaluation, answered: evaluation.decision, answeredFrom: 'evaluated', cached };
  }

  /**
   * An expired decision kept for stale answers that this lookup found in the fleet's cache (no local one
   * existed when it began): the same answer another instance would give stale.
   */
  private keptFromFleet(domain: string): CacheEntry<Decision> | undefined {
    if (!this.shared) return undefined;
    const entry = this.decisions.peek(domain);
    return entry && entry.expires <= this.now() && entry.value.action !== 'dns-failure' ? entry : undefined;
  }

  private answerStale(decision: Decision, cause: StaleCause): Decision {
    this.counters.staleAnswers[cause]++;
    return decision;
  }

  /**
   * Starts one background refresh of a decision near its expiry (single flight), so a busy domain never
   * waits for DNS or a probe; skipped while a refresh of it is running or on hold after a failure, and
   * when the DNS budget is tight (the refresh can wait; lookups cannot).
   */
  private refreshAhead(domain: string, entry: CacheEntry<Decision>, now: number): void {
    if (this.flights.has(domain) || (entry.retryAt ?? 0) > now) return;
    if (this.dns.busy?.()) {
      this.counters.refreshesSkipped++;
      return;
    }
    this.counters.refreshesAhead++;
    this.flight(domain, true);
  }

  /** The lookup of `domain` under the current configuration: joined when one is running, else started. */
  private flight(domain: string, ahead = false): Flight {
    const running = this.flights.get(domain);
    if (running && !this.outdated(running.generation)) return running;
    const generation = this.generation;
    const result = this.evaluateAndCache(domain, generation, ahead);
    const flight: Flight = { generation, result };
    this.flights.set(domain, flight);
    const forget = (): void => {
      if (this.flights.get(domain) === flight) this.flights.delete(domain);
    };
    result.then(forget, forget);
    return flight;
  }

  private async evaluateAndCache(domain: string, generation: number, ahead: boolean): Promise<Evaluation> {
    // Without a shared tier nothing is awaited before the evaluation starts: a single host runs as before.
    if (this.shared) {
      // A refresh ahead takes the fleet's decision only when another instance has refreshed it meanwhile.
      const local = ahead ? this.decisions.peek(domain) : undefined;
      const fromFleet = await this.fromShared(this.shared, domain, local ? local.expires - this.now() : 0);
      if (fromFleet?.fresh && !this.outdated(generation)) {
        this.store(domain, fromFleet.fresh);
        return fromFleet.fresh;
      }
      // Only a stale one: kept here as expired, for the stale answer if DNS now fails or is too slow.
      if (fromFleet?.stale && !this.decisions.peek(domain) && !this.outdated(generation)) {
        this.decisions.set(domain, fromFleet.stale.decision, -1, this.generation, fromFleet.stale.keptMs);
      }
    }
    const evaluation = await this.evaluate(domain, ahead);
    // A decision made under a configuration since replaced is not kept: the next lookup decides afresh.
    if (evaluation.ttlMs > 0 && !this.outdated(generation)) {
      this.store(domain, evaluation);
      this.share(domain, evaluation);
    }
    this.logDecision(evaluation);
    return evaluation;
  }

  /**
   * The fleet's fresh decision for `domain`, read within the shared read budget (never past the deadline);
   * `stale` when the fleet holds it only past its fresh life (for stale answers); undefined when it has
   * none, none fresher than `minFreshMs`, when this instance's own policy decides the domain (an override,
   * this host), or when the decision would route to this host.
   */
  private async fromShared(tier: SharedTier, domain: string, minFreshMs: number): Promise<{ fresh?: Evaluation; stale?: SharedDecision } | undefined> {
    const override = matchOverride(this.overrides, domain);
    if (override !== undefined || this.locality.isLocalDomain(domain)) return undefined;
    const started = performance.now();
    const found = await tier.readDecision(this.rule, domain, this.sharedBudgetMs());
    if (!found || involvesUs(found.decision, this.locality)) return undefined;
    if (found.freshMs <= 0) return { stale: { ...found, keptMs: Math.min(found.keptMs, this.settings.staleTtlMs) } };
    if (found.freshMs <= minFreshMs) return undefined;
    const fresh: Evaluation = {
      domain,
      override,
      mx: undefined,
      hosts: [],
      decision: found.decision,
      ttlMs: Math.min(found.freshMs, this.lifetimeCap(found.decision)),
      routesDropped: 0,
      dnsQueries: 0,
      probesSent: 0,
      durationMs: Math.round(performance.now() - started),
      shared: true,
    };
    return { fresh };
  }

  /** Offers a fresh decision to the fleet: not one an override or this host's own policy made. */
  private share(domain: string, evaluation: Evaluation): void {
    if (!this.shared || evaluation.override !== undefined || !shareable(evaluation.decision)) return;
    this.shared.writeDecision(this.rule, domain, evaluation.decision, evaluation.ttlMs, this.settings.staleTtlMs);
  }

  /**
   * Caches an evaluation. A DNS failure never replaces a decision still kept (fresh, or stale within
   * stale_ttl): that one goes on being answered, and no new attempt is made for failure_ttl. Anything else —
   * NXDOMAIN, null MX, a new decision — replaces it at once, kept stale for stale_ttl after it expires.
   */
  private store(domain: string, evaluation: Evaluation): void {
    const { decision } = evaluation;
    const now = this.now();
    const kept = this.decisions.peek(domain);
    if (decision.action === 'dns-failure' && kept && kept.value.action !== 'dns-failure') {
      kept.retryAt = now + this.settings.failureTtlMs;
      if (kept.expires <= now) this.log.info({ evt: 'serving-stale', domain, detail: decision.detail, staleForMs: Math.round(now - kept.expires) }, `${domain}: DNS failed (${decision.detail}); answering the decision that expired ${Math.round((now - kept.expires) / 1000)} s ago`);
      return;
    }
    const keepMs = decision.action === 'dns-failure' ? 0 : this.settings.staleTtlMs;
    this.decisions.set(domain, decision, Math.min(evaluation.ttlMs, this.lifetimeCap(decision)), this.generation, keepMs);
  }

  /**
   * Runs the whole rule for one domain, without the domain cache (shared host and probe caches still
   * apply). `ahead`: a refresh before expiry, which asks again for host facts and probe verdicts that are
   * about to expire themselves.
   */
  async evaluate(domain: string, ahead = false): Promise<Evaluation> {
    const started = performance.now();
    const tally: Tally = { dnsQueries: 0, probesSent: 0 };
    const settings = this.settings;
    const override = matchOverride(this.overrides, domain);
    const finish = (mx: MxFacts | undefined, hosts: HostReport[], decision: Decision, ttlMs: number, routesDropped = 0, protection?: ProtectionFacts): Evaluation => ({
      domain,
      override,
      mx,
      hosts,
      decision,
      ttlMs,
      routesDropped,
      dnsQueries: tally.dnsQueries,
      probesSent: tally.probesSent,
      durationMs: Math.round(performance.now() - started),
      ...(protection ? { protection } : {}),
    });
    if (override === 'never') return finish(undefined, [], leave('never'), 0);
    const locality = this.locality;
    if (locality.isLocalDomain(domain)) return finish(undefined, [], leave('local'), 0);

    // Every DNS query and probe of this lookup must start before its deadline, or is not sent.
    const until = started + settings.deadlineMs;
    const dns = counting(this.dns, tally, until);
    const mx = limitMxHosts(await resolveMx(dns, domain), settings.maxMxHosts);
    const share = ahead ? settings.refreshAhead : 0;
    const facts = mx.kind === 'hosts' ? await Promise.all(mx.hosts.map((h) => this.hosts.get(h.name, dns, share))) : [];
    const forced = override === 'force';
    const probing = mx.kind === 'hosts' && probesNeeded(facts, forced, settings);
    // The lookup's probe budget goes to the most preferred hosts first (facts are in preference order).
    let budget = probing ? settings.maxProbes : 0;
    const planned = facts.map((host) => {
      const addresses = host.aaaa.kind === 'records' ? host.aaaa.addresses.slice(0, Math.min(settings.probesPerHost, budget)) : [];
      budget -= addresses.length;
      return addresses;
    });
    let probesMissed = false;
    const hosts: HostReport[] = await Promise.all(
      facts.map(async (host, i) => {
        const preference = mx.kind === 'hosts' ? mx.hosts[i].preference : 0;
        const probes = await this.probeHost(planned[i], tally, until, share);
        if (probes.length < planned[i].length) probesMissed = true;
        const triggers: Trigger[] = [...dnsTriggers(host, settings), ...probeTrigger(host, probes, settings)];
        return { ...host, preference, probes, triggers };
      }),
    );
    const outcome = decide(mx, hosts, { forced, isOwn: (address) => locality.isOwn(address), maxAddresses: settings.maxAddresses });
    // A probe that could not run might have forced the domain: without it, no decision to keep for long.
    let decision: Decision =
      probesMissed && outcome.decision.action !== 'force-ipv4' ? { action: 'dns-failure', detail: 'IPv6 probes could not start before the deadline (probe_concurrency in use)' } : outcome.decision;
    let ttl = outcome.ttl;
    // Forced: does the domain publish transport security a literal route would drop? (Not asked under
    // `secure_domains: force`, nor for a force_ipv4 pattern written with `!`.)
    let protection: ProtectionFacts | undefined;
    if (decision.action === 'force-ipv4' && settings.secureDomains !== 'force' && !(forced && this.overrides.force.isMarked(domain))) {
      protection = await checkProtection(dns, domain, mx, facts, { dnssec: settings.dnssec, failureTtl: settings.failureTtlMs / 1000 });
      if (protection.found.length > 0) decision = { ...decision, protection: protection.found };
      ttl = Math.min(ttl, protection.ttl);
    }
    const ttlMs = decision.action === 'dns-failure' ? settings.failureTtlMs : Math.min(settings.maxTtlMs, Math.max(settings.minTtlMs, ttl * 1000));
    return finish(mx, hosts, intern(decision), ttlMs, outcome.routesDropped ?? 0, protection);
  }

  /** Probes `addresses`; those that could not start before `until` are left out of the result. */
  private async probeHost(addresses: readonly string[], tally: Tally, until: number, refreshShare: number): Promise<ProbeFact[]> {
    const facts = await Promise.all(
      addresses.map(async (address): Promise<ProbeFact | undefined> => {
        const verdict = await this.prober.check(address, until, refreshShare);
        if (!verdict) return undefined;
        if (!verdict.cached) tally.probesSent++;
        return { address, ok: verdict.ok, detail: verdict.detail, ms: verdict.ms, cached: verdict.cached, ttlMs: verdict.ttlMs };
      }),
    );
    return facts.filter((f): f is ProbeFact => f !== undefined);
  }

  /**
   * One line per fresh decision: at info for a forced one or a DNS failure (what an operator acts on),
   * at debug for one left alone (most of them: a flood of new domains would flood the log). /metrics counts
   * them all by reason either way.
   */
  private logDecision(e: Evaluation): void {
    const d = e.decision;
    const secure = d.action === 'force-ipv4' && d.protection ? d.protection : undefined;
    const level = d.action === 'leave' ? 'debug' : secure && this.settings.secureDomains === 'warn' ? 'warn' : 'info';
    if (!this.log.isLevelEnabled(level)) return;
    const fields = {
      evt: 'decision',
      domain: e.domain,
      action: d.action,
      reasons: d.action === 'force-ipv4' ? d.triggers : d.action === 'leave' ? [d.reason] : ['dns-failure'],
      routes: d.action === 'force-ipv4' ? d.routes : undefined, // at most max_addresses
      routesDropped: e.routesDropped || undefined,
      mxHostsDropped: e.mx?.kind === 'hosts' ? e.mx.dropped : undefined,
      detail: d.action === 'dns-failure' ? d.detail : undefined,
      ttlMs: e.ttlMs,
      durationMs: e.durationMs,
      dnsQueries: e.dnsQueries,
      probes: e.probesSent,
      dryRun: this.settings.dryRun || undefined,
      protection: secure,
    };
    const publishes = secure && `publishes ${secure.join(' and ').toUpperCase()}`;
    const note = !secure
      ? ''
      : this.settings.secureDomains === 'skip'
        ? ` (${publishes}: answered NOTFOUND on maps that route to IP literals, secure_domains: skip)`
        : ` although it ${publishes}: an IP-literal route drops that protection (secure_domains: warn)`;
    this.log[level](fields, `${e.domain}: ${d.action}${note}${this.settings.dryRun ? ' (dry run: answered NOTFOUND)' : ''}`);
  }
}
