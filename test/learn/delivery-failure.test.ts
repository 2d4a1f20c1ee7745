/**
 * The one classifier of failed deliveries (learn and the delivery-log follower): which failures IPv4 cures,
 * in both MTAs' formats, and the lines that must never count.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyFailure } from '../../src/learn/delivery-failure';

const pf = (to: string, relay: string, dsn: string, status: string): string =>
  `Dec  4 10:00:00 mx1 postfix/smtp[100]: 4Xk2Lq1FZ9z9sT3: to=<${to}>, relay=${relay}, delay=1, delays=0/0/0.5/0.5, dsn=${dsn}, status=${status}`;
const sm = (to: string, relay: string, dsn: string, stat: string, reply?: string): string =>
  `Dec  4 10:00:00 mx1 sendmail[200]: 4B4A0xq004240: to=<${to}>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120437, relay=${relay}, dsn=${dsn}, ${reply ? `reply=${reply}, ` : ''}stat=${stat}`;

describe('bind: sendmail could not open an IPv6 socket (the original report)', () => {
  test('relay names the domain, brackets empty, EAFNOSUPPORT: it counts', () => {
    const line = sm('xxx@bad-domain.example', 'bad-domain.example. []', '4.0.0', 'Deferred: Address family not supported by protocol');
    expect(classifyFailure(line)).toMatchObject({
      mta: 'sendmail',
      domain: 'bad-domain.example',
      host: 'bad-domain.example',
      address: undefined,
      class: 'bind',
      signal: 'eafnosupport',
    });
  });
  test('the SYSERR line before it names no recipient: not a delivery, not evidence', () => {
    expect(
      classifyFailure(
        'Dec  4 10:00:00 mx1 sendmail[200]: 4B4A0xq004240: SYSERR(root): makeconnection: cannot bind socket [IPv6:2001:db8::2]: Address family not supported by protocol',
      ),
    ).toBeUndefined();
  });
});

describe('ptr: reverse-DNS rejections of our IPv6 address', () => {
  test.each([
    [
      'Microsoft 450 4.7.25',
      'mx.outlook.example',
      '4.7.25',
      'deferred (host tenant.mail.protection.outlook.com[2a01:111:f400::1] said: 450 4.7.25 Service unavailable, sending IPv6 address [2001:db8::25] must have reverse DNS record. (in reply to RCPT TO command))',
      'microsoft-reverse-dns',
    ],
    [
      'ImprovMX 550 5.7.25',
      'mx1.improvmx.com',
      '5.7.25',
      'bounced (host mx1.improvmx.com[2001:db8:9::1] said: 550 5.7.25 IP name lookup failed. No valid PTR record found (in reply to RCPT TO command))',
      'improvmx-ptr',
    ],
    [
      'Postfix reject_unknown_client_hostname',
      'mail.example.org',
      '5.7.1',
      'bounced (host mail.example.org[2001:db8:9::2] said: 554 5.7.1 <unknown[2001:db8::25]>: Client host rejected: cannot find your reverse hostname, [2001:db8::25] (in reply to RCPT TO command))',
      'postfix-unknown-client',
    ],
    [
      'Comcast',
      'mx1.comcast.net',
      '5.0.0',
      'bounced (host mx1.comcast.net[2001:558:fe21::1] said: 554 Comcast requires that all mail servers must have a PTR record with a valid Reverse DNS entry (in reply to MAIL FROM command))',
      'comcast-ptr',
    ],
    [
      'freenet.de, newer wording',
      'mx.freenet.de',
      '5.0.0',
      'bounced (host mx.freenet.de[2001:748:100:40::2:6] said: 550-Inconsistent/Missing DNS PTR record (RFC 1912 2.1) 550 (in reply to RCPT TO command))',
      'inconsistent-ptr',
    ],
  ])('Postfix: %s', (_name, host, dsn, status, signal) => {
    const address = /\[([0-9a-f:]+)\]/.exec(status)?.[1] as string;
    expect(classifyFailure(pf('u@customer.example', `${host}[${address}]:25`, dsn, status))).toMatchObject({ class: 'ptr', signal, host, address });
  });
  test('sendmail: a bare 4.7.25 to an IPv6 relay (written uncompressed)', () => {
    const line = sm('u@customer.example', 'mx.customer.example. [IPv6:2001:db8:0:0:0:0:0:28]', '4.7.25', 'Deferred: 450 4.7.25 Service unavailable');
    expect(classifyFailure(line)).toMatchObject({ class: 'ptr', signal: 'dsn-5.7.25', host: 'mx.customer.example', address: '2001:db8:0:0:0:0:0:28' });
  });
  test('sendmail 8.17 as it really logs a 450 4.7.25 at RCPT: dsn=4.2.0, the reply text says why', () => {
    const line =
      'Dec  4 21:43:05 mx sendmail[2711]: 6B4Lh51n002711: to=<u@customer6.test>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=30038, relay=mx.customer6.test. [IPv6:2001:db8:ffff:0:0:0:1:90], dsn=4.2.0, reply=450 4.7.25 Service unavailable, sending IPv6 address [2001:db8:ffff::1:90] must have reverse DNS record., stat=Deferred: 450 4.7.25 Service unavailable, sending IPv6 address [2001:db8:ffff::1:90] must have reverse DNS record.';
    expect(classifyFailure(line)).toMatchObject({ domain: 'customer6.test', host: 'mx.customer6.test', class: 'ptr', signal: 'microsoft-reverse-dns' });
  });
  test("the project's fixture log: every rejection learn reports is a ptr failure", () => {
    const lines = readFileSync(join(__dirname, '..', 'fixtures', 'ipv6-ptr-rejections.maillog'), 'utf8')
      .trim()
      .split('\n');
    expect(
      lines
        .map(classifyFailure)
        .filter((f) => f?.class === 'ptr')
        .map((f) => f?.domain),
    ).toEqual(['gmail.com', 'gmail.com', 'workspace-customer.example', 'freenet.de', 'gmail.com', 'workspace-customer.example']);
  });
});

describe('auth6 and connect', () => {
  test('Microsoft 4.7.26 (SPF/DKIM) over IPv6', () => {
    const status =
      'deferred (host t.mail.protection.outlook.com[2a01:111:f400::2] said: 450 4.7.26 Service unavailable, message sent over IPv6 [2001:db8::25] must pass either SPF or DKIM validation (in reply to end of DATA command))';
    expect(classifyFailure(pf('u@t.example', 't.mail.protection.outlook.com[2a01:111:f400::2]:25', '4.7.26', status))).toMatchObject({
      class: 'auth6',
      signal: 'microsoft-spf-dkim',
    });
  });
  test('Postfix relay=none: the address of the failed IPv6 connect is read from its own text', () => {
    const line = pf('u@c.example', 'none', '4.4.1', 'deferred (connect to mx.c.example[2001:db8:7::1]:25: Connection timed out)');
    expect(classifyFailure(line)).toMatchObject({ class: 'connect', signal: 'connection-timed-out', host: 'mx.c.example', address: '2001:db8:7::1' });
  });
  test('sendmail: connection refused by an IPv6 relay', () => {
    const line = sm('u@c.example', 'mx.c.example. [IPv6:2001:db8:7:0:0:0:0:1]', '4.0.0', 'Deferred: Connection refused by mx.c.example.');
    expect(classifyFailure(line)).toMatchObject({ class: 'connect', signal: 'connection-refused', address: '2001:db8:7:0:0:0:0:1' });
  });
});

describe('never evidence', () => {
  test.each([
    [
      'the same PTR complaint over IPv4',
      pf(
        'u@gmail.com',
        'gmail-smtp-in.l.google.com[142.250.102.26]:25',
        '5.7.25',
        'bounced (host x[142.250.102.26] said: 550 5.7.25 does not have a PTR record setup)',
      ),
    ],
    [
      'greylisting over IPv6',
      pf(
        'u@g.example',
        'mx.g.example[2001:db8:3::1]:25',
        '4.2.0',
        'deferred (host mx.g.example[2001:db8:3::1] said: 450 4.2.0 <u@g.example>: Recipient address rejected: Greylisted, see http://postgrey.example (in reply to RCPT TO command))',
      ),
    ],
    [
      'an unknown user over IPv6',
      pf(
        'u@g.example',
        'mx.g.example[2001:db8:3::1]:25',
        '5.1.1',
        'bounced (host mx.g.example[2001:db8:3::1] said: 550 5.1.1 <u@g.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))',
      ),
    ],
    ['a delivery over IPv6', pf('u@g.example', 'mx.g.example[2001:db8:3::1]:25', '2.0.0', 'sent (250 2.0.0 Ok: queued as 1234)')],
    ['a sendmail delivery', sm('u@g.example', 'mx.g.example. [IPv6:2001:db8:3:0:0:0:0:1]', '2.0.0', 'Sent (Ok: queued as 1234)')],
    ['a connect timeout over IPv4', pf('u@c.example', 'none', '4.4.1', 'deferred (connect to mx.c.example[192.0.2.7]:25: Connection timed out)')],
    [
      'a PTR text in the reply of an IPv4 relay from sendmail',
      sm('u@g.example', 'mx.g.example. [192.0.2.9]', '5.7.25', 'Service unavailable', '550 5.7.25 reverse DNS missing'),
    ],
    [
      'EAFNOSUPPORT text after a reached address',
      sm('u@g.example', 'mx.g.example. [192.0.2.9]', '4.0.0', 'Deferred: Address family not supported by protocol'),
    ],
  ])('%s', (_name, line) => expect(classifyFailure(line)).toBeUndefined());

  test('a reply text that imitates fields cannot change the relay or the domain', () => {
    const status =
      'deferred (host mx.g.example[2001:db8:3::1] said: 450 4.7.25 must have reverse DNS record, relay=victim.example[2001:db8::66]:25, to=<x@victim.example>)';
    expect(classifyFailure(pf('u@g.example', 'mx.g.example[2001:db8:3::1]:25', '4.7.25', status))).toMatchObject({ domain: 'g.example', host: 'mx.g.example' });
  });
});
