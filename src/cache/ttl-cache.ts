// Each entry's times and generation live in pages of a Float64Array, its value in a parallel array: no
// object per entry, and times as raw doubles (an object's number fields are boxed, 16 bytes each, once they
// outgrow a small integer). Heap per cached decision: 139 bytes with an object per entry, ~120 without.
const PAGE_BITS = 11;
const PAGE_SIZE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_SIZE - 1;
const BORN = 0;
const EXPIRES = 1;
const KEEP = 2;
const STAMP = 3;
const FIELDS = 4;

/**
 * Numbered places for entries, reused once freed. A freed slot's version moves on, so a copy taken from
 * the old entry can never write into the one that reuses its place. Pages of versions are never given back
 * (8 KB each): a page made again after `compact` carries on from its old versions instead of restarting at 0.
 */
class Slots<V> {
  private readonly values: Array<V | undefined>[] = [];
  private readonly fields: Float64Array[] = [];
  private readonly versions: Uint32Array[] = [];
  private free: number[] = [];
  /** Retry times by slot: set on few entries (after a failed refresh), so not a field of every one. */
  private readonly retries = new Map<number, number>();
  private used = 0;

  take(value: V, born: number, expires: number, keepUntil: number, stamp: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      if ((slot & PAGE_MASK) === 0) {
        this.values.push(new Array<V | undefined>(PAGE_SIZE).fill(undefined));
        this.fields.push(new Float64Array(PAGE_SIZE * FIELDS));
        if (this.versions.length < this.values.length) this.versions.push(new Uint32Array(PAGE_SIZE));
      }
    }
    this.values[slot >> PAGE_BITS][slot & PAGE_MASK] = value;
    const f = this.fields[slot >> PAGE_BITS];
    const at = (slot & PAGE_MASK) * FIELDS;
    f[at + BORN] = born;
    f[at + EXPIRES] = expires;
    f[at + KEEP] = keepUntil;
    f[at + STAMP] = stamp;
    return slot;
  }

  release(slot: number): void {
    this.values[slot >> PAGE_BITS][slot & PAGE_MASK] = undefined;
    this.versions[slot >> PAGE_BITS][slot & PAGE_MASK]++;
    if (this.retries.size > 0) this.retries.delete(slot);
    this.free.push(slot);
  }

  value(slot: number): V {
    return this.values[slot >> PAGE_BITS][slot & PAGE_MASK] as V;
  }

  field(slot: number, field: number): number {
    return this.fields[slot >> PAGE_BITS][(slot & PAGE_MASK) * FIELDS + field];
  }

  set(slot: number, field: number, value: number): void {
    this.fields[slot >> PAGE_BITS][(slot & PAGE_MASK) * FIELDS + field] = value;
  }

  retryAt(slot: number): number | undefined {
    return this.retries.size > 0 ? this.retries.get(slot) : undefined;
  }

  setRetryAt(slot: number, at: number | undefined): void {
    if (at === undefined) this.retries.delete(slot);
    else this.retries.set(slot, at);
  }

  version(slot: number): number {
    return this.versions[slot >> PAGE_BITS][slot & PAGE_MASK];
  }

  /** A copy of the entry in `slot`, whose changes reach the slot while the entry is still there. */
  entry(slot: number): CacheEntry<V> {
    return new CacheEntry(this, slot, this.version(slot));
  }

  /** Pages of values and times held (each PAGE_SIZE slots). */
  get pages(): number {
    return this.values.length;
  }

  /**
   * Gives back the pages `live` (key → slot, every entry in use) no longer needs: entries in slots above the
   * pages its size fills move down into free slots, the map's values are updated in place (its order, the
   * recency list, is kept), and the pages above are dropped. A moved entry's old slot gets a new version:
   * copies taken before the move write nothing after it (a retry or expiry set through one is lost, as for
   * a dropped entry).
   */
  compact<K>(live: Map<K, number>): void {
    const pages = Math.max(1, Math.ceil(live.size / PAGE_SIZE));
    const limit = pages * PAGE_SIZE;
    if (this.used <= limit) return;
    // Every slot below `limit` has been used (`used` is past it): each is either live or free.
    const free = this.free.filter((slot) => slot < limit);
    for (const [key, from] of live) {
      if (from < limit) continue;
      const to = free.pop() as number;
      this.values[to >> PAGE_BITS][to & PAGE_MASK] = this.value(from);
      for (let field = 0; field < FIELDS; field++) this.set(to, field, this.field(from, field));
      const retry = this.retryAt(from);
      if (retry !== undefined) {
        this.retries.set(to, retry);
        this.retries.delete(from);
      }
      this.versions[from >> PAGE_BITS][from & PAGE_MASK]++;
      live.set(key, to);
    }
    this.values.length = pages;
    this.fields.length = pages;
    this.free = free;
    this.used = limit;
  }
}

/**
 * A cached value with its lifetime and the generation it was last checked under: a copy taken when it was
 * looked up (held across awaits, it still says what was found). Changes to `expires`, `keepUntil` and
 * `retryAt` are made in the cache too, unless the entry has been replaced or dropped meanwhile.
 */
export class CacheEntry<V> {
  readonly value: V;
  /** When it was stored (its lifetime runs from here to `expires`). */
  readonly born: number;
  private expiresAt: number;
  private keptUntil: number;
  private retry: number | undefined;
  readonly stamp: number;

  constructor(
    private readonly slots: Slots<V>,
    private readonly slot: number,
    private readonly version: number,
  ) {
    this.value = slots.value(slot);
    this.born = slots.field(slot, BORN);
    this.expiresAt = slots.field(slot, EXPIRES);
    this.keptUntil = slots.field(slot, KEEP);
    this.retry = slots.retryAt(slot);
    this.stamp = slots.field(slot, STAMP);
  }

  get expires(): number {
    return this.expiresAt;
  }

  set expires(at: number) {
    this.expiresAt = at;
    this.write(EXPIRES, at);
  }

  /** Kept, stale, until then (serve-stale); equal to `expires` when not kept past it. */
  get keepUntil(): number {
    return this.keptUntil;
  }

  set keepUntil(at: number) {
    this.keptUntil = at;
    this.write(KEEP, at);
  }

  /** After a failed refresh: no new attempt before then. */
  get retryAt(): number | undefined {
    return this.retry;
  }

  set retryAt(at: number | undefined) {
    this.retry = at;
    if (this.current()) this.slots.setRetryAt(this.slot, at);
  }

  private write(field: number, value: number): void {
    if (this.current()) this.slots.set(this.slot, field, value);
  }

  /** Still the entry in its slot (not replaced, dropped or expired out since the copy was taken). */
  private current(): boolean {
    return this.slots.version(this.slot) === this.version;
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
  /** Key to slot; a Map keeps insertion order, which doubles as the recency list. */
  private readonly entries = new Map<K, number>();
  private readonly slots = new Slots<V>();
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

  /** Changes the bound; when it shrinks, least recently used entries go, and the memory they held with them. */
  resize(max: number): void {
    if (!(max >= 1)) throw new RangeError('cache size must be at least 1');
    const shrinks = max < this.maxEntries;
    this.maxEntries = max;
    for (const [key, slot] of this.entries) {
      if (this.entries.size <= max) break;
      this.drop(key, slot);
    }
    if (shrinks) this.slots.compact(this.entries);
  }

  /** Pages of entry storage held (PAGE_SIZE entries each): what `resize` gives back when the bound shrinks. */
  get pages(): number {
    return this.slots.pages;
  }

  /**
   * The entry for `key`, fresh or stale (past `expires`, before `keepUntil`), as a use. An entry stamped
   * before `stamp` goes through `revalidate` first and is restamped when it passes. `now`: the caller's
   * reading of the cache's clock, when it has one.
   */
  lookup(key: K, stamp?: number, revalidate?: Revalidate<K, V>, now: number = this.now()): CacheEntry<V> | undefined {
    const slot = this.entries.get(key);
    if (slot === undefined || this.slots.field(slot, KEEP) <= now) {
      if (slot !== undefined) this.drop(key, slot);
      this.misses++;
      return undefined;
    }
    if (stamp !== undefined && this.slots.field(slot, STAMP) !== stamp && revalidate) {
      if (!revalidate(key, this.slots.entry(slot))) {
        this.drop(key, slot);
        this.misses++;
        return undefined;
      }
      this.slots.set(slot, STAMP, stamp);
    }
    // Move to the most recent end.
    this.entries.delete(key);
    this.entries.set(key, slot);
    if (this.slots.field(slot, EXPIRES) > now) this.hits++;
    else this.staleHits++;
    return this.slots.entry(slot);
  }

  /**
   * `lookup` for the common case, without a copy of the entry: the value of an entry that is fresh, already
   * checked under `stamp` and not yet in the last `refreshShare` of its life, counted as a hit. Undefined,
   * counting and moving nothing, for anything else: the caller then goes through `lookup`.
   */
  freshValue(key: K, stamp: number, now: number, refreshShare: number): V | undefined {
    const slot = this.entries.get(key);
    if (slot === undefined || this.slots.field(slot, STAMP) !== stamp) return undefined;
    const expires = this.slots.field(slot, EXPIRES);
    if (expires <= now || now >= expires - refreshShare * (expires - this.slots.field(slot, BORN))) return undefined;
    this.entries.delete(key);
    this.entries.set(key, slot);
    this.hits++;
    return this.slots.value(slot);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value of a fresh entry; a stale or missing one is a miss. */
  get(key: K): V | undefined {
    const slot = this.entries.get(key);
    const now = this.now();
    if (slot === undefined || this.slots.field(slot, EXPIRES) <= now) {
      if (slot !== undefined && this.slots.field(slot, KEEP) <= now) this.drop(key, slot);
      this.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, slot);
    this.hits++;
    return this.slots.value(slot);
  }

  /** The entry, fresh or stale, without counting a use or moving it. */
  peek(key: K): CacheEntry<V> | undefined {
    const slot = this.entries.get(key);
    return slot !== undefined && this.slots.field(slot, KEEP) > this.now() ? this.slots.entry(slot) : undefined;
  }

  /**
   * Whether a fresh entry is in the last `share` of its lifetime (0.1: its last tenth), when a refresh
   * ahead of expiry is due. Does not count as a use.
   */
  nearExpiry(key: K, share: number): boolean {
    const slot = this.entries.get(key);
    if (slot === undefined) return false;
    const expires = this.slots.field(slot, EXPIRES);
    return this.now() >= expires - share * (expires - this.slots.field(slot, BORN));
  }

  /** Milliseconds left for a fresh entry, or 0. Does not count as a use. */
  remaining(key: K): number {
    const slot = this.entries.get(key);
    return slot !== undefined ? Math.max(0, this.slots.field(slot, EXPIRES) - this.now()) : 0;
  }

  /** Stores `value` for `ttlMs` (negative: already expired), kept stale `keepMs` past that. */
  set(key: K, value: V, ttlMs: number, stamp = 0, keepMs = 0): void {
    const now = this.now();
    const expires = now + ttlMs;
    const old = this.entries.get(key);
    if (old !== undefined) this.drop(key, old);
    this.entries.set(key, this.slots.take(value, now, expires, expires + Math.max(0, keepMs), stamp));
    if (this.entries.size > this.maxEntries) {
      const [oldestKey, oldestSlot] = this.entries.entries().next().value as [K, number];
      this.drop(oldestKey, oldestSlot);
    }
  }

  delete(key: K): void {
    const slot = this.entries.get(key);
    if (slot !== undefined) this.drop(key, slot);
  }

  /** Fresh entries with their remaining lifetime, oldest use first. */
  *fresh(): IterableIterator<[K, V, number]> {
    const now = this.now();
    for (const [key, slot] of this.entries) {
      const expires = this.slots.field(slot, EXPIRES);
      if (expires > now) yield [key, this.slots.value(slot), expires - now];
    }
  }

  /** Every entry still kept, fresh or stale, oldest use first. */
  *kept(): IterableIterator<[K, CacheEntry<V>]> {
    const now = this.now();
    for (const [key, slot] of this.entries) if (this.slots.field(slot, KEEP) > now) yield [key, this.slots.entry(slot)];
  }

  private drop(key: K, slot: number): void {
    this.entries.delete(key);
    this.slots.release(slot);
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
