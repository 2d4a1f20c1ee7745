import { LogBudget } from '../../src/limits/log-budget';
import { MapRegistry } from '../../src/maps/registry';
import { defaults } from '../../src/config/options';
import { DEFAULT_POLICY } from '../../src/maps/format';
import { logSink } from '../support/log-sink';

describe('LogBudget', () => {
  test('at most N lines per window per event; the first line of the next window counts what was left out', () => {
    let now = 0;
    const budget = new LogBudget(3, 60_000, () => now);
    const taken = Array.from({ length: 10 }, () => budget.take('unknown-map'));
    expect(taken.filter(Boolean)).toHaveLength(3);
    expect(budget.take('malformed-request')).toEqual({ suppressed: 0 }); // events apart
    now = 59_999;
    expect(budget.take('unknown-map')).toBeUndefined();
    now = 60_000;
    expect(budget.take('unknown-map')).toEqual({ suppressed: 8 });
    expect(budget.take('unknown-map')).toEqual({ suppressed: 0 });
  });
});

test('10,000 requests for an unknown map: every one answered PERM, ten warnings logged', () => {
  const sink = logSink('info');
  const registry = new MapRegistry(
    defaults().maps,
    { decide: () => ({ action: 'leave', reason: 'ipv6-ok' }) },
    DEFAULT_POLICY,
    sink.log,
    undefined,
    new LogBudget(10, 60_000, () => 0),
  );
  for (let i = 0; i < 10_000; i++) expect(String(registry.answer(Buffer.from(`nomap${i} example.com`)))).toMatch(/^\d+:PERM unknown map nomap\d+,$/);
  expect(sink.events('unknown-map')).toHaveLength(10);
});
