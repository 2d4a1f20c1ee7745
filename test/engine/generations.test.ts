/**
 * Configuration generations in the engine: a reload keeps the cache, and each cached decision is checked
 * against what changed on its next hit; a lookup in flight across a reload is done again under the new
 * configuration; a snapshot's decisions are checked the same way at restore. Unit level: in-memory DNS
 * and an injected clock.
 */
import { Engine } from '../../src/engine/engine';
import { type EngineSettings, ruleFingerprint } from '../../src/engine/policy';
import { Prober } from '../../src/probe/prober';
import { DomainSet, buildDomainSet } from '../../src/domain/domain-set';
import type { Overrides } from '../../src/engine/overrides';
import type { Decision } from '../../src/engine/decision';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink } from '../support/log-sink';
import { type StubDns, cnameMxDomain, dualStackDomain, stubDns } from '../support/stub-dns';

const none = (): Overrides => ({ never: new DomainSet(), force: new DomainSet() });
const forcedBy = (trigger: string, address: string): Decision => ({ action: 'force-ipv4', triggers: [trigger as never], routes: [[address]] });
/** alias.example: its MX host is an alias, and has no AAAA. */
const ALIAS: Decision = { action: 'force-ipv4', triggers: ['cname-mx', 'no-aaaa'], routes: [['192.0.2.1']] };

interface Rig {
  engine: Engine;
  dns: StubDns;
  clock: { now: number };
}

function rig(settings: Partial<EngineSettings> = {}, overrides = none()): Rig {
  const clock = { now: 1_000_000 };
  const dns = stubDns({ ...cnameMxDomain('alias.example', '192.0.2.1'), ...dualStackDomain('dual.example', '192.0.2.2') });
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 60_000, failTtlMs: 60_000, concurrency: 1, cacheSize: 10 }, () =>
    Promise.reject(new Error('no probe expected')),
  );
  const engine = new Engine({ ...TEST_SETTINGS, probe: false, ...settings }, overrides, dns, prober, logSink().log, () => clock.now);
  return { engine, dns, clock };
}

const settings = (over: Partial<EngineSettings> = {}): EngineSettings => ({ ...TEST_SETTINGS, probe: false, ...over });

describe('a reload keeps the cache; each entry is checked against what changed', () => {
  test('nothing that decisions depend on changed: the cached decision is served with no DNS', async () => {
    const r = rig();
    expect(await r.engine.decide('alias.example')).toEqual(ALIAS);
    const asked = r.dns.asked.length;
    expect(r.engine.reconfigure(settings({ deadlineMs: 1000 }), none())).toEqual({ rule: false, overrides: false, lifetimes: false });
    expect(r.engine.decide('alias.example')).toEqual(ALIAS);
    expect(r.dns.asked.length).toBe(asked);
  });

  test('the rule changed (triggers): decisions that depend on it are made afresh; an NXDOMAIN is kept', async () => {
    const r = rig();
    await r.engine.decide('alias.example');
    await r.engine.decide('gone.example');
    expect(r.engine.reconfigure(settings({ triggers: new Set(['no-aaaa']) }), none()).rule).toBe(true);
    const asked = r.dns.asked.length;
    expect(r.engine.decide('gone.example')).toEqual({ action: 'leave', reason: 'nxdomain' });
    expect(r.dns.asked.length).toBe(asked);
    // cname-mx is off now: only no-aaaa forces the alias domain.
    expect(await r.engine.decide('alias.example')).toEqual(forcedBy('no-aaaa', '192.0.2.1'));
    expect(r.dns.asked.length).toBeGreaterThan(asked);
  });

  test('a domain newly under never is not served from the cache', async () => {
    const r = rig();
    await r.engine.decide('alias.example');
    expect(r.engine.reconfigure(settings(), { never: buildDomainSet(['.example'], 'never'), force: new DomainSet() }).overrides).toBe(true);
    expect(r.engine.decide('alias.example')).toEqual({ action: 'leave', reason: 'never' });
  });

  test('a domain newly forced is decided again (its cached "leave" does not fit); one whose force is gone likewise', async () => {
    const r = rig();
    expect(await r.engine.decide('dual.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
    r.engine.reconfigure(settings(), { never: new DomainSet(), force: buildDomainSet(['dual.example'], 'force_ipv4') });
    expect(await r.engine.decide('dual.example')).toEqual(forcedBy('override', '192.0.2.2'));
    r.engine.reconfigure(settings(), none());
    expect(await r.engine.decide('dual.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
  });

  test('a lower max_ttl cuts the lifetime of cached decisions on their next hit', async () => {
    const r = rig({ maxTtlMs: 3_600_000 });
    await r.engine.decide('alias.example'); // TTL 300 s
    r.engine.reconfigure(settings({ maxTtlMs: 60_000 }), none());
    expect(r.engine.decide('alias.example')).toEqual(ALIAS);
    r.clock.now += 60_001;
    expect(r.engine.decide('alias.example')).toBeInstanceOf(Promise);
  });
});

describe('a lookup in flight across a reload', () => {
  test('finishes under the new configuration, and what it found under the old one is not cached', async () => {
    const r = rig();
    r.dns.hold('alias.example');
    const answer = r.engine.decide('alias.example');
    r.engine.reconfigure(settings(), { never: buildDomainSet(['alias.example'], 'never'), force: new DomainSet() });
    r.dns.release('alias.example');
    expect(await answer).toEqual({ action: 'leave', reason: 'never' });
    expect([...r.engine.forcedDecisions()]).toEqual([]);
  });

  test('a reload that changes only lifetimes does not redo it', async () => {
    const r = rig();
    r.dns.hold('alias.example');
    const answer = r.engine.decide('alias.example');
    r.engine.reconfigure(settings({ minTtlMs: 2000 }), none());
    r.dns.release('alias.example');
    expect(await answer).toEqual(ALIAS);
    expect(r.dns.asked.filter((q) => q === 'alias.example MX')).toHaveLength(1);
  });
});

describe('restoring a snapshot', () => {
  const expiresAt = 1_000_000 + 600_000;

  test('decisions made under the same rule come back; under another rule, only those that do not depend on it', () => {
    const r = rig();
    const entries = [
      { domain: 'alias.example', decision: ALIAS, expiresAt },
      { domain: 'gone.example', decision: { action: 'leave', reason: 'nxdomain' } as Decision, expiresAt },
    ];
    expect(r.engine.restore(entries, ruleFingerprint(settings()))).toEqual({ restored: 2, dropped: 0 });
    expect(rig().engine.restore(entries, 'triggers=no-aaaa;probe=false')).toEqual({ restored: 1, dropped: 1 });
    expect(rig().engine.restore(entries, undefined)).toEqual({ restored: 1, dropped: 1 });
  });

  test('a decision that no longer fits the overrides is dropped', () => {
    const r = rig({}, { never: buildDomainSet(['alias.example'], 'never'), force: new DomainSet() });
    expect(r.engine.restore([{ domain: 'alias.example', decision: ALIAS, expiresAt }], ruleFingerprint(settings()))).toEqual({ restored: 0, dropped: 1 });
  });
});
