/** A cached value with its expiry and the generation it was last checked under. */
export interface CacheEntry<V> {
  readonly value: V;
  expires: number;
  stamp: number;
}

/**
 * Checks an entry stamped under an older generation (a configuration reload came since): true keeps it
 * (the check may shorten its expiry), false drops it as a miss.
 */
export type Revalidate<K, V> = (key: K, entry: CacheEntry<V>) => boolean;

/**
 * A bounded cache whose entries expire: least recently used entries go first when full, expired entries are
 * never returned. A Map keeps insertion order, which doubles as the recency list.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, CacheEntry<V>>();
  hits = 0;
  misses = 0;

  constructor(
    private maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(maxEntries >= 1)) throw new RangeError('cache size must be at least 1');
  }

  get max(): number {
    return this.maxEntries;
  }

  /** Changes the bound; when it shrinks, least recently used entries go. */
  resize(max: number): void {
    if (!(max >= 1)) throw new RangeError('cache size must be at least 1');
    this.maxEntries = max;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= max) break;
      this.entries.delete(key);
    }
  }

  /**
   * Like get, for entries stamped with generations: an entry stamped before `stamp` goes through
   * `revalidate` first, and is restamped when it passes.
   */
  getCurrent(key: K, stamp: number, revalidate: Revalidate<K, V>): V | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined && entry.stamp !== stamp && entry.expires > this.now()) {
      if (!revalidate(key, entry)) {
        this.entries.delete(key);
        this.misses++;
        return undefined;
      }
      entry.stamp = stamp;
    }
    return this.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (entry.expires <= this.now()) {
      this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    // Move to the most recent end.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits++;
    return entry.value;
  }

  /** Milliseconds left for a fresh entry, or 0. Does not count as a use. */
  remaining(key: K): number {
    const entry = this.entries.get(key);
    return entry ? Math.max(0, entry.expires - this.now()) : 0;
  }

  set(key: K, value: V, ttlMs: number, stamp = 0): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs, stamp });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as K;
      this.entries.delete(oldest);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Fresh entries with their remaining lifetime, oldest use first. */
  *fresh(): IterableIterator<[K, V, number]> {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expires > now) yield [key, entry.value, entry.expires - now];
  }
}

/** Runs one piece of work per key at a time; callers asking meanwhile share its result. */
export class SingleFlight<K, V> {
  private readonly running = new Map<K, Promise<V>>();

  get size(): number {
    return this.running.size;
  }

  run(key: K, work: () => Promise<V>): Promise<V> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const promise = work().finally(() => this.running.delete(key));
    this.running.set(key, promise);
    return promise;
  }
}
