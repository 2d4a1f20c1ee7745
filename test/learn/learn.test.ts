/**
 * `mx4map learn`: rejections for our IPv6 reverse DNS found in sendmail and Postfix log lines (the two
 * Google texts, freenet.de's, a bare 5.7.25), and the lines that must not count: the same complaint over
 * IPv4, another 5.7.1, a delivery, a connection failure. Pure parser tests, then the built CLI.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { patternFor, rejectionIn, summarise, unwrapped } from '../../src/learn/bounce-lines';
import { runCliAsync } from '../support/cli';

const LOG = join(__dirname, '..', 'fixtures', 'ipv6-ptr-rejections.maillog');
const lines = readFileSync(LOG, 'utf8').trim().split('\n');
const line = (needle: string): string => lines.find((l) => l.includes(needle)) ?? '';

describe('rejectionIn', () => {
  test('Postfix, Google 5.7.1 "IPv6 sending guidelines", its text wrapped across reply lines', () => {
    expect(rejectionIn(line('alice@'))).toEqual({
      domain: 'gmail.com',
      host: 'gmail-smtp-in.l.google.com',
      address: '2a00:1450:400c:c0b::1b',
      signal: 'google-ipv6-guidelines',
    });
  });
  test('Postfix, Google 5.7.25 "does not have a PTR record setup"', () => expect(rejectionIn(line('carol@'))?.signal).toBe('google-no-ptr'));
  test("a Workspace domain: its own name, Google's MX host (orig_to is not the recipient)", () => {
    expect(rejectionIn(line('dave@'))).toMatchObject({ domain: 'workspace-customer.example', host: 'aspmx.l.google.com' });
  });
  test('Postfix, freenet.de "inconsistent or no DNS PTR record"', () =>
    expect(rejectionIn(line('erin@'))).toMatchObject({ host: 'mx.freenet.de', signal: 'inconsistent-ptr' }));
  test('sendmail: a bare dsn=5.7.25 to an IPv6 relay (stock sendmail logs no reply text)', () => {
    expect(rejectionIn(line('frank@'))).toEqual({
      domain: 'gmail.com',
      host: 'gmail-smtp-in.l.google.com',
      address: '2a00:1450:400c:c0b::1a',
      signal: 'dsn-5.7.25',
    });
  });
  test('sendmail with reply= logging: the Google text', () =>
    expect(rejectionIn(line('grace@'))).toMatchObject({ host: 'alt1.aspmx.l.google.com', signal: 'google-ipv6-guidelines' }));
  test.each([
    ['the same 5.7.25 complaint over IPv4 (about our IPv4 address)', 'heidi@'],
    ['another 5.7.1 from Google (spam)', 'ivan@'],
    ['a delivery', 'judy@'],
    ['sendmail, dsn=5.7.1 with no text', 'ken@'],
    ['a queue manager line', 'qmgr'],
    ['a connection that timed out', 'lee@'],
  ])('not counted: %s', (_what, needle) => expect(rejectionIn(line(needle))).toBeUndefined());
  test('a line past 8 KB is not read', () => expect(rejectionIn(line('alice@') + ' '.repeat(9000))).toBeUndefined());
  test('wrapped replies are joined', () => expect(unwrapped('does 550-5.7.1 not meet')).toBe('does not meet'));
});

describe('summary and patterns', () => {
  test("by host, most rejections first; each host's parent as a .suffix pattern", () => {
    const hosts = summarise(lines.map(rejectionIn).filter((r) => r !== undefined));
    expect(hosts.map((h) => [h.host, h.count, h.pattern])).toEqual([
      ['gmail-smtp-in.l.google.com', 3, '.l.google.com'],
      ['alt1.aspmx.l.google.com', 1, '.aspmx.l.google.com'],
      ['aspmx.l.google.com', 1, '.l.google.com'],
      ['mx.freenet.de', 1, '.freenet.de'],
    ]);
    expect(hosts[0].domains).toEqual([['gmail.com', 3]]);
  });
  test('a host whose parent could be a registry suffix is its own pattern (never .co.uk)', () => {
    expect(patternFor('example.com')).toBe('example.com');
    expect(patternFor('mx.co.uk')).toBe('mx.co.uk');
    expect(patternFor('mx.gmx.net')).toBe('mx.gmx.net');
    expect(patternFor('mx1.provider.co.uk')).toBe('.provider.co.uk');
  });
});

describe('the learn command', () => {
  test('reports hosts, domains and coverage by the default strict_receivers; exit 0', async () => {
    const r = await runCliAsync(['learn', LOG, '--config', '']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${lines.length} lines read: 6 deliveries rejected over IPv6 for reverse DNS, by 4 MX host(s)`);
    expect(r.stdout).toMatch(/^gmail-smtp-in\.l\.google\.com {2}3 rejection\(s\) {2}covered by strict_receivers$/m);
    expect(r.stdout).toMatch(/^mx\.freenet\.de {2}1 rejection\(s\) {2}covered by strict_receivers$/m);
  });

  test('hosts strict_receivers does not cover get a suggestion, and --write puts the patterns in a file to include', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-learn-'));
    const target = join(dir, 'strict.list');
    const r = await runCliAsync(['learn', LOG, '--config', '', '--strict-receivers', '.freenet.de', '--write', target]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^gmail-smtp-in\.l\.google\.com {2}3 rejection\(s\) {2}not covered: suggest \.l\.google\.com$/m);
    const written = readFileSync(target, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(written.map((l) => l.split(/\s/)[0])).toEqual(['.l.google.com', '.aspmx.l.google.com', '.freenet.de']);
    // The file is a pattern file strict_receivers accepts.
    const check = await runCliAsync(['check-config', '--config', '', '--strict-receivers', target]);
    expect(check.status).toBe(0);
  });

  test('from stdin; nothing found: exit 1 and a line that says so', async () => {
    const r = await runCliAsync(['learn', '-', '--config', ''], {}, `${line('judy@')}\n${line('heidi@')}\n`);
    expect([r.status, r.stdout]).toEqual([1, '2 lines read: no mail rejected over IPv6 for reverse DNS (PTR) found\n']);
  });

  test('a missing log: one line naming it, exit 2', async () => {
    const r = await runCliAsync(['learn', '/nonexistent/maillog', '--config', '']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('mx4map: cannot read the log /nonexistent/maillog: no such file');
  });

  test('a directory: told to pipe instead', async () => {
    const r = await runCliAsync(['learn', tmpdir(), '--config', '']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('is not a regular file');
  });
});
