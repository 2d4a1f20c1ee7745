/**
 * Closing the loop with the real sendmail: a receiver that greets over IPv6 and then rejects our IPv6
 * address at RCPT (`450 4.7.25 … must have reverse DNS record`, as Exchange Online does). DNS shows nothing
 * wrong, so no DNS trigger fires. sendmail defers the message over IPv6 and logs it; mx4map, following that
 * log, forces the domain onto IPv4; the next queue run delivers over IPv4 and the IPv6 receiver never sees
 * a second attempt. Without mx4map, sendmail would meet the same rejection on every queue run.
 *
 * Needs root (namespaces, port 53, test addresses on lo), sendmail-bin, sendmail-cf, m4, iproute2.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServeProcess } from '../support/cli';
import { startServe } from '../support/cli';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { describeRequiring } from '../support/requires';
import { type SendmailDaemon, sendmailMissing, startSendmailDaemon } from '../support/sendmail';
import { SmtpClient, type SmtpSink, startSmtpSinks } from '../support/smtp-sink';
import { ensureTestAddresses, testIpv6 } from '../support/test-addresses';
import { until } from '../support/until';

const MX4 = '192.0.2.96';
const MX6 = testIpv6(0x90);
const RESOLVER = '127.0.0.156'; // each suite its own resolver address: suites may run side by side
const REJECTION = `450 4.7.25 Service unavailable, sending IPv6 address [${MX6}] must have reverse DNS record.`;

function missing(): string | undefined {
  return sendmailMissing() ?? (spawnSync('ip', ['-V']).status === 0 ? undefined : 'iproute2 (ip) is not installed');
}

describeRequiring(missing(), 'real-sendmail delivery-log tests')(
  'sendmail deferred over IPv6 by a reverse-DNS rejection: mx4map reads its log and the next queue run goes over IPv4',
  () => {
    let dns: DnsFixture;
    let sinks: SmtpSink[];
    let serve: ServeProcess;
    let sendmail: SendmailDaemon;
    let added = false;
    let logDir: string | undefined;

    beforeAll(async () => {
      added = spawnSync('ip', ['addr', 'add', `${MX4}/32`, 'dev', 'lo']).status === 0;
      ensureTestAddresses([MX6]);
      dns = await startDnsFixture(
        {
          records: {
            'customer6.test': [{ type: 'MX', exchange: 'mx.customer6.test', priority: 10 }],
            'mx.customer6.test': [
              { type: 'A', address: MX4 },
              { type: 'AAAA', address: MX6 },
            ],
          },
        },
        { host: RESOLVER, port: 53 },
      );
      sinks = await startSmtpSinks([MX4, MX6], { [MX6]: { rcptReply: REJECTION } });
      // serve follows the maillog sendmail's syslog will write: it waits for the file, then reads it from its start.
      logDir = mkdtempSync(join(tmpdir(), 'mx4map-maillog-'));
      const maillogPath = join(logDir, 'maillog');
      serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--dns', dns.spec, '--no-probe', '--delivery-log', maillogPath]);
      sendmail = await startSendmailDaemon({ mapSpec: `inet:${serve.port}@127.0.0.1`, resolver: RESOLVER, mailerPort: sinks[0].port, maillogPath });
    });

    afterAll(async () => {
      await sendmail?.close();
      await serve?.stop();
      await Promise.all((sinks ?? []).map((s) => s.close()));
      await dns?.close();
      if (added) spawnSync('ip', ['addr', 'del', `${MX4}/32`, 'dev', 'lo']);
      if (logDir) rmSync(logDir, { recursive: true, force: true });
    });

    test('first attempt deferred over IPv6; evidence from the log; the queue run delivers over IPv4, once', async () => {
      const [sink4, sink6] = sinks;
      const { client } = await SmtpClient.connect('127.0.0.1', sendmail.port);
      try {
        await client.command('EHLO client.example');
        expect(await client.command('MAIL FROM:<sender@mx4map-test.example>')).toMatch(/^250 /);
        expect(await client.command('RCPT TO:<u@customer6.test>')).toMatch(/^250 /);
        expect(await client.command('DATA')).toMatch(/^354 /);
        expect(await client.command('Subject: over IPv4, in the end\r\n\r\nhello\r\n.')).toMatch(/^250 /);
        await client.command('QUIT');
      } finally {
        client.close();
      }
      // sendmail tried IPv6 and was rejected: deferred, and logged.
      // (sendmail logs dsn=4.2.0 for a 450 at RCPT whatever enhanced code the reply carries: the text decides.)
      await until(
        () => /to=<u@customer6\.test>.*relay=mx\.customer6\.test\. \[IPv6:.*stat=Deferred: 450 4\.7\.25/.test(sendmail.maillog()),
        20_000,
        "sendmail's deferral in its log",
      );
      expect(sink6.rcpts).toEqual(['u@customer6.test']);
      expect(sink4.messages).toEqual([]);
      // mx4map read it: the domain is forced, by the log.
      const evidence = await serve.waitFor('delivery-evidence', 10_000);
      expect(evidence).toMatchObject({ domain: 'customer6.test', relay: 'mx.customer6.test', class: 'ptr', outcome: 'new' });
      await sendmail.runQueue();
      await until(() => sink4.messages.length === 1, 20_000, 'delivery over IPv4');
      expect(sink4.messages[0].to).toEqual(['u@customer6.test']);
      expect(sink6.rcpts).toEqual(['u@customer6.test']); // no second attempt over IPv6
      // sendmail logs the delivery after the sink has the message (once the reply to DATA is in): waited for.
      const sent = /to=<u@customer6\.test>.*relay=\[192\.0\.2\.96\] \[192\.0\.2\.96\].*stat=Sent/;
      await until(() => sent.test(sendmail.maillog()), 20_000, "sendmail's delivery over IPv4 in its log");
      expect(sendmail.maillog()).toMatch(sent);
    }, 60_000);
  },
);
