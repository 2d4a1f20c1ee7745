/**
 * The decisions this process holds: a bounded cache of fresh and stale decisions per domain, their
 * lifetimes, and the configuration generations that say which ones a reload leaves standing. Each part of
 * the policy a decision depends on records the generation that last changed it; an entry from before that
 * is checked on its next hit (dropped, or its lifetime cut), and work begun before it is done again.
 * Also what leaves the process: the forced decisions (/decisions, `export`) and the snapshot rows.
 */
import type { Logger } from 'pino';
import { type CacheEntry, TtlCache } from '../cache/ttl-cache.js';
import { type FleetCopy, Tier } from '../cache/tier.js';
import type { Decision, ExportedDecision } from './decision.js';
import type { KeptDecision } from './decision-codec.js';
import { fitsOverride, matchOverride } from './overrides.js';
import { type Policy, dependsOnRule, forcedByOverride, involvesUs, lifetimeCap, ruleFingerprint } from './policy.js';

/**
 * Why a stale decision was answered: its refresh failed (DNS failure), missed the deadline, or is held off
 * (failure_ttl after a failed one).
 */
export const STALE_CAUSES = ['failed', 'deadline', 'held'] as const;
export type StaleCause = (typeof STALE_CAUSES)[number];

/** What a reload changed, for its log line; each part invalidates what depends on it, and only that. */
export interface Reconfigured {
  readonly rule: boolean;
  readonly overrides: boolean;
  readonly lifetimes: boolean;
}

/**
 * The fleet's copy of a decision as this instance believes it: never one that routes to this host, its
 * fresh life capped to ours, kept stale no longer than our stale_ttl.
 */
export function believeFleetDecision(copy: FleetCopy<Decision>, { settings, locality }: Policy): FleetCopy<Decision> | undefined {
  if (involvesUs(copy.value, locality)) return undefined;
  if (copy.freshMs <= 0) return { ...copy, keptMs: Math.min(copy.keptMs, settings.staleTtlMs) };
  const freshMs = Math.min(copy.freshMs, lifetimeCap(copy.value, settings));
  return { value: copy.value, freshMs, keptMs: freshMs + settings.staleTtlMs };
}

export class DecisionStore {
  /** This process's decisions, with the fleet's behind them (the one tier mechanism, cache/tier.ts). */
  readonly tier: Tier<Decision>;
  /** Answers from a stale decision, by cause. */
  readonly staleAnswers: Record<StaleCause, number> = { failed: 0, deadline: 0, held: 0 };
  private generation = 0;
  private ruleChanged = 0;
  private overridesChanged = 0;
  private lifetimesChanged = 0;
  private localityChanged = 0;
  private evidenceChanged = 0;

  constructor(
    private readonly policy: () => Policy,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.tier = new Tier(new TtlCache(policy().settings.cacheSize, now));
  }

  private get cache(): TtlCache<string, Decision> {
    return this.tier.cache;
  }

  /** The configuration generation work starts under now. */
  get current(): number {
    return this.generation;
  }

  /** Records a new policy: what changed is checked on each entry's next hit. */
  changed(what: Reconfigured & { readonly locality?: boolean; readonly evidence?: boolean }): void {
    this.generation++;
    if (what.rule) this.ruleChanged = this.generation;
    if (what.overrides) this.overridesChanged = this.generation;
    if (what.lifetimes) this.lifetimesChanged = this.generation;
    if (what.locality) this.localityChanged = this.generation;
    if (what.evidence) this.evidenceChanged = this.generation;
    this.cache.resize(this.policy().settings.cacheSize);
  }

  /** Whether work begun under `generation` was overtaken by a change it depends on. */
  outdated(generation: number): boolean {
    return generation < this.ruleChanged || generation < this.overridesChanged || generation < this.localityChanged;
  }

  /** The entry for `domain`, fresh or stale, checked against any change since it was stored (a use). */
  lookup(domain: string, now?: number): CacheEntry<Decision> | undefined {
    return this.cache.lookup(domain, this.generation, this.revalidate, now);
  }

  /** A fresh decision not yet due for a refresh, checked under today's configuration (a use); else undefined: ask `lookup`. */
  fresh(domain: string, now: number): Decision | undefined {
    return this.cache.freshValue(domain, this.generation, now, this.policy().settings.refreshAhead);
  }

  /** The entry, fresh or stale, without counting a use. */
  peek(domain: string): CacheEntry<Decision> | undefined {
    return this.cache.peek(domain);
  }

  /** Checks a cached entry from before the latest change (TtlCache.lookup). */
  private readonly revalidate = (domain: string, entry: CacheEntry<Decision>): boolean => {
    const { overrides, locality, settings } = this.policy();
    if (entry.stamp < this.ruleChanged && dependsOnRule(entry.value)) return false;
    // A domain forced by an override is decided again after any override change: whether its pattern ends
    // in `!` (no transport-security lookups) is not written in the decision.
    if (entry.stamp < this.overridesChanged && (!fitsOverride(entry.value, matchOverride(overrides, domain)) || forcedByOverride(entry.value))) return false;
    if (entry.stamp < this.localityChanged && (locality.isLocalDomain(domain) || involvesUs(entry.value, locality))) return false;
    // New delivery-log evidence may force a domain left alone: such decisions are made again (forced ones stand).
    if (entry.stamp < this.evidenceChanged && entry.value.action === 'leave' && dependsOnRule(entry.value)) return false;
    if (entry.stamp < this.lifetimesChanged) entry.expires = Math.min(entry.expires, this.now() + lifetimeCap(entry.value, settings));
    return true;
  };

  /**
   * Keeps a new decision. A DNS failure never replaces a decision still kept (fresh, or stale within
   * stale_ttl): that one goes on being answered, and no new attempt is made for failure_ttl. Anything else —
   * NXDOMAIN, null MX, a new decision — replaces it at once, kept stale for stale_ttl after it expires.
   */
  store(domain: string, decision: Decision, ttlMs: number): void {
    const { settings } = this.policy();
    const now = this.now();
    const kept = this.cache.peek(domain);
    if (decision.action === 'dns-failure' && kept && kept.value.action !== 'dns-failure') {
      kept.retryAt = now + settings.failureTtlMs;
      if (kept.expires <= now) {
        const detail = decision.detail;
        this.log.info(
          { evt: 'serving-stale', domain, detail, staleForMs: Math.round(now - kept.expires) },
          `${domain}: DNS failed (${detail}); answering the decision that expired ${Math.round((now - kept.expires) / 1000)} s ago`,
        );
      }
      return;
    }
    const keepMs = decision.action === 'dns-failure' ? 0 : settings.staleTtlMs;
    this.cache.set(domain, decision, Math.min(ttlMs, lifetimeCap(decision, settings)), this.generation, keepMs);
  }

  /**
   * An expired decision kept for stale answers that a lookup found in the fleet's cache (no local one
   * existed when it began): the same answer another instance would give stale.
   */
  keptFromFleet(domain: string): CacheEntry<Decision> | undefined {
    if (!this.tier.shared) return undefined;
    const entry = this.cache.peek(domain);
    return entry && entry.expires <= this.now() && entry.value.action !== 'dns-failure' ? entry : undefined;
  }

  answerStale(decision: Decision, cause: StaleCause): Decision {
    this.staleAnswers[cause]++;
    return decision;
  }

  /** The forced decisions held now, with their remaining lifetime (for /decisions and `export`). */
  *forcedDecisions(): IterableIterator<ExportedDecision> {
    for (const [domain, d, ttlMs] of this.cache.fresh()) {
      if (d.action === 'force-ipv4') yield { domain, triggers: d.triggers, routes: d.routes, ttlMs, ...(d.protection ? { protection: d.protection } : {}) };
    }
  }

  /** Cached decisions, stale ones included, with their expiry (the store's clock is wall-clock time), for the snapshot file. */
  *snapshotEntries(): IterableIterator<KeptDecision> {
    for (const [domain, entry] of this.cache.kept()) {
      yield { domain, decision: entry.value, expiresAt: entry.expires, ...(entry.keepUntil > entry.expires ? { staleUntil: entry.keepUntil } : {}) };
    }
  }

  /**
   * Puts decisions from a snapshot back (at start, before any lookup). Those that no longer fit — the rule
   * they were made under (`rule`, a ruleFingerprint; undefined when unknown) differs from today's, or an
   * override changed since — are dropped, not served.
   */
  restore(entries: Iterable<KeptDecision>, rule: string | undefined): { restored: number; dropped: number } {
    const { settings, overrides, locality } = this.policy();
    const now = this.now();
    const sameRule = rule === ruleFingerprint(settings);
    let restored = 0;
    let dropped = 0;
    for (const { domain, decision, expiresAt, staleUntil } of entries) {
      const keepUntil = Math.min(staleUntil ?? expiresAt, expiresAt + settings.staleTtlMs);
      if (keepUntil <= now && expiresAt <= now) continue;
      const fits = fitsOverride(decision, matchOverride(overrides, domain)) && !locality.isLocalDomain(domain) && !involvesUs(decision, locality);
      if ((!sameRule && dependsOnRule(decision)) || !fits) {
        dropped++;
        continue;
      }
      const ttl = Math.min(expiresAt - now, lifetimeCap(decision, settings));
      this.cache.set(domain, decision, ttl, this.generation, Math.max(0, keepUntil - (now + ttl)));
      restored++;
    }
    return { restored, dropped };
  }
}
