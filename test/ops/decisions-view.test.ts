import { DecisionsView, parsePage } from '../../src/ops/decisions-view';
import type { ExportedDecision } from '../../src/engine/decision';

const decision = (domain: string): ExportedDecision => ({ domain, triggers: ['cname-mx'], routes: [['192.0.2.10']], ttlMs: 1000 });

describe('DecisionsView', () => {
  test('a domain the walk meets twice (an LRU hit moved it to the end meanwhile) is listed once', async () => {
    const cache = new Map(Array.from({ length: 5000 }, (_, i) => [`d${i}.example`, decision(`d${i}.example`)]));
    let touched = false;
    const view = new DecisionsView(function* () {
      for (const [domain, d] of cache) {
        yield d;
        if (!touched && domain === 'd2500.example') {
          // A hit on d1 while the walk is past it: delete and re-insert, as the LRU does.
          touched = true;
          cache.delete('d1.example');
          cache.set('d1.example', decision('d1.example'));
        }
      }
    });
    const parts = await view.parts();
    expect(parts).toHaveLength(5000);
    expect(new Set(parts).size).toBe(5000);
  });

  test('one rendering answers GETs for a second; then a new one is made', async () => {
    let now = 0;
    let renders = 0;
    const view = new DecisionsView(
      function* () {
        renders++;
        yield decision('a.example');
      },
      () => now,
    );
    await Promise.all([view.parts(), view.parts(), view.parts()]);
    expect(renders).toBe(1);
    now = 999;
    await view.parts();
    expect(renders).toBe(1);
    now = 1000;
    await view.parts();
    expect(renders).toBe(2);
  });

  test('pages: whole numbers only', () => {
    expect(parsePage('offset=2&limit=5')).toEqual({ offset: 2, limit: 5 });
    expect(parsePage('')).toEqual({ offset: 0, limit: Number.MAX_SAFE_INTEGER });
    expect(parsePage('limit=x')).toEqual({ problem: 'offset and limit must be whole numbers' });
  });
});
