/**
 * The one mechanism for everything mx4map remembers: this process's cache, then (with `shared_cache`) the
 * fleet's copy read within a budget, then the source itself (DNS, a probe, a whole evaluation). One fill
 * per key at a time; a refresh ahead of expiry takes the fleet's copy only when another instance renewed
 * it; what the source produced is kept here and offered back to the fleet. Decisions, MX host facts and
 * probe verdicts each are one Tier; the fleet is whatever implements FleetShelf (shared/ does, for Redis).
 */
import type { TtlCache } from './ttl-cache.js';

/** A value as the fleet holds it: fresh for `freshMs` more (0 or less: expired), kept for stale answers until `keptMs`. */
export interface FleetCopy<V> {
  readonly value: V;
  readonly freshMs: number;
  readonly keptMs: number;
}

/** The fleet's copies of one kind of fact. Reads take at most their budget and never throw; writes never wait. */
export interface FleetShelf<V> {
  read(key: string, budgetMs: number): Promise<FleetCopy<V> | undefined>;
  /** Keeps `value` for the fleet: fresh for `freshMs`, then answerable stale for `staleMs` more. */
  write(key: string, value: V, freshMs: number, staleMs: number): void;
}

/** What the source produced: the caller's result, and what is kept of it (nothing when `keep` is absent). */
export interface Produced<V, R> {
  readonly result: R;
  readonly keep?: { readonly value: V; readonly ttlMs: number; readonly keepMs?: number; readonly share: boolean };
}

/** How one key is filled. */
export interface Fill<V, R> {
  /** The fleet is asked first; false when this instance's own policy decides the key. */
  readonly askFleet?: boolean;
  /** At most this long for the fleet's read, when less than the tier's budget (what is left of a lookup's time). */
  readonly budgetMs?: number;
  /** A refresh ahead of expiry: the fleet's copy is taken only when clearly fresher than the one here. */
  readonly refreshing?: boolean;
  /** The fleet's copy as believed here (its lifetimes capped to ours), or undefined to refuse it. */
  believe?(copy: FleetCopy<V>): FleetCopy<V> | undefined;
  /** The result when the fleet's fresh copy is taken (`ms`: how long the read took). */
  fromFleet(copy: FleetCopy<V>, ms: number): R;
  /** A copy the fleet holds only past its fresh life is kept here, expired, for a stale answer. */
  readonly keepStale?: boolean;
  produce(): Promise<Produced<V, R>>;
  /** Whether what the fill found is still worth keeping (false: a reload overtook it). */
  current?(): boolean;
  /** Keeps a produced value here (default: the cache, stamped `stamp`). */
  store?(key: string, value: V, ttlMs: number, keepMs: number): void;
  /** The stamp cache entries get (the configuration generation, for decisions). */
  readonly stamp?: number;
}

/** A fill under way; `tag` is what the caller started it under (a configuration generation). */
export interface Flight<R> {
  readonly tag: number;
  readonly result: Promise<R>;
}

/** A refresh takes the fleet's copy only when it outlives the one here by this factor: another instance renewed it, it is not ours read back. */
const FRESHER_BY = 2;

export class Tier<V> {
  private readonly flights = new Map<string, Flight<unknown>>();
  private fleet: FleetShelf<V> | undefined;
  private budgetMs: () => number = () => 0;

  constructor(readonly cache: TtlCache<string, V>) {}

  /** Puts the fleet's copies behind this cache, each read taking at most `budgetMs()`. */
  share(fleet: FleetShelf<V> | undefined, budgetMs: () => number): void {
    this.fleet = fleet;
    this.budgetMs = budgetMs;
  }

  get shared(): boolean {
    return this.fleet !== undefined;
  }

  get stats(): { hits: number; misses: number; size: number } {
    return { hits: this.cache.hits, misses: this.cache.misses, size: this.cache.size };
  }

  /**
   * The fresh value here, counted as a hit or a miss; with `refreshShare`, one in the last share of its
   * life is a miss (a refresh ahead learns what changed instead of reading what is about to expire).
   */
  fresh(key: string, refreshShare = 0): V | undefined {
    if (refreshShare > 0 && this.cache.nearExpiry(key, refreshShare)) return undefined;
    return this.cache.get(key);
  }

  /** Keeps a value that came from outside any fill (delivery-log evidence) and offers it to the fleet. */
  put(key: string, value: V, ttlMs: number): void {
    this.cache.set(key, value, ttlMs);
    this.fleet?.write(key, value, ttlMs, 0);
  }

  /** Whether a fill of `key` is under way. */
  filling(key: string): boolean {
    return this.flights.has(key);
  }

  /**
   * Fills `key` from the fleet or the source; joins the fill under way unless `joinable` says it was
   * started under a configuration since replaced (`tag`).
   */
  fill<R>(key: string, how: Fill<V, R>, tag = 0, joinable: (tag: number) => boolean = () => true): Flight<R> {
    const running = this.flights.get(key) as Flight<R> | undefined;
    if (running && joinable(running.tag)) return running;
    const flight: Flight<R> = { tag, result: this.run(key, how) };
    this.flights.set(key, flight);
    const forget = (): void => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    flight.result.then(forget, forget);
    return flight;
  }

  private async run<R>(key: string, how: Fill<V, R>): Promise<R> {
    const current = how.current ?? (() => true);
    const fleet = this.fleet;
    if (fleet && how.askFleet !== false) {
      const started = performance.now();
      const found = await fleet.read(key, Math.min(this.budgetMs(), how.budgetMs ?? Infinity));
      const copy = found && (how.believe ? how.believe(found) : found);
      if (copy && copy.freshMs > 0 && (!how.refreshing || copy.freshMs > FRESHER_BY * this.cache.remaining(key)) && current()) {
        this.cache.set(key, copy.value, copy.freshMs, how.stamp, copy.keptMs - copy.freshMs);
        return how.fromFleet(copy, Math.round(performance.now() - started));
      }
      // Only a stale copy: kept here as expired, answered if the source now fails or is too slow.
      if (copy && copy.freshMs <= 0 && how.keepStale && !this.cache.peek(key) && current()) {
        this.cache.set(key, copy.value, -1, how.stamp, copy.keptMs);
      }
    }
    const produced = await how.produce();
    const kept = produced.keep;
    if (kept && current()) {
      const keepMs = kept.keepMs ?? 0;
      if (how.store) how.store(key, kept.value, kept.ttlMs, keepMs);
      else this.cache.set(key, kept.value, kept.ttlMs, how.stamp, keepMs);
      if (kept.share) fleet?.write(key, kept.value, kept.ttlMs, keepMs);
    }
    return produced.result;
  }
}
