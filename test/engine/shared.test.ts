/**
 * The engine with a fleet's shared cache behind its own: decisions and MX host facts one instance learned
 * are used by another, and a decision another instance holds stale is answered stale here when DNS fails.
 * Unit level: two engines over one in-memory tier, in-memory DNS, one injected clock.
 */
import type { Evidence } from '../../src/engine/evidence';
import { fleetOf } from '../../src/shared/fleet-shelves';
import { Engine } from '../../src/engine/engine';
import type { EngineSettings } from '../../src/engine/policy';
import { Prober } from '../../src/probe/prober';
import { DomainSet } from '../../src/domain/domain-set';
import type { Decision } from '../../src/engine/decision';
import type { HostFacts } from '../../src/engine/facts';
import type { ProbeResult } from '../../src/probe/smtp-probe';
import type { SharedDecision } from '../../src/shared/shared-entries';
import { type SharedProbe, type SharedTier, emptyCounters } from '../../src/shared/shared-tier';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink } from '../support/log-sink';
import { type StubDns, cnameMxDomain, dualStackDomain, stubDns } from '../support/stub-dns';

const MINUTE = 60_000;
const FORCED: Decision = { action: 'force-ipv4', triggers: ['cname-mx', 'no-aaaa'], routes: [['192.0.2.1']] };

/** The shared tier as a map with expiry on the test's clock. */
class MemoryTier implements SharedTier {
  readonly counters = emptyCounters();
  readonly up = true;
  readonly decisions = new Map<string, { decision: Decision; freshUntil: number; keptUntil: number }>();
  readonly hosts = new Map<string, { facts: HostFacts; until: number }>();
  constructor(private readonly clock: { now: number }) {}
  async readDecision(rule: string, domain: string): Promise<SharedDecision | undefined> {
    const e = this.decisions.get(`${rule} ${domain}`);
    if (!e || e.keptUntil <= this.clock.now) return undefined;
    return { decision: e.decision, freshMs: e.freshUntil - this.clock.now, keptMs: e.keptUntil - this.clock.now };
  }
  writeDecision(rule: string, domain: string, decision: Decision, freshMs: number, staleMs: number): void {
    this.decisions.set(`${rule} ${domain}`, { decision, freshUntil: this.clock.now + freshMs, keptUntil: this.clock.now + freshMs + staleMs });
  }
  async readHost(name: string): Promise<HostFacts | undefined> {
    const e = this.hosts.get(name);
    return e && e.until > this.clock.now ? { ...e.facts, ttl: (e.until - this.clock.now) / 1000 } : undefined;
  }
  writeHost(facts: HostFacts, ttlMs: number): void {
    this.hosts.set(facts.name, { facts, until: this.clock.now + ttlMs });
  }
  readonly evidence = new Map<string, { evidence: Evidence; until: number }>();
  async readEvidence(key: string): Promise<{ evidence: Evidence; ttlMs: number } | undefined> {
    const e = this.evidence.get(key);
    return e && e.until > this.clock.now ? { evidence: e.evidence, ttlMs: e.until - this.clock.now } : undefined;
  }
  writeEvidence(key: string, evidence: Evidence, ttlMs: number): void {
    this.evidence.set(key, { evidence, until: this.clock.now + ttlMs });
  }
  async readProbe(): Promise<SharedProbe | undefined> {
    return undefined;
  }
  writeProbe(_port: number, _address: string, _result: ProbeResult): void {}
  async takeProbeLease(): Promise<boolean | undefined> {
    return true;
  }
  async close(): Promise<void> {}
}

const settings = (over: Partial<EngineSettings> = {}): EngineSettings => ({ ...TEST_SETTINGS, probe: false, staleTtlMs: 86_400_000, ...over });

function instance(tier: SharedTier | undefined, clock: { now: number }, dns: StubDns = fleetDns()): { engine: Engine; dns: StubDns } {
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: MINUTE, failTtlMs: MINUTE, concurrency: 1, cacheSize: 10 }, () =>
    Promise.reject(new Error('no probe')),
  );
  const engine = new Engine(settings(), { never: new DomainSet(), force: new DomainSet() }, dns, prober, logSink().log, () => clock.now);
  engine.useShared(tier && fleetOf(tier));
  return { engine, dns };
}

/** forced.example (MX host an alias, TTL 300 s), and second.example whose MX is the same host. */
function fleetDns(): StubDns {
  return stubDns({
    ...cnameMxDomain('forced.example', '192.0.2.1', 300),
    'second.example': [{ name: 'second.example', type: 'MX', ttl: 300, exchange: 'mail.forced.example', priority: 10 }],
  });
}

describe('two instances sharing one tier', () => {
  test('a decision made by one is answered by the other with no DNS query', async () => {
    const clock = { now: 1_000_000 };
    const tier = new MemoryTier(clock);
    const a = instance(tier, clock);
    const b = instance(tier, clock);
    expect(await a.engine.decide('forced.example')).toEqual(FORCED);
    expect(await b.engine.decide('forced.example')).toEqual(FORCED);
    expect(b.dns.asked).toEqual([]);
  });

  test('MX host facts one instance resolved serve another domain on the other: only its MX is asked', async () => {
    const clock = { now: 1_000_000 };
    const tier = new MemoryTier(clock);
    const a = instance(tier, clock);
    const b = instance(tier, clock);
    await a.engine.decide('forced.example');
    expect([...tier.hosts.keys()]).toEqual(['mail.forced.example']);
    expect(await b.engine.decide('second.example')).toEqual(FORCED);
    expect(b.dns.asked.filter((q) => !q.startsWith('_mta-sts.'))).toEqual(['second.example MX']);
  });

  test('host facts past their lifetime in the tier are resolved again', async () => {
    const clock = { now: 1_000_000 };
    const tier = new MemoryTier(clock);
    await instance(tier, clock).engine.decide('forced.example');
    clock.now += 301_000;
    const b = instance(tier, clock);
    await b.engine.decide('second.example');
    expect(b.dns.asked).toContain('mail.forced.example A');
  });

  test("DNS failing for a domain this instance never saw: the fleet's stale decision is answered, counted stale", async () => {
    const clock = { now: 1_000_000 };
    const tier = new MemoryTier(clock);
    await instance(tier, clock).engine.decide('forced.example');
    clock.now += 400_000; // expired everywhere, still kept for stale answers
    const b = instance(tier, clock);
    b.dns.failing.add('forced.example');
    expect(await b.engine.decide('forced.example')).toEqual(FORCED);
    expect(b.engine.counters.staleAnswers.failed).toBe(1);
    // Held for failure_ttl like a stale decision of its own: answered with no new attempt.
    const asked = b.dns.asked.length;
    expect(b.engine.decide('forced.example')).toEqual(FORCED);
    expect(b.dns.asked.length).toBe(asked);
  });

  test('the same failure without the tier is a DNS failure (NOTFOUND), as on a single host', async () => {
    const clock = { now: 1_000_000 };
    const b = instance(undefined, clock);
    b.dns.failing.add('forced.example');
    expect(await b.engine.decide('forced.example')).toMatchObject({ action: 'dns-failure' });
  });

  test('a stale decision in the tier never replaces a new one: DNS answering, the decision is made afresh', async () => {
    const clock = { now: 1_000_000 };
    const tier = new MemoryTier(clock);
    await instance(tier, clock).engine.decide('forced.example');
    clock.now += 400_000;
    const dns = fleetDns();
    dns.records.set('mail.forced.example', [{ name: 'mail.forced.example', type: 'A', ttl: 300, address: '192.0.2.9' }]);
    const b = instance(tier, clock, dns);
    expect(await b.engine.decide('forced.example')).toEqual({ action: 'force-ipv4', triggers: ['no-aaaa'], routes: [['192.0.2.9']] });
    expect(b.engine.counters.staleAnswers.failed).toBe(0);
  });
});

describe('delivery-log evidence through the shared tier', () => {
  test("a deferral in one instance's log forces the domain on the other, which never read that log", async () => {
    const clock = { now: 1_000_000 };
    const tier = new MemoryTier(clock);
    const dns = (): StubDns => stubDns(dualStackDomain('dual.example', '192.0.2.7', 300));
    const a = instance(tier, clock, dns());
    const b = instance(tier, clock, dns());
    const report = {
      domain: 'dual.example',
      host: 'mx.dual.example',
      address: '2001:db8::1',
      class: 'ptr' as const,
      signal: 'microsoft-reverse-dns',
      excerpt: '450 4.7.25',
    };
    expect(await a.engine.acceptFailure(report)).toBe('new');
    expect([...tier.evidence.keys()].sort()).toEqual(['domain:dual.example', 'host:mx.dual.example']);
    expect(await b.engine.decide('dual.example')).toEqual({ action: 'force-ipv4', triggers: ['ipv6-delivery-failed'], routes: [['192.0.2.7']] });
  });

  test('evidence from the tier is believed for evidence_ttl at most, whatever life it claims', async () => {
    const clock = { now: 1_000_000 };
    const tier = new MemoryTier(clock);
    const b = instance(tier, clock, stubDns(dualStackDomain('dual.example', '192.0.2.7', 300)));
    // (What Redis holds is also unsealed and checked field by field before this: shared-entries.ts.)
    tier.writeEvidence(
      'domain:dual.example',
      { class: 'ptr', scope: 'domain', signal: 'x', seenAt: 0, relay: 'mx.dual.example', excerpt: '' },
      365 * 86_400_000,
    );
    await b.engine.decide('dual.example');
    const held = [...b.engine.evidence.entries()];
    expect(held.map(([key, , ms]) => [key, ms <= 7 * 86_400_000])).toEqual([['domain:dual.example', true]]);
  });
});
