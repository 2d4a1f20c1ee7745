/**
 * The positional reader of delivery lines: fields only where the MTA writes them, never found in the reply
 * text a remote server chose, and time linear in the line however it is crafted.
 */
import { Readable } from 'node:stream';
import { MAX_LINE, parseDeliveryLine } from '../../src/learn/delivery-line';
import { rejectionIn } from '../../src/learn/bounce-lines';
import { type LineCounts, logLines } from '../../src/learn/log-lines';

const SENDMAIL = 'Nov 24 09:15:00 mx1 sm-mta[4242]: 4AO9F0xq004240:';
const POSTFIX = 'Nov 24 09:12:01 mx1 postfix/smtp[21733]: 4Xk2Lq1FZ9z9sT3:';

describe('parseDeliveryLine', () => {
  test('Postfix: recipient, relay, dsn, status and the reply text', () => {
    expect(
      parseDeliveryLine(
        `${POSTFIX} to=<a@Example.COM>, relay=mx.example.com[2001:db8::1]:25, delay=1, delays=0/0/0/1, dsn=4.7.25, status=deferred (host mx.example.com[2001:db8::1] said: 450 4.7.25 Service unavailable)`,
      ),
    ).toEqual({
      mta: 'postfix',
      domain: 'example.com',
      host: 'mx.example.com',
      address: '2001:db8::1',
      dsn: '4.7.25',
      status: 'deferred',
      text: 'host mx.example.com[2001:db8::1] said: 450 4.7.25 Service unavailable',
    });
  });

  test("sendmail: the original report's own lines (empty brackets, a deferral) and a list of recipients", () => {
    expect(
      parseDeliveryLine(
        `${SENDMAIL} to=<xxx@bad-domain.example>, delay=04:23:07, xdelay=00:00:00, mailer=esmtp, pri=11918385, relay=bad-domain.example. [], dsn=4.0.0, stat=Deferred: Address family not supported by protocol`,
      ),
    ).toEqual({
      mta: 'sendmail',
      domain: 'bad-domain.example',
      host: 'bad-domain.example',
      address: undefined,
      dsn: '4.0.0',
      status: 'Deferred',
      text: 'Deferred: Address family not supported by protocol',
    });
    expect(
      parseDeliveryLine(
        `${SENDMAIL} to=<a@one.example>,<b@one.example>, ctladdr=<root@x> (0/0), delay=00:00:01, mailer=esmtp, relay=[192.0.2.10] [192.0.2.10], dsn=2.0.0, stat=Sent (ok)`,
      ),
    ).toMatchObject({
      domain: 'one.example',
      host: undefined,
      address: '192.0.2.10',
    });
  });

  test('the reply text cannot choose the relay: an IPv4 delivery quoting an IPv6 relay is not an IPv6 rejection', () => {
    const line = `${SENDMAIL} to=<a@bank.example>, delay=00:00:01, mailer=esmtp, relay=mx.bank.example. [192.0.2.7], dsn=4.7.25, reply=421 relay=mx.bigbank-example.com[2001:db8::1]:25 PTR records, stat=Deferred: 421 relay=mx.bigbank-example.com[2001:db8::1]:25 does not have a PTR record setup`;
    expect(parseDeliveryLine(line)).toMatchObject({ host: 'mx.bank.example', address: '192.0.2.7' });
    expect(rejectionIn(line)).toBeUndefined();
  });

  test('a relay that is not a host name is not read at all (it would have been written into a pattern file)', () => {
    expect(parseDeliveryLine(`${POSTFIX} to=<a@example.com>, relay=/etc/shadow[2001:db8::1]:25, dsn=5.7.25, status=bounced (x)`)).toBeUndefined();
    expect(parseDeliveryLine(`${SENDMAIL} to=<a@example.com>, relay=/etc/shadow. [IPv6:2001:db8::1], dsn=5.7.25, stat=Service unavailable`)).toBeUndefined();
  });

  test('fields are taken only from a delivery line: not from a HELO in an smtpd reject, nor from a line of another program', () => {
    expect(
      parseDeliveryLine(
        'Nov 24 09:00:00 mx1 postfix/smtpd[9]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554 5.7.1 rejected; from=<a@b> to=<c@d> proto=ESMTP helo=<h: to=<v@victim.example>, relay=evil.example[2001:db8::1]:25, dsn=5.7.25, status=bounced (x)>',
      ),
    ).toBeUndefined();
    expect(
      parseDeliveryLine('Nov 24 09:00:00 mx1 myapp[9]: 4Xk2Lq1FZ9z9sT3: to=<a@b.example>, relay=mx.b.example[2001:db8::1]:25, dsn=5.7.25, status=bounced (x)'),
    ).toBeUndefined();
  });

  test('time stays linear on crafted lines up to the line cap (cubic before: 7.2 s at 8 KB)', () => {
    const crafted = (bytes: number): string[] => [
      `${POSTFIX} to=<${'to=a@'.repeat(bytes / 5)}>, relay=x[::1]:25, status=bounced (x)`,
      `relay=x ${'to=a@'.repeat(bytes / 5)}`,
      `${SENDMAIL} ${'to=a@,'.repeat(bytes / 6)}`,
      `${SENDMAIL} to=<a@b.example>, ${'x=y, '.repeat(bytes / 5)}stat=x`,
      `${POSTFIX} to=<a@b.example>, relay=${'['.repeat(bytes)}`,
      `${'a]: '.repeat(bytes / 4)}`,
    ];
    const time = (bytes: number): number => {
      const lines = crafted(bytes).map((l) => l.slice(0, MAX_LINE));
      const started = performance.now();
      for (let i = 0; i < 50; i++) for (const l of lines) parseDeliveryLine(l), rejectionIn(l);
      return performance.now() - started;
    };
    time(2048); // warm-up
    const small = Math.max(time(2048), 1);
    const large = time(8192);
    // Four times the bytes: linear costs about 4×, quadratic 16×, cubic 64×.
    expect(large / small).toBeLessThan(12);
    expect(large).toBeLessThan(2000);
  });
});

describe('logLines', () => {
  test('lines up to the cap are given; longer ones are skipped and counted, however they are split', async () => {
    const counts: LineCounts = { lines: 0, skipped: 0 };
    const input = Readable.from([Buffer.from('one\r\ntw'), Buffer.from(`o\n${'x'.repeat(20)}`), Buffer.from(`${'x'.repeat(20)}\nthree`)]);
    const lines: string[] = [];
    for await (const l of logLines(input, 16, counts)) lines.push(l);
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(counts).toEqual({ lines: 4, skipped: 1 });
  });

  test('a line of 64 MB without a newline: skipped, counted, never held whole', async () => {
    const counts: LineCounts = { lines: 0, skipped: 0 };
    const chunk = Buffer.alloc(1 << 20, 0x41);
    const input = Readable.from(
      (function* () {
        for (let i = 0; i < 64; i++) yield chunk;
        yield Buffer.from('\nlast line\n');
      })(),
    );
    const before = process.memoryUsage().rss;
    const lines: string[] = [];
    for await (const l of logLines(input, MAX_LINE, counts)) lines.push(l);
    expect(lines).toEqual(['last line']);
    expect(counts).toEqual({ lines: 2, skipped: 1 });
    expect((process.memoryUsage().rss - before) / 2 ** 20).toBeLessThan(48);
  });
});
