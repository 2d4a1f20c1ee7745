import fc from 'fast-check';
import { SingleFlight, TtlCache } from '../../src/cache/ttl-cache';

describe('TtlCache', () => {
  test('entries expire and are never returned after', () => {
    let now = 1000;
    const cache = new TtlCache<string, number>(10, () => now);
    cache.set('a', 1, 500);
    expect(cache.get('a')).toBe(1);
    expect(cache.remaining('a')).toBe(500);
    now = 1499;
    expect(cache.get('a')).toBe(1);
    now = 1500;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  test('bounded: the least recently used entry goes first', () => {
    const cache = new TtlCache<string, number>(2);
    cache.set('a', 1, 60_000);
    cache.set('b', 2, 60_000);
    cache.get('a');
    cache.set('c', 3, 60_000);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
    expect(cache.size).toBe(2);
  });

  test('counts hits and misses', () => {
    const cache = new TtlCache<string, number>(2);
    cache.get('x');
    cache.set('x', 1, 1000);
    cache.get('x');
    expect([cache.hits, cache.misses]).toEqual([1, 1]);
  });

  test('an entry copy held after its entry was dropped never writes into the entry that reuses its place', () => {
    let now = 1000;
    const cache = new TtlCache<string, string>(10, () => now);
    cache.set('old.example', 'old', 500, 0, 1000);
    const held = cache.lookup('old.example');
    cache.delete('old.example');
    cache.set('new.example', 'new', 500, 0, 1000); // takes the freed place
    if (!held) throw new Error('no entry');
    held.expires = 0;
    held.keepUntil = 0;
    held.retryAt = 99_999;
    // The copy still says what was found; the new entry is untouched.
    expect([held.value, held.born, held.expires, held.retryAt]).toEqual(['old', 1000, 0, 99_999]);
    const fresh = cache.lookup('new.example');
    expect([fresh?.value, fresh?.expires, fresh?.keepUntil, fresh?.retryAt]).toEqual(['new', 1500, 2500, undefined]);
    now = 2000; // stale, still kept
    expect(cache.lookup('new.example')?.value).toBe('new');
  });

  test('changes made through a copy reach the cache while its entry is there; replacing the entry clears a retry', () => {
    let now = 1000;
    const cache = new TtlCache<string, string>(10, () => now);
    cache.set('a.example', 'first', 500, 0, 1000);
    const copy = cache.peek('a.example');
    if (!copy) throw new Error('no entry');
    copy.retryAt = 5000;
    copy.expires = 1200;
    expect([cache.peek('a.example')?.retryAt, cache.remaining('a.example')]).toEqual([5000, 200]);
    cache.set('a.example', 'second', 500, 0, 1000);
    expect(cache.peek('a.example')?.retryAt).toBeUndefined();
    now = 1300;
    expect(cache.get('a.example')).toBe('second'); // the write to the old copy did not shorten the new entry
  });

  test('shrunk by resize, it gives back the pages it no longer needs; the entries kept keep their values, times, retries and order', () => {
    let now = 1000;
    const cache = new TtlCache<string, number>(10_000, () => now);
    for (let i = 0; i < 10_000; i++) cache.set(`k${i}.example`, i, 1000 + i, 0, 500);
    for (let i = 9_990; i < 10_000; i++) {
      const entry = cache.lookup(`k${i}.example`);
      if (entry) entry.retryAt = 50_000 + i;
    }
    expect(cache.pages).toBe(5);
    now = 1500;
    cache.resize(100); // the 100 used last stay: k9900 … k9999, most of them in the top page before
    expect(cache.pages).toBe(1);
    const kept = [...cache.kept()].map(([key, e]) => [key, e.value, e.born, e.expires, e.keepUntil, e.retryAt]);
    expect(kept).toEqual(
      Array.from({ length: 100 }, (_, n) => {
        const i = 9_900 + n;
        return [`k${i}.example`, i, 1000, 2000 + i, 2500 + i, i >= 9_990 ? 50_000 + i : undefined];
      }),
    );
    // And it grows again as before.
    cache.resize(10_000);
    for (let i = 0; i < 5_000; i++) cache.set(`n${i}.example`, -i, 1000, 0, 0);
    expect([cache.size, cache.pages, cache.get('n4999.example'), cache.get('k9999.example')]).toEqual([5_100, 3, -4999, 9999]);
  });

  test('a copy held while its entry was moved by a shrink, or its place given back and made again, never writes into another entry', () => {
    const now = 1000;
    const cache = new TtlCache<string, number>(5_000, () => now);
    for (let i = 0; i < 5_000; i++) cache.set(`k${i}.example`, i, 1000, 0, 1000);
    const moved = cache.lookup('k4999.example'); // the top page: moved down by the shrink
    const dropped = cache.peek('k4000.example'); // dropped by the shrink; its page given back
    if (!moved || !dropped) throw new Error('no entry');
    cache.resize(10);
    expect(cache.pages).toBe(1);
    moved.expires = 0;
    moved.retryAt = 77;
    expect([cache.peek('k4999.example')?.expires, cache.peek('k4999.example')?.retryAt]).toEqual([2000, undefined]);
    // Grown again: the pages come back, and new keys fill the places the copies came from.
    cache.resize(5_000);
    for (let i = 0; i < 4_990; i++) cache.set(`n${i}.example`, -i, 1000, 0, 1000);
    dropped.expires = 0;
    dropped.keepUntil = 0;
    dropped.retryAt = 88;
    moved.keepUntil = 0;
    const others = [...cache.kept()];
    expect(others).toHaveLength(5_000);
    expect(others.every(([, e]) => e.expires === 2000 && e.keepUntil === 3000 && e.retryAt === undefined)).toBe(true);
  });

  test('freshValue: a fresh entry checked under the stamp, not yet due for a refresh, is a hit; anything else is left to lookup', () => {
    let now = 0;
    const cache = new TtlCache<string, string>(10, () => now);
    cache.set('a.example', 'a', 1000, 7);
    cache.set('b.example', 'b', 1000, 7);
    expect(cache.freshValue('a.example', 7, now, 0.1)).toBe('a');
    expect([cache.hits, cache.misses]).toEqual([1, 0]);
    // It counted as a use: b is now the least recently used and goes first.
    cache.resize(1);
    expect(cache.peek('b.example')).toBeUndefined();
    expect(cache.freshValue('missing.example', 7, now, 0.1)).toBeUndefined();
    expect(cache.freshValue('a.example', 8, now, 0.1)).toBeUndefined(); // stamped before a change: lookup revalidates
    now = 900; // in its last tenth: lookup decides on a refresh
    expect(cache.freshValue('a.example', 7, now, 0.1)).toBeUndefined();
    now = 1000;
    expect(cache.freshValue('a.example', 7, now, 0.1)).toBeUndefined();
    expect([cache.hits, cache.misses, cache.staleHits]).toEqual([1, 0, 0]);
  });

  test('thousands of entries set, replaced and dropped: each key keeps its own value and times', () => {
    let now = 0;
    const cache = new TtlCache<string, number>(3000, () => now);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5000; i++) cache.set(`k${i}`, i * 10 + round, 1000 + i, 0, i);
      for (let i = 0; i < 5000; i += 3) cache.delete(`k${i}`);
      now++;
    }
    // The last 3,000 set, less those deleted afterwards.
    for (let i = 0; i < 5000; i++) {
      const entry = cache.peek(`k${i}`);
      if (i < 2000 || i % 3 === 0) expect(entry).toBeUndefined();
      else expect([entry?.value, entry?.born, entry?.expires, entry?.keepUntil]).toEqual([i * 10 + 2, 2, 1002 + i, 1002 + 2 * i]);
    }
  });
});

test('SingleFlight runs one piece of work per key at a time', async () => {
  const flights = new SingleFlight<string, number>();
  let runs = 0;
  const work = () => new Promise<number>((r) => setTimeout(() => r(++runs), 10));
  const results = await Promise.all([flights.run('k', work), flights.run('k', work), flights.run('other', work)]);
  expect(results.sort()).toEqual([1, 1, 2]);
  expect(flights.size).toBe(0);
  expect(await flights.run('k', work)).toBe(3);
});

/** The cache's rules with an object per entry, as it was built before slots: what the slots must agree with. */
class ModelCache {
  readonly entries = new Map<string, { value: number; born: number; expires: number; keep: number; stamp: number; retry?: number }>();
  constructor(
    private max: number,
    private readonly now: () => number,
  ) {}
  set(key: string, value: number, ttl: number, stamp: number, keepMs: number): void {
    const now = this.now();
    this.entries.delete(key);
    this.entries.set(key, { value, born: now, expires: now + ttl, keep: now + ttl + Math.max(0, keepMs), stamp });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }
  get(key: string): number | undefined {
    const e = this.entries.get(key);
    const now = this.now();
    if (!e || e.expires <= now) {
      if (e && e.keep <= now) this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }
  lookup(key: string, stamp: number, keepIf: (value: number) => boolean): object | undefined {
    const e = this.entries.get(key);
    if (!e || e.keep <= this.now()) {
      if (e) this.entries.delete(key);
      return undefined;
    }
    if (e.stamp !== stamp) {
      if (!keepIf(e.value)) {
        this.entries.delete(key);
        return undefined;
      }
      e.stamp = stamp;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return { value: e.value, born: e.born, expires: e.expires, keepUntil: e.keep, retryAt: e.retry };
  }
  resize(max: number): void {
    this.max = max;
    for (const key of this.entries.keys()) {
      if (this.entries.size <= max) break;
      this.entries.delete(key);
    }
  }
}

/**
 * The same lookup on the cache and the model, which must agree on what it finds; a retry given is then set
 * through the cache's copy and on the model's entry alike.
 */
function lookupBoth(cache: TtlCache<string, number>, model: ModelCache, key: string, stamp: number, keepIf: (value: number) => boolean, retry?: number): void {
  const got = cache.lookup(key, stamp, (_k, e) => keepIf(e.value));
  const want = model.lookup(key, stamp, keepIf);
  expect(got && { value: got.value, born: got.born, expires: got.expires, keepUntil: got.keepUntil, retryAt: got.retryAt }).toEqual(want);
  if (got && retry !== undefined) {
    got.retryAt = retry;
    const e = model.entries.get(key);
    if (e) e.retry = retry;
  }
}

/** The cache and the model keep the same entries, with the same times and retries, in the same order. */
function expectSameKept(cache: TtlCache<string, number>, model: ModelCache, now: number): void {
  expect([...cache.kept()].map(([k, e]) => [k, e.value, e.expires, e.keepUntil, e.retryAt])).toEqual(
    [...model.entries].filter(([, e]) => e.keep > now).map(([k, e]) => [k, e.value, e.expires, e.keep, e.retry]),
  );
}

test('any sequence of sets, gets, lookups, retries, deletes, resizes and clock moves: the same answers and order as an object per entry', () => {
  const key = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f');
  const op = fc.oneof(
    fc.record({ op: fc.constant('set' as const), key, value: fc.nat(99), ttl: fc.integer({ min: -5, max: 50 }), stamp: fc.nat(3), keep: fc.nat(40) }),
    fc.record({ op: fc.constant('get' as const), key }),
    fc.record({ op: fc.constant('lookup' as const), key, stamp: fc.nat(3), retry: fc.option(fc.nat(500), { nil: undefined }) }),
    fc.record({ op: fc.constant('delete' as const), key }),
    fc.record({ op: fc.constant('resize' as const), max: fc.integer({ min: 1, max: 6 }) }),
    fc.record({ op: fc.constant('tick' as const), ms: fc.nat(30) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
      let now = 0;
      const clock = () => now;
      const cache = new TtlCache<string, number>(4, clock);
      const model = new ModelCache(4, clock);
      const keepIf = (value: number): boolean => value % 3 !== 0; // revalidation drops values divisible by 3
      for (const o of ops) {
        if (o.op === 'set') {
          cache.set(o.key, o.value, o.ttl, o.stamp, o.keep);
          model.set(o.key, o.value, o.ttl, o.stamp, o.keep);
        } else if (o.op === 'get') expect(cache.get(o.key)).toBe(model.get(o.key));
        else if (o.op === 'lookup') lookupBoth(cache, model, o.key, o.stamp, keepIf, o.retry);
        else if (o.op === 'delete') {
          cache.delete(o.key);
          model.entries.delete(o.key);
        } else if (o.op === 'resize') {
          cache.resize(o.max);
          model.resize(o.max);
        } else now += o.ms;
        expectSameKept(cache, model, now);
      }
    }),
    { numRuns: 2000 },
  );
});

test('thousands of keys, bulk sets, shrinking and growing resizes: the same answers and order as an object per entry, and no more pages than the entries need', () => {
  const PAGE = 2048;
  const op = fc.oneof(
    fc.record({
      op: fc.constant('fill' as const),
      from: fc.nat(8000),
      count: fc.integer({ min: 1, max: 5000 }),
      ttl: fc.integer({ min: -5, max: 50 }),
      keep: fc.nat(40),
    }),
    fc.record({ op: fc.constant('resize' as const), max: fc.integer({ min: 1, max: 6000 }) }),
    fc.record({ op: fc.constant('lookup' as const), key: fc.nat(13_000), retry: fc.nat(500) }),
    fc.record({ op: fc.constant('delete' as const), from: fc.nat(13_000), count: fc.nat(3000) }),
    fc.record({ op: fc.constant('tick' as const), ms: fc.nat(30) }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
      let now = 0;
      const clock = () => now;
      const cache = new TtlCache<string, number>(3000, clock);
      const model = new ModelCache(3000, clock);
      let max = 3000;
      for (const o of ops) {
        if (o.op === 'fill') {
          for (let i = o.from; i < o.from + o.count; i++) {
            cache.set(`k${i}`, i, o.ttl, 0, o.keep);
            model.set(`k${i}`, i, o.ttl, 0, o.keep);
          }
        } else if (o.op === 'resize') {
          cache.resize(o.max);
          model.resize(o.max);
          // Shrunk: no more pages than the entries left need (a page at least).
          if (o.max < max) expect(cache.pages).toBeLessThanOrEqual(Math.max(1, Math.ceil(cache.size / PAGE)));
          expect(cache.pages).toBeGreaterThanOrEqual(Math.ceil(cache.size / PAGE));
          max = o.max;
        } else if (o.op === 'lookup') lookupBoth(cache, model, `k${o.key}`, 0, () => true, o.retry);
        else if (o.op === 'delete') {
          for (let i = o.from; i < o.from + o.count; i++) {
            cache.delete(`k${i}`);
            model.entries.delete(`k${i}`);
          }
        } else now += o.ms;
      }
      expectSameKept(cache, model, now);
    }),
    { numRuns: 150 },
  );
});
