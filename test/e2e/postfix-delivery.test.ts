/**
 * A real Postfix (3.7, from Debian's package) delivering mail with mx4map as its transport map
 * (cf-snippets/postfix-main.cf's line), mx4map run under socket activation (a systemd stand-in holds the
 * listening socket). Postfix resolves through the fixture DNS (a private resolv.conf in its own mount
 * namespace) and delivers to recording SMTP sinks on documentation addresses added to lo.
 *
 * Needs root, the unpacked Postfix and its users (scripts/install-mtas.sh), iproute2 and python3.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { type Activator, startActivator } from '../support/activator';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { type PostfixDaemon, postfixDaemonMissing, snippetTable, startPostfixDaemon } from '../support/postfix';
import { SmtpClient, type SmtpSink, startSmtpSinks } from '../support/smtp-sink';
import { describeRequiring } from '../support/requires';

const RESOLVER = '127.0.0.154';
const FORCED = '192.0.2.90';
const SECOND = '192.0.2.91';
const DEAD = '192.0.2.92'; // on lo, nothing listening: connections are refused
const NORMAL = '192.0.2.93';
const HOSTNAME = 'mx4map-test.example';
/** This machine's own address, which the test host's MX resolves to; a configured one where it has none. */
const machine = Object.values(networkInterfaces())
  .flatMap((l) => l ?? [])
  .find((i) => !i.internal && i.family === 'IPv4')?.address;
const OWN = machine ?? '192.0.2.99';

function missing(): string | undefined {
  return (
    postfixDaemonMissing() ??
    (spawnSync('ip', ['-V']).status === 0 ? undefined : 'iproute2 (ip) is not installed') ??
    (spawnSync('python3', ['-V']).status === 0 ? undefined : 'python3 is not installed')
  );
}

describeRequiring(missing(), 'real-Postfix delivery tests')('a real Postfix delivering with transport_maps = socketmap:…:transport', () => {
  let dns: DnsFixture;
  let sinks: SmtpSink[];
  let activator: Activator;
  let postfix: PostfixDaemon;
  const added: string[] = [];

  beforeAll(async () => {
    for (const address of [FORCED, SECOND, DEAD, NORMAL]) {
      if (spawnSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']).status === 0) added.push(address);
    }
    dns = await startDnsFixture(
      {
        records: {
          'forced.test': [{ type: 'MX', exchange: 'mail.forced.test', priority: 10 }],
          'mail.forced.test': [{ type: 'CNAME', target: 'real.forced.test' }],
          'real.forced.test': [{ type: 'A', address: FORCED }],
          'failover.test': [
            { type: 'MX', exchange: 'a.failover.test', priority: 10 },
            { type: 'MX', exchange: 'b.failover.test', priority: 20 },
          ],
          'a.failover.test': [{ type: 'CNAME', target: 'dead.failover.test' }],
          'dead.failover.test': [{ type: 'A', address: DEAD }],
          'b.failover.test': [{ type: 'A', address: SECOND }],
          'normal.test': [{ type: 'MX', exchange: 'mx.normal.test', priority: 10 }],
          'mx.normal.test': [{ type: 'A', address: NORMAL }],
          // The host's own domain: its MX is an alias (mx4map would force it) of this very host.
          [HOSTNAME]: [{ type: 'MX', exchange: `mail.${HOSTNAME}`, priority: 10 }],
          [`mail.${HOSTNAME}`]: [{ type: 'CNAME', target: `real.${HOSTNAME}` }],
          [`real.${HOSTNAME}`]: [{ type: 'A', address: OWN }],
        },
      },
      { host: RESOLVER, port: 53 },
    );
    sinks = await startSmtpSinks([FORCED, SECOND, NORMAL]);
    const serveArgs = [
      '--dns',
      dns.spec,
      '--triggers',
      'cname-mx',
      '--no-probe',
      '--local-domains',
      'local-domain.test',
      ...(machine ? [] : ['--local-addresses', OWN]),
    ];
    activator = await startActivator('127.0.0.1:0', serveArgs);
    activator.send('start');
    await activator.waitFor((l) => l.evt === 'listening');
    const port = Number(activator.address.split(':')[1]);
    postfix = await startPostfixDaemon({
      resolver: RESOLVER,
      smtpPort: sinks[0].port,
      hostname: HOSTNAME,
      main: [`transport_maps = ${snippetTable(port)}`, 'mydestination = $myhostname, local-domain.test, localhost'],
    });
  }, 60_000);

  afterAll(async () => {
    await postfix?.close();
    await activator?.close();
    await Promise.all((sinks ?? []).map((s) => s.close()));
    await dns?.close();
    for (const address of added) execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
  });

  async function submit(to: string, subject = 'test'): Promise<string> {
    const { client } = await SmtpClient.connect('127.0.0.1', postfix.port);
    try {
      await client.command('EHLO client.example');
      await client.command('MAIL FROM:<sender@client.example>');
      const rcpt = await client.command(`RCPT TO:<${to}>`);
      if (!rcpt.startsWith('250')) return rcpt;
      await client.command('DATA');
      const accepted = await client.command(`Subject: ${subject}\r\n\r\nhello\r\n.`);
      await client.command('QUIT');
      return accepted;
    } finally {
      client.close();
    }
  }

  const sink = (address: string): SmtpSink => sinks.find((s) => s.host === address) as SmtpSink;
  const escaped = (text: string): string => text.replace(/[.[\]]/g, '\\$&');

  test('a forced domain is delivered to its IPv4 route', async () => {
    expect(await submit('a@forced.test')).toMatch(/^250 /);
    await postfix.waitForLog(new RegExp(`to=<a@forced\\.test>, relay=${escaped(FORCED)}\\[${escaped(FORCED)}\\]:\\d+, .*status=sent`));
    expect(sink(FORCED).messages.map((m) => m.to)).toEqual([['a@forced.test']]);
  });

  test('the next-hop list fails over: the first route refuses, the second takes the mail', async () => {
    expect(await submit('b@failover.test')).toMatch(/^250 /);
    await postfix.waitForLog(new RegExp(`to=<b@failover\\.test>, relay=${escaped(SECOND)}\\[${escaped(SECOND)}\\]:\\d+, .*status=sent`));
    expect(sink(SECOND).messages.map((m) => m.to)).toEqual([['b@failover.test']]);
  });

  test("a domain mx4map leaves alone goes by Postfix's own MX routing", async () => {
    expect(await submit('c@normal.test')).toMatch(/^250 /);
    await postfix.waitForLog(/to=<c@normal\.test>, relay=mx\.normal\.test\[192\.0\.2\.93\]:\d+, .*status=sent/);
    expect(sink(NORMAL).messages.map((m) => m.to)).toEqual([['c@normal.test']]);
  });

  test("the host's own mail is delivered locally: its name (MX on this host's address) and a local_domains domain", async () => {
    expect(await submit(`root@${HOSTNAME}`)).toMatch(/^250 /);
    expect(await submit('root@local-domain.test')).toMatch(/^250 /);
    await postfix.waitForLog(new RegExp(`to=<root@${escaped(HOSTNAME)}>, relay=local, .*status=sent \\(delivered to mailbox\\)`));
    await postfix.waitForLog(/to=<root@local-domain\.test>, relay=local, .*status=sent \(delivered to mailbox\)/);
    expect(postfix.log()).not.toMatch(/loops back to myself/);
  });

  test('mx4map restarted three times while mail flows: every message delivered, none deferred', async () => {
    const from = postfix.log().length;
    const sent: Promise<string>[] = [];
    for (let i = 0; i < 3; i++) {
      sent.push(submit('d@forced.test', `d${i}`), submit('e@normal.test', `e${i}`));
      const at = activator.lines.length;
      activator.send('restart');
      sent.push(submit('d@forced.test', `d${i}b`), submit('e@normal.test', `e${i}b`));
      await activator.waitFor((l) => l.evt === 'listening', 10_000, at);
    }
    expect((await Promise.all(sent)).every((r) => r.startsWith('250 '))).toBe(true);
    for (let n = 1; n <= 12; n++) await postfix.waitForLog(new RegExp(`(?:[^]*?status=sent){${n}}`), 30_000, from);
    const log = postfix.log().slice(from);
    expect(log).not.toMatch(/status=deferred|status=bounced|lookup fail|Temporary lookup failure/);
    expect(sink(FORCED).messages.filter((m) => m.to[0] === 'd@forced.test')).toHaveLength(6);
    expect(sink(NORMAL).messages.filter((m) => m.to[0] === 'e@normal.test')).toHaveLength(6);
  }, 90_000);
});
