/**
 * Serve-stale (RFC 8767) and refresh-ahead, with an injected clock and in-memory DNS: forced domains stay
 * forced through DNS trouble for stale_ttl, and busy domains are refreshed before they expire.
 */
import { Engine } from '../../src/engine/engine';
import { type EngineSettings, ruleFingerprint } from '../../src/engine/policy';
import { Prober } from '../../src/probe/prober';
import { DomainSet, buildDomainSet } from '../../src/domain/domain-set';
import type { Overrides } from '../../src/engine/overrides';
import type { Decision } from '../../src/engine/decision';
import type { DnsRecord } from '../../src/dns/message';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink, type LogSink } from '../support/log-sink';
import { type StubDns, cnameMxDomain, stubDns } from '../support/stub-dns';

const none = (): Overrides => ({ never: new DomainSet(), force: new DomainSet() });
const FORCED: Decision = { action: 'force-ipv4', triggers: ['cname-mx', 'no-aaaa'], routes: [['192.0.2.1']] };
const MINUTE = 60_000;
const DAY = 86_400_000;

interface Rig {
  engine: Engine;
  dns: StubDns;
  clock: { now: number };
  sink: LogSink;
  /** Fires the answer deadlines set so far (the engine's timer is injected: no real waiting). */
  reachDeadlines(): void;
}

const settings = (over: Partial<EngineSettings> = {}): EngineSettings => ({
  ...TEST_SETTINGS,
  probe: false,
  failureTtlMs: 5000,
  staleTtlMs: DAY,
  refreshAhead: 0.1,
  ...over,
});

function rig(over: Partial<EngineSettings> = {}): Rig {
  const clock = { now: 1_000_000 };
  const dns = stubDns(cnameMxDomain('forced.example', '192.0.2.1', 300));
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: MINUTE, failTtlMs: MINUTE, concurrency: 1, cacheSize: 10 }, () =>
    Promise.reject(new Error('no probe')),
  );
  const sink = logSink();
  const deadlines: { fn: () => void; cancelled: boolean }[] = [];
  const after = (_ms: number, fn: () => void): (() => void) => {
    const timer = { fn, cancelled: false };
    deadlines.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };
  const engine = new Engine(settings(over), none(), dns, prober, sink.log, () => clock.now, after);
  const reachDeadlines = (): void => {
    for (const t of deadlines.splice(0)) if (!t.cancelled) t.fn();
  };
  return { engine, dns, clock, sink, reachDeadlines };
}

const mxQueries = (r: Rig): number => r.dns.asked.filter((q) => q === 'forced.example MX').length;

describe('serve-stale', () => {
  test('a forced domain whose DNS starts failing keeps its answer, counted as stale, and is asked again no sooner than failure_ttl', async () => {
    const r = rig();
    expect(await r.engine.decide('forced.example')).toEqual(FORCED);
    r.clock.now += 61_000; // expired
    r.dns.failing.add('forced.example');
    expect(await r.engine.decide('forced.example')).toEqual(FORCED);
    expect(r.engine.counters.staleAnswers).toEqual({ failed: 1, deadline: 0, held: 0 });
    expect(r.sink.events('serving-stale')).toEqual([expect.objectContaining({ domain: 'forced.example', staleForMs: 1000 })]);
    const asked = mxQueries(r);
    r.clock.now += 4000; // within failure_ttl: answered at once, no query
    expect(r.engine.decide('forced.example')).toEqual(FORCED);
    expect(mxQueries(r)).toBe(asked);
    r.clock.now += 1001; // failure_ttl over: tried again (and still failing: still stale)
    expect(await r.engine.decide('forced.example')).toEqual(FORCED);
    expect(mxQueries(r)).toBe(asked + 1);
    expect(r.engine.counters.staleAnswers).toEqual({ failed: 2, deadline: 0, held: 1 });
  });

  test('a refresh that misses the deadline (DNS black hole) answers the stale decision at the deadline', async () => {
    const r = rig();
    await r.engine.decide('forced.example');
    r.clock.now += 61_000;
    r.dns.hold('forced.example');
    let answer: Decision | undefined;
    const answered = Promise.resolve(r.engine.decide('forced.example')).then((d) => (answer = d));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answer).toBeUndefined(); // waiting for DNS, within the deadline
    r.reachDeadlines();
    await answered;
    expect(answer).toEqual(FORCED);
    expect(r.engine.counters.staleAnswers).toEqual({ failed: 0, deadline: 1, held: 0 });
    r.dns.release('forced.example');
  });

  test('without a stale decision, the deadline answers leave (deadline), and the decision lands when DNS answers', async () => {
    const r = rig();
    r.dns.hold('forced.example');
    const answered = Promise.resolve(r.engine.decide('forced.example'));
    r.reachDeadlines();
    expect(await answered).toEqual({ action: 'leave', reason: 'deadline' });
    expect(r.sink.events('deadline')).toHaveLength(1);
    r.dns.release('forced.example');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await r.engine.decide('forced.example')).toEqual(FORCED);
  });

  test('stale data is answered for stale_ttl only; then the domain fails open', async () => {
    const r = rig({ staleTtlMs: 10 * MINUTE });
    await r.engine.decide('forced.example');
    r.dns.failing.add('forced.example');
    r.clock.now += 60_000 + 10 * MINUTE - 1;
    expect(await r.engine.decide('forced.example')).toEqual(FORCED);
    r.clock.now += 6000;
    expect(await r.engine.decide('forced.example')).toMatchObject({ action: 'dns-failure' });
  });

  test('NXDOMAIN replaces stale data at once, and so does a new decision', async () => {
    const r = rig();
    await r.engine.decide('forced.example');
    r.clock.now += 61_000;
    r.dns.records.delete('forced.example');
    expect(await r.engine.decide('forced.example')).toEqual({ action: 'leave', reason: 'nxdomain' });
    r.dns.records.set('forced.example', [{ name: 'forced.example', type: 'MX', ttl: 300, exchange: 'mail.forced.example', priority: 10 }]);
    r.clock.now += 61_000;
    expect(await r.engine.decide('forced.example')).toEqual(FORCED);
    expect(r.engine.counters.staleAnswers).toEqual({ failed: 0, deadline: 0, held: 0 });
  });

  test('never across a configuration change the decision depends on: a domain put under force_ipv4/never or a rule change', async () => {
    const r = rig();
    await r.engine.decide('forced.example');
    r.clock.now += 61_000;
    r.dns.failing.add('forced.example');
    r.engine.reconfigure(settings({ triggers: new Set(['no-aaaa']) }), none());
    expect(await r.engine.decide('forced.example')).toMatchObject({ action: 'dns-failure' }); // the stale decision was made under cname-mx
    r.dns.failing.delete('forced.example');
    r.engine.reconfigure(settings(), none());
    await r.engine.decide('forced.example');
    r.clock.now += 61_000;
    r.dns.failing.add('forced.example');
    r.engine.reconfigure(settings(), { never: buildDomainSet(['forced.example'], 'never'), force: new DomainSet() });
    expect(await r.engine.decide('forced.example')).toEqual({ action: 'leave', reason: 'never' });
  });

  test('stale entries go into the snapshot with the time they are kept until, and come back stale', async () => {
    const r = rig();
    await r.engine.decide('forced.example');
    r.clock.now += 61_000;
    const saved = [...r.engine.snapshotEntries()];
    expect(saved).toEqual([{ domain: 'forced.example', decision: FORCED, expiresAt: 1_060_000, staleUntil: 1_060_000 + DAY }]);
    const next = rig();
    next.clock.now = r.clock.now;
    expect(next.engine.restore(saved, ruleFingerprint(settings()))).toEqual({ restored: 1, dropped: 0 });
    next.dns.failing.add('forced.example');
    expect(await next.engine.decide('forced.example')).toEqual(FORCED);
    expect(next.engine.counters.staleAnswers).toEqual({ failed: 1, deadline: 0, held: 0 });
  });
});

describe('refresh-ahead', () => {
  test('a hit in the last 10% of the lifetime is answered from the cache and refreshes once in the background; DNS changes are then picked up', async () => {
    const r = rig();
    await r.engine.decide('forced.example'); // TTL 60 s (the SOA minimum of the NODATA AAAA)
    r.clock.now += 52_000; // 87%: a plain hit
    expect(r.engine.decide('forced.example')).toEqual(FORCED);
    expect(mxQueries(r)).toBe(1);
    // The provider moves: the new address is learnt by the refresh, not by a waiting lookup.
    const moved: DnsRecord = { name: 'real.forced.example', type: 'A', ttl: 300, address: '192.0.2.2' };
    r.dns.records.set('real.forced.example', [moved]);
    r.dns.hold('forced.example');
    r.clock.now += 2_200; // 90.3%
    expect(r.engine.decide('forced.example')).toEqual(FORCED); // answered at once, synchronously
    expect(r.engine.decide('forced.example')).toEqual(FORCED); // a second hit starts no second refresh
    expect(mxQueries(r)).toBe(2);
    expect(r.engine.counters.refreshesAhead).toBe(1);
    r.dns.release('forced.example');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.engine.decide('forced.example')).toEqual({ ...FORCED, routes: [['192.0.2.2']] });
  });

  test('a failed refresh ahead keeps the fresh decision, and waits failure_ttl before trying again', async () => {
    const r = rig();
    await r.engine.decide('forced.example');
    r.dns.failing.add('forced.example');
    r.clock.now += 56_000;
    r.engine.decide('forced.example');
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(r.engine.decide('forced.example')).toEqual(FORCED);
    expect(mxQueries(r)).toBe(2); // no new try within failure_ttl
    r.clock.now += 5001;
    r.engine.decide('forced.example');
    expect(mxQueries(r)).toBe(3);
  });

  test('off with refresh_ahead 0; skipped while the DNS budget is tight', async () => {
    const off = rig({ refreshAhead: 0 });
    await off.engine.decide('forced.example');
    off.clock.now += 59_000;
    off.engine.decide('forced.example');
    expect(mxQueries(off)).toBe(1);
    const busy = rig();
    (busy.dns as StubDns & { busy: () => boolean }).busy = () => true;
    await busy.engine.decide('forced.example');
    busy.clock.now += 59_000;
    busy.engine.decide('forced.example');
    expect(mxQueries(busy)).toBe(1);
    expect(busy.engine.counters.refreshesSkipped).toBe(1);
  });
});
