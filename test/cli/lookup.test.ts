import { runCliAsync } from '../support/cli';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { type SmtpFixture, startSmtpFixture } from '../support/smtp-fixture';
import { cliZone } from '../support/cli-zone';
import { TEST_IPV6 } from '../support/test-addresses';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSnapshot } from '../../src/snapshot/format';
import { ruleFingerprint } from '../../src/engine/policy';
import { engineSettings, loadPatternLists } from '../../src/app/assemble';
import { resolveConfig } from '../../src/config/load';
import { startSignedDns } from '../support/signed-dns';

let dns: DnsFixture;
let smtp: SmtpFixture;
beforeAll(async () => {
  dns = await startDnsFixture(cliZone());
  smtp = await startSmtpFixture('greet', TEST_IPV6);
});
afterAll(async () => {
  await dns.close();
  await smtp.close();
});

const lookup = (...args: string[]) => runCliAsync(['lookup', '--dns', dns.spec, '--probe-port', String(smtp.port), ...args]);

describe('mx4map lookup', () => {
  test('prints the reason trail for a forced domain and exits 0', async () => {
    const r = await lookup('cname-mx.test');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('mx          10 mail.cname-mx.test');
    expect(r.stdout).toContain('  cname     mail.cname-mx.test -> real.cname-mx.test');
    expect(r.stdout).toMatch(/ {2}A {9}192\.0\.2\.10 {2}\(ttl \d+s\)/);
    expect(r.stdout).toContain('  triggers  cname-mx');
    expect(r.stdout).toContain('decision    force-ipv4 (cname-mx)');
    expect(r.stdout).toContain('answer      mailertable  OK esmtp:[192.0.2.10]');
    expect(r.stdout).toContain('            transport    OK smtp:[192.0.2.10]');
    expect(r.stdout).toMatch(/cached for {2}\d+/);
    expect(r.stdout).toMatch(/work {8}4 DNS queries, 0 probes/);
  });

  test('shows probes with their outcome for a domain with working IPv6, and exits 1', async () => {
    const r = await lookup('ipv6-ok.test');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/probe {5}\[2001:db8:ffff::25\] ok: greeting, \d+ ms/);
    expect(r.stdout).toContain('decision    leave (ipv6-ok)');
    expect(r.stdout).toContain('answer      mailertable  NOTFOUND');
    expect(smtp.received).toContain('QUIT');
  });

  test('--json gives the whole evaluation', async () => {
    const r = await lookup('multi.test', '--json');
    const json = JSON.parse(r.stdout);
    expect(json.decision).toEqual({ action: 'force-ipv4', triggers: ['no-aaaa'], routes: [['192.0.2.5', '192.0.2.3', '192.0.2.1'], ['192.0.2.4']] });
    expect(json.answers.mailertable).toEqual({ status: 'OK', value: 'esmtp:[192.0.2.5],[192.0.2.3],[192.0.2.1]:[192.0.2.4]' });
    expect(json.hosts.map((h: { name: string }) => h.name)).toEqual(['b.multi.test', 'a.multi.test', 'c.multi.test']);
  });

  test('the same flags as serve apply: --dry-run, --map, --on-dns-failure', async () => {
    const dry = await lookup('no-aaaa.test', '--dry-run');
    expect(dry.stdout).toContain('mailertable  NOTFOUND  (dry run; would answer OK esmtp:[192.0.2.20])');
    expect(dry.status).toBe(1);
    const temp = await lookup('servfail.test', '--on-dns-failure', 'temp', '--map', 'mt=sendmail:relay');
    expect(temp.stdout).toMatch(/answer {6}mt {11}TEMP DNS failure: SERVFAIL/);
    expect(temp.status).toBe(2); // as query exits on a TEMP reply
  });

  test('keys that are never decided say so, without DNS', async () => {
    const before = dns.queries.length;
    const r = await lookup('.example.com');
    expect(r.stdout).toBe('.example.com: answered NOTFOUND at once, without DNS (parent-walk)\n');
    expect(r.status).toBe(1);
    expect(dns.queries.length).toBe(before);
  });

  describe('with the cache snapshot serve keeps', () => {
    const forced = (address: string) => ({ action: 'force-ipv4' as const, triggers: ['cname-mx' as const], routes: [[address]] });
    function snapshot(): string {
      const now = Date.now();
      const config = resolveConfig({ flags: {}, env: {} });
      const rule = ruleFingerprint(engineSettings(config, loadPatternLists(config).strictReceivers));
      const path = join(mkdtempSync(join(tmpdir(), 'mx4map-lookup-')), 'cache.snapshot');
      const entries = [
        { domain: 'servfail.test', decision: forced('192.0.2.91'), expiresAt: now - 150_000, staleUntil: now + 3_600_000 },
        { domain: 'no-aaaa.test', decision: forced('192.0.2.92'), expiresAt: now + 600_000 },
        { domain: 'ipv6-ok.test', decision: forced('192.0.2.93'), expiresAt: now - 150_000, staleUntil: now + 3_600_000 },
      ];
      writeFileSync(path, encodeSnapshot(entries, now, rule));
      return path;
    }

    test('DNS fails for a domain with a stale decision: the trail says serve answers the stale decision, and why', async () => {
      const r = await lookup('servfail.test', '--cache-snapshot', snapshot());
      expect(r.stdout).toContain('decision    dns-failure (SERVFAIL from 127.0.0.1 for servfail.test MX)');
      expect(r.stdout).toContain(
        'stale       force-ipv4 (cname-mx), expired 2 min ago, kept 59 min more: serve answers it because DNS failed (SERVFAIL from 127.0.0.1 for servfail.test MX), and asks DNS again in 5s',
      );
      expect(r.stdout).toContain('cached for  not cached: the stale decision is kept');
      expect(r.stdout).toContain('answer      mailertable  OK esmtp:[192.0.2.91]  (stale)');
      expect(r.status).toBe(0);
      const json = JSON.parse((await lookup('servfail.test', '--cache-snapshot', snapshot(), '--json')).stdout);
      expect(json).toMatchObject({ answeredFrom: 'stale', answers: { mailertable: { status: 'OK', value: 'esmtp:[192.0.2.91]' } } });
    });

    test('a fresh cached decision is what serve answers until it expires; an expired one is replaced by a good evaluation', async () => {
      const path = snapshot();
      const fresh = await lookup('no-aaaa.test', '--cache-snapshot', path);
      expect(fresh.stdout).toContain('decision    force-ipv4 (no-aaaa)');
      expect(fresh.stdout).toMatch(/cached {6}force-ipv4 \(cname-mx\), fresh for 9 min more: serve answers it until then/);
      expect(fresh.stdout).toContain('answer      mailertable  OK esmtp:[192.0.2.92]  (cached)');
      const replaced = await lookup('ipv6-ok.test', '--cache-snapshot', path);
      expect(replaced.stdout).toContain('cached      expired 2 min ago; replaced by the decision above');
      expect(replaced.stdout).toContain('answer      mailertable  NOTFOUND\n');
      expect(replaced.status).toBe(1);
    });
  });

  test('transport security: what was looked up, what was found, and why a forced domain is answered NOTFOUND', async () => {
    const signed = await startSignedDns({
      records: {
        'dane.test': [{ type: 'MX', exchange: 'mail.dane.test' }],
        'mail.dane.test': [{ type: 'CNAME', target: 'real.dane.test' }],
        'real.dane.test': [{ type: 'A', address: '192.0.2.10' }],
        '_25._tcp.real.dane.test': [{ type: 'TLSA', usage: 3, selector: 1, matchingType: 1 }],
        '_mta-sts.dane.test': [{ type: 'TXT', text: 'v=STSv1; id=1' }],
      },
      signed: new Set(['dane.test', 'mail.dane.test', 'real.dane.test', '_25._tcp.real.dane.test']),
      faults: {},
    });
    try {
      const flags = ['--dns', signed.spec, '--no-probe', '--map', 'mailertable=sendmail', '--map', 'transport4=postfix:smtp4:domain'];
      const r = await runCliAsync(['lookup', 'dane.test', '--dnssec', 'trust-ad', ...flags]);
      expect(r.stdout).toContain('mta-sts     policy published: "v=STSv1; id=1"');
      expect(r.stdout).toContain('dane        mail.dane.test: TLSA at _25._tcp.real.dane.test: 3 1 1 (validated)');
      expect(r.stdout).toContain('decision    force-ipv4 (cname-mx, no-aaaa; publishes DANE and MTA-STS)');
      expect(r.stdout).toContain('answer      mailertable  NOTFOUND  (secure_domains: skip: a literal route would drop DANE)');
      expect(r.stdout).toContain('            transport4   OK smtp4:');
      expect(r.status).toBe(0); // one map answers OK
      const off = await runCliAsync(['lookup', 'dane.test', ...flags]);
      expect(off.stdout).toContain('dane        not looked up: dnssec is off (DANE needs a validating resolver and dnssec: trust-ad)');
      expect(off.stdout).toContain('decision    force-ipv4 (cname-mx, no-aaaa; publishes MTA-STS)');
    } finally {
      await signed.close();
    }
  });

  test('a bad flag exits 2 with one line', async () => {
    const r = await runCliAsync(['lookup', 'x.test', '--dns', 'not-an-address']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('mx4map: --dns has "not-an-address": not an IP address with an optional port (192.0.2.53:53, [2001:db8::53]:53)\n');
  });
});
