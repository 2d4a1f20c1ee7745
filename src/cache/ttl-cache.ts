/**
 * A bounded cache whose entries expire: least recently used entries go first when full, expired entries are
 * never returned. A Map keeps insertion order, which doubles as the recency list.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  hits = 0;
  misses = 0;

  constructor(
    readonly max: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(max >= 1)) throw new RangeError('cache size must be at least 1');
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

  set(key: K, value: V, ttlMs: number): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.now() + ttlMs });
    if (this.entries.size > this.max) {
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

/** Caps how many async tasks run at once; the rest wait in order. */
export class Semaphore {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async use<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
