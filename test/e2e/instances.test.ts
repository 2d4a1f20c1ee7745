/**
 * Several MTA instances on one host, as the README's "Several MTA instances" section sets them up: its two
 * sendmail .mc blocks (each with its ClientPortOptions) become two real sendmail configurations, its two .yml
 * blocks configure two mx4map servers, and a fixture DNS publishes reverse DNS for instance b's IPv6 source
 * only. Instance a's sendmail gets a Google-hosted domain forced onto IPv4; instance b's does not.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { type ServeProcess, startServe } from '../support/cli';
import { buildSendmailRig, mapResult, sendmailMissing } from '../support/sendmail';
import { describeRequiring } from '../support/requires';
import { reverseName } from '../../src/identity/identity-check';

const README = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

/** The fenced blocks of one language in the README's "Several MTA instances" section, in order. */
function blocks(language: string): string[] {
  const start = README.indexOf('\n## Several MTA instances\n');
  const section = README.slice(start, README.indexOf('\n## ', start + 1));
  const fence = '```';
  return [...section.matchAll(new RegExp(`${fence}${language}\\n([\\s\\S]*?)${fence}`, 'g'))].map((m) => m[1]);
}

describe("the README's two instances", () => {
  test('give two .mc blocks and two .yml blocks, one IPv6 source each, on different ports', () => {
    const configs = blocks('yaml').map((y) => parse(y) as { listen: string[]; ipv6_source: string[] });
    expect(blocks('m4')).toHaveLength(2);
    expect(configs.map((c) => c.listen[0])).toEqual(['inet:8425@127.0.0.1', 'inet:8426@127.0.0.1']);
    const [a, b] = blocks('m4');
    expect(a).toContain(`Addr=${configs[0].ipv6_source[0]}`);
    expect(b).toContain(`Addr=${configs[1].ipv6_source[0]}`);
    expect(a).toContain(configs[0].listen[0]);
    expect(b).toContain(configs[1].listen[0]);
  });
});

describeRequiring(sendmailMissing(), 'real-sendmail tests')('two sendmail instances with different IPv6 identities', () => {
  let dns: DnsFixture;
  const servers: ServeProcess[] = [];
  const [mcA, mcB] = blocks('m4');
  const [ymlA, ymlB] = blocks('yaml');
  const sourceOf = (yml: string): string => (parse(yml) as { ipv6_source: string[] }).ipv6_source[0];

  beforeAll(async () => {
    const b = sourceOf(ymlB);
    dns = await startDnsFixture({
      records: {
        'gmail.com': [{ type: 'MX', priority: 5, exchange: 'gmail-smtp-in.l.google.com' }],
        'gmail-smtp-in.l.google.com': [
          { type: 'A', address: '192.0.2.60' },
          { type: 'AAAA', address: '2001:db8:60::1' },
        ],
        // Instance b's source has reverse DNS whose name resolves back to it; instance a's has none.
        [reverseName(b)]: [{ type: 'PTR', target: 'mail-b.sender.test' }],
        'mail-b.sender.test': [{ type: 'AAAA', address: b }],
      },
    });
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await dns?.close();
  });

  /** An mx4map started from the README's .yml: its own listen, http and snapshot swapped for the test's. */
  const serve = async (yml: string): Promise<ServeProcess> => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-instance-'));
    writeFileSync(join(dir, 'instance.yml'), yml);
    const s = await startServe([
      '--config',
      join(dir, 'instance.yml'),
      '--listen',
      'inet:0@127.0.0.1',
      '--http',
      '',
      '--cache-snapshot',
      join(dir, 'cache.snapshot'),
      '--dns',
      dns.spec,
      '--no-probe',
    ]);
    servers.push(s);
    return s;
  };

  test('instance a (no reverse DNS) gets gmail.com forced; instance b does not — each sendmail asking its own mx4map', async () => {
    const [a, b] = [await serve(ymlA), await serve(ymlB)];
    const rigA = buildSendmailRig(
      '',
      undefined,
      mcA
        .trim()
        .split('\n')
        .map((l) => l.replace('inet:8425@127.0.0.1', `inet:${a.port}@127.0.0.1`)),
    );
    const rigB = buildSendmailRig(
      '',
      undefined,
      mcB
        .trim()
        .split('\n')
        .map((l) => l.replace('inet:8426@127.0.0.1', `inet:${b.port}@127.0.0.1`)),
    );
    // Each .cf sends from its own addresses.
    expect(readFileSync(rigA.cf, 'utf8')).toMatch(new RegExp(`^O ClientPortOptions=Family=inet6, Addr=${sourceOf(ymlA)}$`, 'm'));
    expect(readFileSync(rigB.cf, 'utf8')).toMatch(new RegExp(`^O ClientPortOptions=Family=inet6, Addr=${sourceOf(ymlB)}$`, 'm'));
    expect(mapResult(await rigA.test(['/map mailertable gmail.com']))).toBe('map_lookup: mailertable (gmail.com) returns esmtp:[192.0.2.60] (0)');
    expect(mapResult(await rigB.test(['/map mailertable gmail.com']))).toMatch(/^map_lookup: mailertable \(gmail\.com\) no match/);
    expect(a.lines.find((l) => l.evt === 'sender-identity')).toMatchObject({ address: sourceOf(ymlA), verdict: 'no-ptr' });
  }, 60_000);
});
