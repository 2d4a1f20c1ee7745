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
        else if (o.op === 'lookup') {
          const got = cache.lookup(o.key, o.stamp, (_k, e) => keepIf(e.value));
          const want = model.lookup(o.key, o.stamp, keepIf);
          expect(got && { value: got.value, born: got.born, expires: got.expires, keepUntil: got.keepUntil, retryAt: got.retryAt }).toEqual(want);
          if (got && o.retry !== undefined) {
            got.retryAt = o.retry;
            const e = model.entries.get(o.key);
            if (e) e.retry = o.retry;
          }
        } else if (o.op === 'delete') {
          cache.delete(o.key);
          model.entries.delete(o.key);
        } else if (o.op === 'resize') {
          cache.resize(o.max);
          model.resize(o.max);
        } else now += o.ms;
        expect([...cache.kept()].map(([k, e]) => [k, e.value, e.expires, e.keepUntil, e.retryAt])).toEqual(
          [...model.entries].filter(([, e]) => e.keep > now).map(([k, e]) => [k, e.value, e.expires, e.keep, e.retry]),
        );
      }
    }),
    { numRuns: 2000 },
  );
});
