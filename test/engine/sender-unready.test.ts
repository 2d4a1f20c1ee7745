/**
 * sender-ipv6-unready in the engine: the identity verdict is part of the rule, so a change decides cached
 * decisions again on their next hit, a reload keeps it, and only strict receivers' domains are forced.
 * In-memory DNS, probing off.
 */
import { Engine } from '../../src/engine/engine';
import type { EngineSettings } from '../../src/engine/policy';
import { Prober } from '../../src/probe/prober';
import { DomainSet, buildDomainSet } from '../../src/domain/domain-set';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink } from '../support/log-sink';
import { stubDns } from '../support/stub-dns';
import type { DnsRecord } from '../../src/dns/message';

const host = (name: string, a: string, aaaa: string): DnsRecord[] => [
  { name, type: 'A', ttl: 300, address: a },
  { name, type: 'AAAA', ttl: 300, address: aaaa },
];
const mxTo = (domain: string, exchange: string): DnsRecord[] => [{ name: domain, type: 'MX', ttl: 300, exchange, priority: 5 }];

function rig(): Engine {
  const dns = stubDns({
    'gmail.example': mxTo('gmail.example', 'gmail-smtp-in.l.google.com'),
    'workspace.example': mxTo('workspace.example', 'aspmx.l.google.com'),
    'other.example': mxTo('other.example', 'mx.other.example'),
    'gmail-smtp-in.l.google.com': host('gmail-smtp-in.l.google.com', '192.0.2.60', '2001:db8::60'),
    'aspmx.l.google.com': host('aspmx.l.google.com', '192.0.2.61', '2001:db8::61'),
    'mx.other.example': host('mx.other.example', '192.0.2.62', '2001:db8::62'),
  });
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 60_000, failTtlMs: 60_000, concurrency: 1, cacheSize: 10 }, () =>
    Promise.reject(new Error('no probe expected')),
  );
  return new Engine(settings(), { never: new DomainSet(), force: new DomainSet() }, dns, prober, logSink().log, () => 1_000_000);
}
const settings = (over: Partial<EngineSettings> = {}): EngineSettings => ({
  ...TEST_SETTINGS,
  probe: false,
  strictReceivers: buildDomainSet(['.google.com'], 'strict_receivers'),
  ...over,
});
const forced = (address: string) => ({ action: 'force-ipv4', triggers: ['sender-ipv6-unready'], routes: [[address]] });

test("identity passing: a strict receiver's domain is left alone", async () => {
  expect(await rig().decide('gmail.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
});

test('identity failing: Gmail-like and Workspace-like domains (own name, Google MX hosts) forced; another domain not', async () => {
  const engine = rig();
  engine.setSenderUnready(true);
  expect(await engine.decide('gmail.example')).toEqual(forced('192.0.2.60'));
  expect(await engine.decide('workspace.example')).toEqual(forced('192.0.2.61'));
  expect(await engine.decide('other.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
});

test('a change of verdict decides cached decisions again on their next hit, both ways', async () => {
  const engine = rig();
  expect(await engine.decide('gmail.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
  expect(engine.setSenderUnready(true)).toBe(true);
  expect(await engine.decide('gmail.example')).toEqual(forced('192.0.2.60'));
  expect(engine.setSenderUnready(true)).toBe(false);
  engine.setSenderUnready(false);
  expect(await engine.decide('gmail.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
});

test('a reload keeps the verdict; the verdict is part of the rule (shared decisions are keyed apart)', async () => {
  const engine = rig();
  const ready = engine.rule;
  engine.setSenderUnready(true);
  expect(engine.rule).not.toBe(ready);
  engine.reconfigure(settings({ deadlineMs: 1500 }), { never: new DomainSet(), force: new DomainSet() });
  expect(await engine.decide('gmail.example')).toEqual(forced('192.0.2.60'));
});

test('with the trigger switched off the verdict changes nothing, not even the rule', async () => {
  const engine = rig();
  engine.reconfigure(settings({ triggers: new Set(['cname-mx', 'no-aaaa']) }), { never: new DomainSet(), force: new DomainSet() });
  const rule = engine.rule;
  engine.setSenderUnready(true);
  expect(engine.rule).toBe(rule);
  expect(await engine.decide('gmail.example')).toEqual({ action: 'leave', reason: 'ipv6-ok' });
});
