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
