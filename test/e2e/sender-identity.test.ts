/**
 * sender-ipv6-unready through the built server: the fixture DNS publishes (or not) PTR records for our
 * IPv6 source addresses and Google-like MX hosts; serve checks the identity before listening and on
 * reload, and answers the real `sendmail -bt`, `mx4map lookup`, /healthz and /metrics accordingly.
 */
import { type DnsFixture, type FixtureRecord, startDnsFixture } from '../support/dns-fixture';
import { type ServeProcess, runCliAsync, startServe } from '../support/cli';
import { askOnce } from '../support/wire';
import { buildSendmailRig, mapResult, sendmailMissing } from '../support/sendmail';
import { describeRequiring } from '../support/requires';
import { reverseName } from '../../src/identity/identity-check';
import { until } from '../support/until';

const PASSING = '2001:db8::25';
const NO_PTR = '2001:db8::26';
const NO_FORWARD = '2001:db8::27';
const MISMATCH = '2001:db8::28';
const BROKEN = '2001:db8::29';

function records(): Record<string, FixtureRecord[]> {
  const host = (a: string, aaaa: string): FixtureRecord[] => [
    { type: 'A', address: a },
    { type: 'AAAA', address: aaaa },
  ];
  return {
    'gmail.com': [{ type: 'MX', priority: 5, exchange: 'gmail-smtp-in.l.google.com' }],
    'workspace-customer.test': [{ type: 'MX', priority: 1, exchange: 'aspmx.l.google.com' }],
    'other.test': [{ type: 'MX', priority: 10, exchange: 'mx.other.test' }],
    'gmail-smtp-in.l.google.com': host('192.0.2.60', '2001:db8:60::1'),
    'aspmx.l.google.com': host('192.0.2.61', '2001:db8:61::1'),
    'mx.other.test': host('192.0.2.62', '2001:db8:62::1'),
    [reverseName(PASSING)]: [{ type: 'PTR', target: 'mail.sender.test' }],
    'mail.sender.test': [{ type: 'AAAA', address: PASSING }],
    [reverseName(NO_FORWARD)]: [{ type: 'PTR', target: 'v4only.sender.test' }],
    'v4only.sender.test': [{ type: 'A', address: '192.0.2.27' }],
    [reverseName(MISMATCH)]: [{ type: 'PTR', target: 'moved.sender.test' }],
    'moved.sender.test': [{ type: 'AAAA', address: '2001:db8::99' }],
  };
}

const ask = (serve: ServeProcess, domain: string, map = 'mailertable'): Promise<string> => askOnce({ port: serve.port }, `${map} ${domain}`);

describe('sender-ipv6-unready through serve', () => {
  let dns: DnsFixture;
  const running: ServeProcess[] = [];
  const serve = async (...sources: string[]): Promise<ServeProcess> => {
    const s = await startServe([
      '--listen',
      'inet:0@127.0.0.1',
      '--http',
      '127.0.0.1:0',
      '--dns',
      dns.spec,
      '--no-probe',
      ...sources.flatMap((a) => ['--ipv6-source', a]),
    ]);
    running.push(s);
    return s;
  };
  const http = (s: ServeProcess): string => `http://${String(s.lines.find((l) => l.evt === 'listening')?.http)}`;
  beforeAll(async () => {
    dns = await startDnsFixture({ records: records(), behaviours: { [reverseName(BROKEN)]: { '*': 'servfail' } } });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.stop()));
  });
  afterAll(() => dns.close());

  test('our identity passes (PTR and matching AAAA): nothing is forced; /healthz and /metrics say so', async () => {
    const s = await serve(PASSING);
    expect(await ask(s, 'gmail.com')).toBe('NOTFOUND ');
    const health = await (await fetch(`${http(s)}/healthz`)).text();
    expect(health).toBe(`ok\nsender-ipv6 ${PASSING} (configured): pass — PTR mail.sender.test, whose AAAA is ${PASSING}\n`);
    const metrics = await (await fetch(`${http(s)}/metrics`)).text();
    expect(metrics).toMatch(/^mx4map_sender_ipv6_unready 0$/m);
    expect(metrics).toContain(`mx4map_sender_ipv6_identity{address="${PASSING}",verdict="pass"} 1`);
  });

  test.each([
    ['no PTR record', NO_PTR, 'no-ptr'],
    ['a PTR whose name has no AAAA', NO_FORWARD, 'no-forward'],
    ['a PTR whose name resolves elsewhere', MISMATCH, 'forward-mismatch'],
  ])('%s: Gmail and a Workspace domain are forced onto IPv4, another domain is not', async (_what, source, verdict) => {
    const s = await serve(source);
    expect(await ask(s, 'gmail.com')).toBe('OK esmtp:[192.0.2.60]');
    expect(await ask(s, 'workspace-customer.test')).toBe('OK esmtp:[192.0.2.61]');
    expect(await ask(s, 'other.test')).toBe('NOTFOUND ');
    expect(s.lines.find((l) => l.evt === 'sender-identity')).toMatchObject({ level: 'warn', address: source, verdict });
    expect(await (await fetch(`${http(s)}/metrics`)).text()).toMatch(/^mx4map_sender_ipv6_unready 1$/m);
  });

  test('several sources, one failing: forced (mail from that one would bounce)', async () => {
    const s = await serve(PASSING, NO_PTR);
    expect(await ask(s, 'gmail.com')).toBe('OK esmtp:[192.0.2.60]');
    const health = await (await fetch(`${http(s)}/healthz`)).text();
    expect(health.split('\n').filter((l) => l.startsWith('sender-ipv6'))).toHaveLength(2);
  });

  test('the identity check failing for DNS reasons: nothing forced (fail open), said in /healthz', async () => {
    const s = await serve(BROKEN);
    expect(await ask(s, 'gmail.com')).toBe('NOTFOUND ');
    expect(await (await fetch(`${http(s)}/healthz`)).text()).toContain(`sender-ipv6 ${BROKEN} (configured): unknown`);
  });

  test('PTR set up while running: the next reload checks again, and the trigger turns itself off', async () => {
    const s = await serve(NO_PTR);
    expect(await ask(s, 'gmail.com')).toBe('OK esmtp:[192.0.2.60]');
    dns.zone = {
      ...dns.zone,
      records: {
        ...dns.zone.records,
        [reverseName(NO_PTR)]: [{ type: 'PTR', target: 'fixed.sender.test' }],
        'fixed.sender.test': [{ type: 'AAAA', address: NO_PTR }],
      },
    };
    try {
      s.child.kill('SIGHUP');
      await until(() => s.lines.some((l) => l.evt === 'sender-identity' && l.verdict === 'pass'), 5000, 'the identity to pass');
      expect(await ask(s, 'gmail.com')).toBe('NOTFOUND ');
    } finally {
      dns.zone = { ...dns.zone, records: records() };
    }
  });

  test('mx4map lookup shows the identity and names the trigger', async () => {
    const r = await runCliAsync(['lookup', 'gmail.com', '--config', '', '--dns', dns.spec, '--no-probe', '--ipv6-source', NO_PTR]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`sender      ${NO_PTR} (configured): no-ptr, sender-ipv6-unready active — no PTR record for ${NO_PTR}`);
    expect(r.stdout).toMatch(/^ {2}triggers {2}sender-ipv6-unready$/m);
    expect(r.stdout).toMatch(/^answer +mailertable +OK esmtp:\[192\.0\.2\.60\]/m);
    // The report says it; no log line repeats it, and none is JSON.
    expect(r.stderr).toBe('');
  });

  describeRequiring(sendmailMissing(), 'real-sendmail tests')('the real sendmail -bt', () => {
    test('routes a Gmail recipient over IPv4 while our identity fails, and normally once it passes', async () => {
      const failing = await serve(NO_PTR);
      const passing = await serve(PASSING);
      const viaFailing = buildSendmailRig(`inet:${failing.port}@127.0.0.1`);
      const viaPassing = buildSendmailRig(`inet:${passing.port}@127.0.0.1`);
      expect(mapResult(await viaFailing.test(['/map mailertable gmail.com']))).toBe('map_lookup: mailertable (gmail.com) returns esmtp:[192.0.2.60] (0)');
      expect(mapResult(await viaPassing.test(['/map mailertable gmail.com']))).toMatch(/^map_lookup: mailertable \(gmail\.com\) no match/);
    });
  });
});
