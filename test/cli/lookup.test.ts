import { runCliAsync } from '../support/cli';
import { DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { SmtpFixture, startSmtpFixture } from '../support/smtp-fixture';
import { cliZone } from '../support/cli-zone';
import { TEST_IPV6 } from '../support/test-addresses';

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
    expect(r.stdout).toMatch(/work {8}3 DNS queries, 0 probes/);
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
  });

  test('keys that are never decided say so, without DNS', async () => {
    const before = dns.queries.length;
    const r = await lookup('.example.com');
    expect(r.stdout).toBe('.example.com: answered NOTFOUND at once, without DNS (parent-walk)\n');
    expect(r.status).toBe(1);
    expect(dns.queries.length).toBe(before);
  });

  test('a bad flag exits 2 with one line', async () => {
    const r = await runCliAsync(['lookup', 'x.test', '--dns', 'not-an-address']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('mx4map: --dns has "not-an-address" is not an IP address with an optional port (192.0.2.53:53, [2001:db8::53]:53)\n');
  });
});
