/**
 * The real sendmail as an SMTP daemon (sendmail -bD) routing with mx4map, when one lookup outlives
 * sendmail's -d5: inside an SMTP session sendmail keeps the map connection after a read timeout, so a reply
 * written late would be read as the answer to its next lookup and route another domain's mail to the first
 * domain's forced address. mx4map must never write that reply.
 *
 * Needs root (a private mount namespace for sendmail's resolv.conf, port 53 for the fixture DNS, two
 * documentation addresses on lo for the SMTP sinks), sendmail-bin, sendmail-cf, m4 and iproute2.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import type { ServeProcess } from '../support/cli';
import { startServe } from '../support/cli';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { type SendmailDaemon, sendmailMissing, startSendmailDaemon } from '../support/sendmail';
import { SmtpClient, type SmtpSink, startSmtpSinks } from '../support/smtp-sink';
import { describeRequiring } from '../support/requires';
import { runCliAsync } from '../support/cli';
import { until } from '../support/until';

const FORCED = '192.0.2.80'; // cname6.test's route, forced by mx4map
const OWN_MX = '192.0.2.81'; // good6.test's own MX host
const RESOLVER = '127.0.0.153';

function missing(): string | undefined {
  return sendmailMissing() ?? (spawnSync('ip', ['-V']).status === 0 ? undefined : 'iproute2 (ip) is not installed');
}

const describeWithSendmail = describeRequiring(missing(), 'real-sendmail SMTP daemon tests');

describeWithSendmail('sendmail -bD with Kmailertable socket -t -d5: a lookup past -d5 never misroutes the next recipient', () => {
  let dns: DnsFixture;
  let sinks: SmtpSink[];
  let serve: ServeProcess;
  let sendmail: SendmailDaemon;
  const added: string[] = [];

  beforeAll(async () => {
    for (const address of [FORCED, OWN_MX]) {
      if (spawnSync('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo']).status === 0) added.push(address);
    }
    dns = await startDnsFixture(
      {
        records: {
          'cname6.test': [{ type: 'MX', exchange: 'mail.cname6.test', priority: 10 }],
          'mail.cname6.test': [{ type: 'CNAME', target: 'real.cname6.test' }],
          'real.cname6.test': [{ type: 'A', address: FORCED }],
          'good6.test': [{ type: 'MX', exchange: 'mx.good6.test', priority: 10 }],
          'mx.good6.test': [{ type: 'A', address: OWN_MX }],
        },
      },
      { host: RESOLVER, port: 53 },
    );
    sinks = await startSmtpSinks([FORCED, OWN_MX]);
    serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--dns', dns.spec, '--triggers', 'cname-mx', '--no-probe']);
    sendmail = await startSendmailDaemon({ mapSpec: `inet:${serve.port}@127.0.0.1`, resolver: RESOLVER, mailerPort: sinks[0].port });
  });

  afterAll(async () => {
    if (serve?.child.exitCode === null) serve.child.kill('SIGCONT');
    await sendmail?.close();
    await serve?.stop();
    await Promise.all((sinks ?? []).map((s) => s.close()));
    await dns?.close();
    for (const address of added) execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
  });

  test("RCPT a@cname6.test times out (451) while mx4map is stopped; b@good6.test then goes to its own MX, never to cname6.test's route", async () => {
    const { client, greeting } = await SmtpClient.connect('127.0.0.1', sendmail.port);
    try {
      expect(greeting).toMatch(/^220 /);
      expect(await client.command('EHLO client.example')).toMatch(/^250[ -]/);
      expect(await client.command('MAIL FROM:<sender@mx4map-test.example>')).toMatch(/^250 /);
      serve.child.kill('SIGSTOP'); // a paused process: the lookup outlives sendmail's -d5
      const first = await client.command('RCPT TO:<a@cname6.test>');
      expect(first).toMatch(/^451 4\.3\.0 .*socket_map_lookup\(mailertable\): read timeout/);
      serve.child.kill('SIGCONT'); // mx4map now reads the abandoned request; its reply would be 5 s late
      // It does not write it: the connection is closed instead (reply_max_age), and says so.
      await serve.waitFor('stale-reply', 10_000);
      expect(await client.command('RCPT TO:<b@good6.test>')).toMatch(/^250 /);
      expect(await client.command('DATA')).toMatch(/^354 /);
      expect(await client.command('Subject: for good6\r\n\r\nhello\r\n.')).toMatch(/^250 /);
      await client.command('QUIT');
    } finally {
      client.close();
    }
    const [forcedSink, ownSink] = sinks;
    expect(ownSink.messages.map((m) => m.to)).toEqual([['b@good6.test']]);
    expect(forcedSink.messages).toEqual([]);
    expect(serve.lines.filter((l) => l.evt === 'stale-reply')).toEqual([expect.objectContaining({ ageMs: expect.any(Number) })]);
  }, 60_000);

  test("its own maillog, replayed from stdin: recipient lines become sendmail's lookups; the other lines are skipped and counted", async () => {
    const { client } = await SmtpClient.connect('127.0.0.1', sendmail.port);
    try {
      await client.command('EHLO client.example');
      await client.command('MAIL FROM:<sender@mx4map-test.example>');
      expect(await client.command('RCPT TO:<c@cname6.test>')).toMatch(/^250 /);
      expect(await client.command('RCPT TO:<d@good6.test>')).toMatch(/^250 /);
      await client.command('DATA');
      expect(await client.command('Subject: two\r\n\r\nhello\r\n.')).toMatch(/^250 /);
      await client.command('QUIT');
    } finally {
      client.close();
    }
    await until(() => /to=<c@cname6\.test>.*stat=Sent/.test(sendmail.maillog()), 10_000, "sendmail's log line for c@cname6.test");
    const maillog = sendmail.maillog();
    expect(maillog).toMatch(/^\w{3} [ \d]\d \d\d:\d\d:\d\d mx sendmail\[\d+\]: \w+: from=<sender@mx4map-test\.example>/m);
    const r = await runCliAsync(['replay', '--connect', `inet:${serve.port}@127.0.0.1`, '--verbose', '--concurrency', '1', '-'], {}, maillog);
    expect(r.stderr).toBe('');
    const asked = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('mailertable '))
      .map((l) => l.split('\t').slice(0, 2).join('\t'));
    expect(asked).toContain('mailertable cname6.test\tOK esmtp:[192.0.2.80]');
    expect(asked).toContain('mailertable good6.test\tNOTFOUND');
    expect(asked.every((l) => /^mailertable (\.|[a-z0-9.]+\.test|\.test)\t/.test(l))).toBe(true); // no month, no host name
    expect(r.stdout).toMatch(/PERM 0$/m);
    expect(Number(/^skipped {3}(\d+) log lines without a recipient/m.exec(r.stdout)?.[1])).toBeGreaterThan(0);
  }, 60_000);
});
