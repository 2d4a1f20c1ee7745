/**
 * Closing the loop with the real Postfix: a receiver that greets over IPv6 and then answers RCPT with
 * `550 5.7.25 IP name lookup failed` (as ImprovMX does). Postfix bounces a 5xx at once, whatever other
 * addresses exist; without mx4map the next message to the domain bounces the same way. mx4map follows
 * Postfix's own maillog_file: the first message bounces, the next one is delivered over IPv4.
 *
 * Needs root, the unpacked Postfix and its users (scripts/install-mtas.sh), iproute2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type ServeProcess, startServe } from '../support/cli';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { type PostfixDaemon, postfixDaemonMissing, snippetTable, startPostfixDaemon } from '../support/postfix';
import { describeRequiring } from '../support/requires';
import { SmtpClient, type SmtpSink, startSmtpSinks } from '../support/smtp-sink';
import { ensureTestAddresses, testIpv6 } from '../support/test-addresses';
import { until } from '../support/until';

const RESOLVER = '127.0.0.155';
const MX4 = '192.0.2.95';
const MX6 = testIpv6(0x95);
const REJECTION = '550 5.7.25 IP name lookup failed. No valid PTR record found';

function missing(): string | undefined {
  return postfixDaemonMissing() ?? (spawnSync('ip', ['-V']).status === 0 ? undefined : 'iproute2 (ip) is not installed');
}

describeRequiring(missing(), 'real-Postfix delivery-log tests')(
  'Postfix bounces a 550 5.7.25 over IPv6: mx4map reads its log, and the next message goes over IPv4',
  () => {
    let dns: DnsFixture;
    let sinks: SmtpSink[];
    let serve: ServeProcess;
    let postfix: PostfixDaemon;
    let added = false;
    let logDir: string | undefined;

    beforeAll(async () => {
      added = spawnSync('ip', ['addr', 'add', `${MX4}/32`, 'dev', 'lo']).status === 0;
      ensureTestAddresses([MX6]);
      dns = await startDnsFixture(
        {
          records: {
            'reject6.test': [{ type: 'MX', exchange: 'mx.reject6.test', priority: 10 }],
            'mx.reject6.test': [
              { type: 'A', address: MX4 },
              { type: 'AAAA', address: MX6 },
            ],
          },
        },
        { host: RESOLVER, port: 53 },
      );
      sinks = await startSmtpSinks([MX4, MX6], { [MX6]: { rcptReply: REJECTION } });
      // Postfix's maillog_file must be under /run; serve waits for it to appear.
      logDir = mkdtempSync('/run/mx4map-pflog-');
      const maillogPath = join(logDir, 'maillog');
      serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--dns', dns.spec, '--no-probe', '--delivery-log', maillogPath]);
      postfix = await startPostfixDaemon({
        resolver: RESOLVER,
        smtpPort: sinks[0].port,
        hostname: 'mx4map-test.example',
        maillogPath,
        main: [
          `transport_maps = ${snippetTable(serve.port)}`,
          'mydestination = $myhostname, localhost',
          'inet_protocols = all',
          'smtp_address_preference = ipv6',
        ],
      });
    }, 60_000);

    afterAll(async () => {
      await postfix?.close();
      await serve?.stop();
      await Promise.all((sinks ?? []).map((s) => s.close()));
      await dns?.close();
      if (added) spawnSync('ip', ['addr', 'del', `${MX4}/32`, 'dev', 'lo']);
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    });

    async function submit(to: string): Promise<void> {
      const { client } = await SmtpClient.connect('127.0.0.1', postfix.port);
      try {
        await client.command('EHLO client.example');
        await client.command('MAIL FROM:<sender@client.example>');
        expect(await client.command(`RCPT TO:<${to}>`)).toMatch(/^250 /);
        await client.command('DATA');
        expect(await client.command('Subject: test\r\n\r\nhello\r\n.')).toMatch(/^250 /);
        await client.command('QUIT');
      } finally {
        client.close();
      }
    }

    test('the first message bounces over IPv6; the evidence forces the domain; the next is delivered over IPv4', async () => {
      const [sink4, sink6] = sinks;
      await submit('a@reject6.test');
      await postfix.waitForLog(/to=<a@reject6\.test>, relay=mx\.reject6\.test\[2001:db8:ffff::1:95\]:\d+, .*dsn=5\.7\.25, status=bounced/);
      expect(await serve.waitFor('delivery-evidence', 10_000)).toMatchObject({
        domain: 'reject6.test',
        relay: 'mx.reject6.test',
        class: 'ptr',
        outcome: 'new',
      });
      await submit('b@reject6.test');
      await postfix.waitForLog(/to=<b@reject6\.test>, relay=192\.0\.2\.95\[192\.0\.2\.95\]:\d+, .*status=sent/);
      await until(() => sink4.messages.length === 1, 10_000, 'the message over IPv4');
      expect(sink4.messages.map((m) => m.to)).toEqual([['b@reject6.test']]);
      expect(sink6.rcpts).toEqual(['a@reject6.test']);
    }, 60_000);
  },
);
