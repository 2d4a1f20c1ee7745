/**
 * DANE- and MTA-STS-aware forcing, against a real DNS server on loopback that plays a validating resolver
 * (AD on signed names), through the real DNS client, engine and map registry.
 */
import { Engine } from '../../src/engine/engine';
import type { EngineSettings } from '../../src/engine/policy';
import { WireDnsClient } from '../../src/dns/client';
import { Prober } from '../../src/probe/prober';
import { MapRegistry } from '../../src/maps/registry';
import { DEFAULT_POLICY } from '../../src/maps/format';
import type { MapDefinition } from '../../src/maps/definitions';
import type { SecureDomains } from '../../src/engine/decision';
import { buildDomainSet, DomainSet } from '../../src/domain/domain-set';
import { TEST_SETTINGS } from '../support/engine-rig';
import { logSink, type LogSink } from '../support/log-sink';
import { type SignedDns, type SignedRecord, startSignedDns } from '../support/signed-dns';
import { renderExport } from '../../src/cli/export';
import { recordingTally } from '../support/tally';

const MAPS: MapDefinition[] = [
  { name: 'mailertable', format: 'sendmail', mailer: 'esmtp', nexthop: 'literal' },
  { name: 'transport', format: 'postfix', mailer: 'smtp', nexthop: 'literal' },
  { name: 'transport4', format: 'postfix', mailer: 'smtp4', nexthop: 'domain' },
];

/**
 * dane.test: its MX host is an alias (cname-mx: forced today) in a signed zone, with TLSA at the chain's end.
 * own-tlsa.test: the same, TLSA only at the MX host's own name. sts.test: an MTA-STS record, unsigned.
 * plain.test: unsigned, no policy. half.test: signed MX, unsigned addresses. bogus.test: TLSA SERVFAILs.
 * sts-down.test: its _mta-sts lookup SERVFAILs.
 */
function zone(): Record<string, SignedRecord[]> {
  const cnameMx = (domain: string, address: string): Record<string, SignedRecord[]> => ({
    [domain]: [{ type: 'MX', exchange: `mail.${domain}` }],
    [`mail.${domain}`]: [{ type: 'CNAME', target: `real.${domain}` }],
    [`real.${domain}`]: [{ type: 'A', address }],
  });
  return {
    ...cnameMx('dane.test', '192.0.2.10'),
    '_25._tcp.real.dane.test': [{ type: 'TLSA', usage: 3 }],
    ...cnameMx('own-tlsa.test', '192.0.2.11'),
    '_25._tcp.mail.own-tlsa.test': [{ type: 'TLSA', usage: 2 }],
    ...cnameMx('sts.test', '192.0.2.12'),
    '_mta-sts.sts.test': [{ type: 'TXT', text: 'v=STSv1; id=20261125T000000' }],
    ...cnameMx('plain.test', '192.0.2.13'),
    '_mta-sts.plain.test': [{ type: 'TXT', text: 'v=spf1 -all' }],
    ...cnameMx('half.test', '192.0.2.14'),
    '_25._tcp.real.half.test': [{ type: 'TLSA', usage: 3 }],
    ...cnameMx('bogus.test', '192.0.2.15'),
    ...cnameMx('sts-down.test', '192.0.2.16'),
    // 300 TXT records, the policy record last: past the 256 a response is read for.
    ...cnameMx('many-txt.test', '192.0.2.17'),
    '_mta-sts.many-txt.test': [
      ...Array.from({ length: 299 }, (_, i) => ({ type: 'TXT' as const, text: `filler ${i}` })),
      { type: 'TXT', text: 'v=STSv1; id=1' },
    ],
    ...cnameMx('few-txt.test', '192.0.2.18'),
    '_mta-sts.few-txt.test': Array.from({ length: 200 }, (_, i) => ({ type: 'TXT' as const, text: `filler ${i}` })),
  };
}

const SIGNED = ['dane.test', 'mail.dane.test', 'real.dane.test', '_25._tcp.real.dane.test', '_mta-sts.dane.test'];
const SIGNED_OWN = [
  'own-tlsa.test',
  'mail.own-tlsa.test',
  'real.own-tlsa.test',
  '_25._tcp.real.own-tlsa.test',
  '_25._tcp.mail.own-tlsa.test',
  '_mta-sts.own-tlsa.test',
];
const SIGNED_OTHERS = ['half.test', 'bogus.test', 'mail.bogus.test', 'real.bogus.test'];

interface Rig {
  readonly dns: SignedDns;
  readonly engine: Engine;
  readonly sink: LogSink;
  readonly observed: string[];
  ask(map: string, domain: string): Promise<string>;
  close(): Promise<void>;
}

async function rig(options: { dnssec?: boolean; validating?: boolean; secureDomains?: SecureDomains; force?: string[] } = {}): Promise<Rig> {
  const validating = options.validating ?? true;
  const dns = await startSignedDns({
    records: zone(),
    signed: new Set(validating ? [...SIGNED, ...SIGNED_OWN, ...SIGNED_OTHERS] : []),
    faults: { '_25._tcp.real.bogus.test TLSA': 'servfail', '_mta-sts.sts-down.test TXT': 'servfail' },
  });
  const dnssec = options.dnssec ?? true;
  const client = new WireDnsClient({ servers: [dns.server], timeoutMs: 500, attempts: 1, dnssec });
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 60_000, failTtlMs: 60_000, concurrency: 4, cacheSize: 10 }, () =>
    Promise.reject(new Error('no probes here')),
  );
  const sink = logSink();
  const secureDomains = options.secureDomains ?? 'skip';
  const settings: EngineSettings = { ...TEST_SETTINGS, probe: false, dnssec, secureDomains };
  const force = options.force ? buildDomainSet(options.force, 'force_ipv4') : new DomainSet();
  const engine = new Engine(settings, { never: new DomainSet(), force }, client, prober, sink.log);
  const observed: string[] = [];
  const registry = new MapRegistry(
    MAPS,
    engine,
    { ...DEFAULT_POLICY, secureDomains },
    sink.log,
    recordingTally((map, answer, reason) => observed.push(`${map} ${answer} ${reason}`)),
  );
  return {
    dns,
    engine,
    sink,
    observed,
    async ask(map, domain) {
      const reply = (await registry.answer(Buffer.from(`${map} ${domain}`))).toString('latin1');
      return reply.slice(reply.indexOf(':') + 1, -1); // the netstring's payload
    },
    close: () => dns.close(),
  };
}

let current: Rig | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('DANE (dnssec: trust-ad, a validating resolver)', () => {
  test("a signed domain whose CNAMEd MX host has TLSA records at the chain's end is not routed to a literal: NOTFOUND, reason dane", async () => {
    current = await rig();
    expect(await current.ask('mailertable', 'dane.test')).toBe('NOTFOUND ');
    expect(await current.ask('transport', 'u@dane.test')).toBe('NOTFOUND ');
    expect(current.observed).toEqual(['mailertable NOTFOUND dane', 'transport NOTFOUND dane']);
    expect(current.dns.askedSigned).toContain('_25._tcp.real.dane.test TLSA');
    expect(current.sink.events('decision')).toEqual([expect.objectContaining({ domain: 'dane.test', action: 'force-ipv4', protection: ['dane'], level: 30 })]);
  });

  test('the next-hop-keeping Postfix map is forced all the same: smtp4:, the recipient domain as next hop', async () => {
    current = await rig();
    expect(await current.ask('transport4', 'u@dane.test')).toBe('OK smtp4:');
    expect(current.observed).toEqual(['transport4 OK cname-mx+no-aaaa']);
  });

  test("TLSA only at the MX host's own name (not at its chain's end) is found too (RFC 7672 §2.2.2)", async () => {
    current = await rig();
    expect(await current.ask('mailertable', 'own-tlsa.test')).toBe('NOTFOUND ');
    expect(current.dns.asked.filter((q) => q.endsWith('TLSA'))).toEqual(['_25._tcp.real.own-tlsa.test TLSA', '_25._tcp.mail.own-tlsa.test TLSA']);
  });

  test('a resolver that does not validate (no AD): forced as without DANE, and no TLSA asked', async () => {
    current = await rig({ validating: false });
    expect(await current.ask('mailertable', 'dane.test')).toBe('OK esmtp:[192.0.2.10]');
    expect(current.dns.asked.filter((q) => q.endsWith('TLSA'))).toEqual([]);
  });

  test('dnssec: off: AD is neither asked for nor believed; forced as today', async () => {
    current = await rig({ dnssec: false });
    expect(await current.ask('mailertable', 'dane.test')).toBe('OK esmtp:[192.0.2.10]');
    expect(current.dns.askedSigned).toEqual([]);
    expect(current.dns.asked.filter((q) => q.endsWith('TLSA'))).toEqual([]);
  });

  test('signed MX but unvalidated addresses: DANE cannot apply to the host; forced, no TLSA asked', async () => {
    current = await rig();
    expect(await current.ask('mailertable', 'half.test')).toBe('OK esmtp:[192.0.2.14]');
    expect(current.dns.asked.filter((q) => q.endsWith('TLSA'))).toEqual([]);
  });

  test('a TLSA lookup that fails (SERVFAIL, as for a bogus RRset) cannot rule DANE out: NOTFOUND, and kept for failure_ttl only', async () => {
    current = await rig();
    expect(await current.ask('mailertable', 'bogus.test')).toBe('NOTFOUND ');
    const evaluation = await current.engine.evaluate('bogus.test');
    expect(evaluation.protection?.dane.hosts).toEqual([expect.objectContaining({ found: 'failure' })]);
    expect(evaluation.ttlMs).toBe(TEST_SETTINGS.failureTtlMs);
  });
});

describe('MTA-STS', () => {
  test('a domain with a v=STSv1 TXT record at _mta-sts is not routed to a literal: NOTFOUND, reason mta-sts (no DNSSEC needed)', async () => {
    current = await rig({ dnssec: false });
    expect(await current.ask('mailertable', 'sts.test')).toBe('NOTFOUND ');
    expect(current.observed).toEqual(['mailertable NOTFOUND mta-sts']);
  });

  test('other TXT records there are no policy: forced', async () => {
    current = await rig({ dnssec: false });
    expect(await current.ask('mailertable', 'plain.test')).toBe('OK esmtp:[192.0.2.13]');
  });

  test('an _mta-sts lookup that fails cannot rule MTA-STS out: NOTFOUND for failure_ttl', async () => {
    current = await rig({ dnssec: false });
    expect(await current.ask('mailertable', 'sts-down.test')).toBe('NOTFOUND ');
    expect((await current.engine.evaluate('sts-down.test')).ttlMs).toBe(TEST_SETTINGS.failureTtlMs);
  });

  test('more TXT records at _mta-sts than are read: a policy among the rest cannot be ruled out (forced before)', async () => {
    current = await rig({ dnssec: false });
    expect(await current.ask('mailertable', 'many-txt.test')).toBe('NOTFOUND ');
    expect((await current.engine.evaluate('many-txt.test')).protection?.mtaSts).toMatchObject({ found: 'failure' });
    // All of them read and none a policy: forced as before.
    expect(await current.ask('mailertable', 'few-txt.test')).toBe('OK esmtp:[192.0.2.18]');
  });

  test('domains that are not forced cost no transport-security lookup', async () => {
    current = await rig();
    current.dns.zone.records['ok.test'] = [{ type: 'MX', exchange: 'mx.ok.test' }];
    current.dns.zone.records['mx.ok.test'] = [
      { type: 'A', address: '192.0.2.30' },
      { type: 'AAAA', address: '2001:db8::30' },
    ];
    expect(await current.ask('mailertable', 'ok.test')).toBe('NOTFOUND ');
    expect(current.dns.asked).toEqual(['ok.test MX', 'mx.ok.test A', 'mx.ok.test AAAA']);
  });
});

describe('secure_domains and force_ipv4', () => {
  test('warn: forced, with a warning naming what the literal route drops', async () => {
    current = await rig({ secureDomains: 'warn' });
    expect(await current.ask('mailertable', 'dane.test')).toBe('OK esmtp:[192.0.2.10]');
    expect(current.sink.events('decision')).toEqual([
      expect.objectContaining({ level: 40, protection: ['dane'], msg: expect.stringContaining('although it publishes DANE') }),
    ]);
  });

  test('force: forced, and nothing looked up', async () => {
    current = await rig({ secureDomains: 'force' });
    expect(await current.ask('mailertable', 'sts.test')).toBe('OK esmtp:[192.0.2.12]');
    expect(current.dns.asked.filter((q) => q.endsWith('TXT') || q.endsWith('TLSA'))).toEqual([]);
  });

  test('a force_ipv4 pattern follows the policy; one ending in "!" forces the domain and looks nothing up', async () => {
    current = await rig({ force: ['sts.test', 'dane.test!'] });
    expect(await current.ask('mailertable', 'sts.test')).toBe('NOTFOUND ');
    expect(await current.ask('mailertable', 'dane.test')).toBe('OK esmtp:[192.0.2.10]');
    expect(current.dns.asked.filter((q) => q.includes('dane.test') && (q.endsWith('TXT') || q.endsWith('TLSA')))).toEqual([]);
  });

  test('the forced decisions served to export carry their protection, and export leaves protected ones out', async () => {
    current = await rig();
    await current.ask('mailertable', 'dane.test');
    await current.ask('mailertable', 'plain.test');
    const decisions = [...current.engine.forcedDecisions()].sort((x, y) => x.domain.localeCompare(y.domain));
    expect(decisions.map((d) => [d.domain, d.protection])).toEqual([
      ['dane.test', ['dane']],
      ['plain.test', undefined],
    ]);
    expect(renderExport(decisions, MAPS[0], 10, new Date(0)).split('\n')).toEqual([
      '# mx4map export, 1970-01-01T00:00:00.000Z: 1 forced domains (sendmail mailertable); 1 left out: they publish DANE or MTA-STS',
      'plain.test\tesmtp:[192.0.2.13]',
      '',
    ]);
  });
});
