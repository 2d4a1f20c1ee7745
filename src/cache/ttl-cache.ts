/**
 * Times in entries are kept as milliseconds from this moment: small integers, which V8 stores inside the
 * object, where a full timestamp takes a separate 16-byte number each (three per entry: 48 of the ~190 bytes
 * a cached decision cost). Past ~24 days from it (or with a clock far from the wall clock, as tests use)
 * V8 falls back to boxed numbers: more memory, the same values.
 */
const EPOCH = Date.now();

/** A cached value with its lifetime and the generation it was last checked under. */
export class CacheEntry<V> {
  private bornAt: number;
  private expiresAt: number;
  private keptUntil: number;
  /** After a failed refresh: no new attempt before then (set on few entries: not a field of every one). */
  declare retryAt?: number;

  constructor(
    readonly value: V,
    born: number,
    expires: number,
    keepUntil: number,
    public stamp: number,
  ) {
    this.bornAt = born - EPOCH;
    this.expiresAt = expires - EPOCH;
    this.keptUntil = keepUntil - EPOCH;
  }

  /** When it was stored (its lifetime runs from here to `expires`). */
  get born(): number {
    return this.bornAt + EPOCH;
  }

  get expires(): number {
    return this.expiresAt + EPOCH;
  }

  set expires(at: number) {
    this.expiresAt = at - EPOCH;
  }

  /** Kept, stale, until then (serve-stale); equal to `expires` when not kept past it. */
  get keepUntil(): number {
    return this.keptUntil + EPOCH;
  }

  set keepUntil(at: number) {
    this.keptUntil = at - EPOCH;
  }
}

/**
 * Checks an entry stamped under an older generation (a configuration reload came since): true keeps it
 * (the check may shorten its expiry), false drops it as a miss.
 */
export type Revalidate<K, V> = (key: K, entry: CacheEntry<V>) => boolean;

/**
 * A bounded cache whose entries expire: least recently used entries go first when full, expired entries are
 * never returned by `get`. An entry may be kept past its expiry (`keepMs`), stale, for `lookup` to find:
 * the entry count bounds stale entries as it does fresh ones. A Map keeps insertion order, which doubles as
 * the recency list.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, CacheEntry<V>>();
  hits = 0;
  misses = 0;
  /** Lookups that found only a stale entry. */
  staleHits = 0;

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
   * The entry for `key`, fresh or stale (past `expires`, before `keepUntil`), as a use. An entry stamped
   * before `stamp` goes through `revalidate` first and is restamped when it passes. `now`: the caller's
   * reading of the cache's clock, when it has one.
   */
  lookup(key: K, stamp?: number, revalidate?: Revalidate<K, V>, now: number = this.now()): CacheEntry<V> | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.keepUntil <= now) {
      if (entry) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    if (stamp !== undefined && entry.stamp !== stamp && revalidate) {
      if (!revalidate(key, entry)) {
        this.entries.delete(key);
        this.misses++;
        return undefined;
      }
      entry.stamp = stamp;
    }
    // Move to the most recent end.
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (entry.expires > now) this.hits++;
    else this.staleHits++;
    return entry;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value of a fresh entry; a stale or missing one is a miss. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.expires <= this.now()) {
      if (entry && entry.keepUntil <= this.now()) this.entries.delete(key);
      this.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.hits++;
    return entry.value;
  }

  /** The entry, fresh or stale, without counting a use or moving it. */
  peek(key: K): CacheEntry<V> | undefined {
    const entry = this.entries.get(key);
    return entry && entry.keepUntil > this.now() ? entry : undefined;
  }

  /**
   * Whether a fresh entry is in the last `share` of its lifetime (0.1: its last tenth), when a refresh
   * ahead of expiry is due. Does not count as a use.
   */
  nearExpiry(key: K, share: number): boolean {
    const entry = this.entries.get(key);
    return entry !== undefined && this.now() >= entry.expires - share * (entry.expires - entry.born);
  }

  /** Milliseconds left for a fresh entry, or 0. Does not count as a use. */
  remaining(key: K): number {
    const entry = this.entries.get(key);
    return entry ? Math.max(0, entry.expires - this.now()) : 0;
  }

  /** Stores `value` for `ttlMs` (negative: already expired), kept stale `keepMs` past that. */
  set(key: K, value: V, ttlMs: number, stamp = 0, keepMs = 0): void {
    const now = this.now();
    const expires = now + ttlMs;
    this.entries.delete(key);
    this.entries.set(key, new CacheEntry(value, now, expires, expires + Math.max(0, keepMs), stamp));
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

  /** Every entry still kept, fresh or stale, oldest use first. */
  *kept(): IterableIterator<[K, CacheEntry<V>]> {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.keepUntil > now) yield [key, entry];
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
