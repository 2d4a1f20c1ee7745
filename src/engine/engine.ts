/**
 * The decision engine as the maps see it: `decide` answers from the decision store, or waits for one
 * fill of the domain (the fleet's copy, else the pipeline) no longer than the deadline — then answers
 * "leave", or the stale decision, while the work finishes into the store. A hit late in a decision's life
 * starts a refresh in the background. The parts: pipeline.ts evaluates, decision-store.ts keeps,
 * cache/tier.ts puts the fleet between them.
 */
import type { Logger } from 'pino';
import { type After, realTimer } from '../limits/timer.js';
import type { DnsClient } from '../dns/client.js';
import type { Flight } from '../cache/tier.js';
import type { CacheEntry } from '../cache/ttl-cache.js';
import type { Prober } from '../probe/prober.js';
import type { Decider, Decision, ExportedDecision } from './decision.js';
import { type KeptDecision, keep } from './decision-codec.js';
import { logDecision } from './decision-log.js';
import { DecisionStore, type Reconfigured, type StaleCause, believeFleetDecision } from './decision-store.js';
import { type Explanation, explain } from './explanation.js';
import { type HeldDomain, heldDomain } from './held.js';
import type { EngineFleet } from './fleet.js';
import { EvidenceBook, type EvidenceRow, type FailureReport, type ReportOutcome, relayProblem } from './evidence.js';
import { HostDirectory } from './hosts.js';
import { limitMxHosts, resolveMx } from './mx.js';
import { leave } from './intern.js';
import { type Locality, nowhere } from './locality.js';
import { type OverrideMatch, type Overrides, matchOverride, sameOverrides } from './overrides.js';
import { type Evaluation, Pipeline, fleetEvaluation } from './pipeline.js';
import { type EngineSettings, type Policy, ruleFingerprint } from './policy.js';

/** Longest a delivery-log report waits for the domain's MX records. */
const EVIDENCE_DNS_MS = 5000;

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
  readonly counters: EngineCounters;
  private policy: Policy;
  private readonly store: DecisionStore;
  private readonly hosts: HostDirectory;
  private readonly pipeline: Pipeline;
  /** Delivery-log evidence (ipv6-delivery-failed). */
  readonly evidence: EvidenceBook;
  private fleet: EngineFleet | undefined;

  constructor(
    settings: EngineSettings,
    overrides: Overrides,
    private readonly dns: DnsClient,
    private readonly prober: Prober,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly after: After = realTimer,
  ) {
    this.policy = { settings, overrides, locality: nowhere() };
    this.store = new DecisionStore(() => this.policy, log, now);
    this.hosts = new HostDirectory(settings.hostCacheSize, () => this.policy.settings, now);
    this.evidence = new EvidenceBook(settings.maxEvidence, now);
    this.pipeline = new Pipeline(() => this.policy, dns, this.hosts, prober, this.evidence);
    this.counters = { staleAnswers: this.store.staleAnswers, refreshesAhead: 0, refreshesSkipped: 0 };
  }

  get cacheStats(): Record<'decisions' | 'hosts' | 'probes', { hits: number; misses: number; size: number }> {
    return { decisions: this.store.tier.stats, hosts: this.hosts.cacheStats, probes: this.prober.cacheStats };
  }

  /**
   * Applies a reloaded configuration. Cached decisions are kept: each is checked on its next hit against
   * what changed (dropped when the rule changed and it depends on the rule, or when it no longer fits the
   * domain's override; its lifetime cut to new bounds). Lookups in flight are asked again when they finish.
   */
  reconfigure(settings: EngineSettings, overrides: Overrides): Reconfigured {
    // The identity check's verdict is this engine's state, not configuration: it outlives a reload.
    return this.apply({ ...settings, senderUnready: this.policy.settings.senderUnready }, overrides);
  }

  private apply(settings: EngineSettings, overrides: Overrides): Reconfigured {
    const before = this.policy;
    const changed: Reconfigured = {
      rule: ruleFingerprint(before.settings) !== ruleFingerprint(settings),
      overrides: !sameOverrides(before.overrides, overrides),
      lifetimes:
        before.settings.minTtlMs !== settings.minTtlMs ||
        before.settings.maxTtlMs !== settings.maxTtlMs ||
        before.settings.failureTtlMs !== settings.failureTtlMs,
    };
    this.policy = { ...before, settings, overrides };
    this.store.changed(changed);
    this.evidence.resize(settings.maxEvidence);
    this.connectFleet();
    return changed;
  }

  /**
   * Applies what this host is now (its names and addresses: at start, on a timer, on reload). A change
   * re-checks cached decisions that answer `local` or route to an address, on their next hit.
   */
  setLocality(locality: Locality): boolean {
    const changed = locality.fingerprint !== this.policy.locality.fingerprint;
    this.policy = { ...this.policy, locality };
    if (changed) this.store.changed({ rule: false, overrides: false, lifetimes: false, locality: true });
    return changed;
  }

  /**
   * Applies the verdict on this host's IPv6 sending identity (sender-ipv6-unready). A change is a change of
   * the rule: cached decisions that depend on it are decided again on their next hit.
   */
  setSenderUnready(unready: boolean): boolean {
    if ((this.policy.settings.senderUnready === true) === unready) return false;
    this.apply({ ...this.policy.settings, senderUnready: unready }, this.policy.overrides);
    return true;
  }

  /** How long one read of the shared cache may take: its budget, never past the deadline. */
  private readonly sharedBudgetMs = (): number => Math.min(this.policy.settings.sharedReadBudgetMs, this.policy.settings.deadlineMs);

  /** Puts the fleet's shared cache behind decisions, host facts and probe verdicts (serve with `shared_cache`). */
  useShared(fleet: EngineFleet | undefined): void {
    this.fleet = fleet;
    this.prober.useShared(fleet, this.sharedBudgetMs);
    this.connectFleet();
  }

  /** The fleet's shelves for the current rule and address limit (both may change on reload). */
  private connectFleet(): void {
    const { settings } = this.policy;
    this.store.tier.share(this.fleet?.decisions(ruleFingerprint(settings)), this.sharedBudgetMs);
    this.hosts.useShared(this.fleet?.hosts(settings.maxAddresses), this.sharedBudgetMs);
    this.evidence.share(this.fleet?.evidence(), this.sharedBudgetMs);
  }

  /**
   * Takes a failed delivery from the MTA's log: evidence when the relay it names is the domain's own mail
   * host in our DNS view, and then decisions that left the domain alone are made again.
   */
  async acceptFailure(report: FailureReport): Promise<ReportOutcome> {
    const { settings } = this.policy;
    const until = performance.now() + EVIDENCE_DNS_MS;
    const mx = limitMxHosts(await resolveMx({ query: (name, type) => this.dns.query(name, type, until) }, report.domain), settings.maxMxHosts);
    const problem = relayProblem(report, mx);
    if (problem) return problem;
    const outcome = this.evidence.record(report, settings.evidenceTtlMs);
    if (outcome === 'new') this.store.changed({ rule: false, overrides: false, lifetimes: false, evidence: true });
    return outcome;
  }

  /** The forced decisions held now, with their remaining lifetime (for /decisions and `export`). */
  forcedDecisions(): IterableIterator<ExportedDecision> {
    return this.store.forcedDecisions();
  }

  /** Cached decisions, stale ones included, with their wall-clock expiry, for the snapshot file. */
  snapshotEntries(): IterableIterator<KeptDecision> {
    return this.store.snapshotEntries();
  }

  /** Puts decisions from a snapshot back (at start, before any lookup); those that no longer fit are dropped. */
  restore(entries: Iterable<KeptDecision>, rule: string | undefined): { restored: number; dropped: number } {
    return this.store.restore(entries, rule);
  }

  /** Delivery-log evidence for the snapshot's evidence file, and back. */
  evidenceRows(): IterableIterator<EvidenceRow> {
    return this.evidence.rows();
  }

  restoreEvidence(rows: Iterable<EvidenceRow>): number {
    const restored = this.evidence.restore(rows, this.policy.settings.evidenceTtlMs);
    if (restored > 0) this.store.changed({ rule: false, overrides: false, lifetimes: false, evidence: true });
    return restored;
  }

  /** The rule the cached decisions were made under, for the snapshot header. */
  get rule(): string {
    return ruleFingerprint(this.policy.settings);
  }

  decide(domain: string): Decision | Promise<Decision> {
    const now = this.now();
    const fresh = this.store.fresh(domain, now);
    if (fresh !== undefined) return fresh;
    const entry = this.store.lookup(domain, now);
    const { settings, overrides, locality } = this.policy;
    if (entry && entry.expires > now) {
      // In the last part of its lifetime: answered now, refreshed in the background for the next asker.
      if (now >= entry.expires - settings.refreshAhead * (entry.expires - entry.born)) this.refreshAhead(domain, entry, now);
      return entry.value;
    }
    const override = matchOverride(overrides, domain);
    if (override === 'never') return leave('never');
    if (locality.isLocalDomain(domain)) return leave('local');
    // Expired but kept: refreshed now, and answered if the refresh fails or misses the deadline.
    if (entry && (entry.retryAt ?? 0) > now) return this.store.answerStale(entry.value, 'held');
    return this.awaitDecision(domain, override, entry);
  }

  /** Waits for the domain's fill until the deadline; a stale decision (ours or the fleet's) stands in for a failed or late one. */
  private awaitDecision(domain: string, override: OverrideMatch, stale: CacheEntry<Decision> | undefined): Promise<Decision> {
    const deadlineMs = this.policy.settings.deadlineMs;
    return new Promise<Decision>((resolve) => {
      let settled = false;
      const cancel = this.after(deadlineMs, () => {
        settled = true;
        const kept = stale ?? this.store.keptFromFleet(domain);
        if (kept) return resolve(this.store.answerStale(kept.value, 'deadline'));
        this.log.info({ evt: 'deadline', domain, deadlineMs }, 'no decision within the deadline; answered NOTFOUND, finishing in the background');
        resolve(leave('deadline'));
      });
      const finish = (decision: Decision): void => {
        settled = true;
        cancel();
        resolve(decision);
      };
      const attempt = (): void => {
        const flight = this.flight(domain, false, override);
        flight.result.then(
          (evaluation) => {
            if (settled) return;
            // Made under a configuration replaced meanwhile (a reload during the lookup): ask again.
            if (this.store.outdated(flight.tag)) attempt();
            else if (evaluation.decision.action !== 'dns-failure') finish(evaluation.decision);
            else {
              const kept = stale ?? this.store.keptFromFleet(domain);
              finish(kept ? this.store.answerStale(kept.value, 'failed') : evaluation.decision);
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
   * Evaluates `domain` afresh and says what `decide` would answer with the store as it is (in `lookup`:
   * restored from the snapshot).
   */
  async explain(domain: string): Promise<Explanation> {
    const entry = this.store.lookup(domain);
    const evaluation = await this.evaluate(domain);
    return explain(entry, evaluation, this.now(), this.policy.settings.deadlineMs);
  }

  /** What the store holds for `domain` now, deciding nothing and counting no use (the per-domain view). */
  held(domain: string): HeldDomain {
    const { overrides, locality } = this.policy;
    const override = matchOverride(overrides, domain);
    const evidence = this.evidence.forDomain(domain);
    return heldDomain(domain, this.store.peek(domain), this.now(), {
      inFlight: this.store.tier.filling(domain),
      ...(evidence ? { evidence } : {}),
      ...(override ? { override } : {}),
      local: locality.isLocalDomain(domain),
    });
  }

  /** Runs the whole rule for one domain, without the decision store (host and probe caches still apply). */
  evaluate(domain: string, ahead = false): Promise<Evaluation> {
    return this.pipeline.evaluate(domain, ahead);
  }

  /**
   * Starts one background refresh of a decision near its expiry (single flight), so a busy domain never
   * waits for DNS or a probe; skipped while a refresh of it is running or on hold after a failure, and
   * when the DNS budget is tight (the refresh can wait; lookups cannot).
   */
  private refreshAhead(domain: string, entry: CacheEntry<Decision>, now: number): void {
    if (this.store.tier.filling(domain) || (entry.retryAt ?? 0) > now) return;
    if (this.dns.busy?.()) {
      this.counters.refreshesSkipped++;
      return;
    }
    this.counters.refreshesAhead++;
    this.flight(domain, true, matchOverride(this.policy.overrides, domain));
  }

  /**
   * The fill of `domain` under the current configuration, joined when one is running: the fleet's decision
   * (unless this instance's own policy decides the domain, or it would route to this host), else the
   * pipeline's, which is stored, logged and offered to the fleet.
   */
  private flight(domain: string, ahead: boolean, override: OverrideMatch): Flight<Evaluation> {
    const generation = this.store.current;
    const current = (): boolean => !this.store.outdated(generation);
    return this.store.tier.fill<Evaluation>(
      domain,
      {
        askFleet: override === undefined && !this.policy.locality.isLocalDomain(domain),
        refreshing: ahead,
        believe: (copy) => believeFleetDecision(copy, this.policy),
        keepStale: true,
        fromFleet: (copy, ms) => fleetEvaluation(domain, override, copy.value, copy.freshMs, ms),
        produce: async () => {
          const evaluation = await this.pipeline.evaluate(domain, ahead, override);
          const { settings } = this.policy;
          logDecision(this.log, evaluation, settings);
          // A decision made under a configuration since replaced is not kept (`current`): the next lookup decides afresh.
          if (evaluation.ttlMs <= 0) return { result: evaluation };
          const { decision } = evaluation;
          const staleMs = decision.action === 'dns-failure' ? 0 : settings.staleTtlMs;
          return {
            result: evaluation,
            keep: { value: decision, ttlMs: evaluation.ttlMs, keepMs: staleMs, share: evaluation.override === undefined && keep(decision) },
          };
        },
        current,
        store: (key, decision, ttlMs) => this.store.store(key, decision, ttlMs),
        stamp: generation,
      },
      generation,
      (tag) => !this.store.outdated(tag),
    );
  }
}
