/** `mx4map replay` against the built serve with the fixture DNS. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliAsync } from '../support/cli';
import { type ServeRig, startServeRig } from '../support/serve-rig';

let rig: ServeRig;
let http: string;
const dir = mkdtempSync(join(tmpdir(), 'mx4map-replay-'));

beforeAll(async () => {
  rig = await startServeRig(['--http', '127.0.0.1:0', '--no-probe']);
  http = rig.http as string;
});
afterAll(() => rig.close());

const replay = (file: string, ...args: string[]) => runCliAsync(['replay', '--connect', `inet:${rig.serve.port}@127.0.0.1`, ...args, file]);

test('maillog lines are replayed as sendmail asks its mailertable for recipients: full name, then the walk only while not OK', async () => {
  const log = join(dir, 'maillog');
  writeFileSync(
    log,
    [
      'Nov 25 10:00:01 mx sendmail[1]: q1: from=<a@ipv6-ok.test>, size=1, class=0, nrcpts=1, msgid=<x@y.test>, proto=ESMTP',
      'Nov 25 10:00:02 mx sendmail[2]: q1: to=<b@cname-mx.test>,<c@nxdomain.test>, delay=00:00:01, mailer=esmtp, stat=Sent',
    ].join('\n'),
  );
  const r = await replay(log, '--verbose', '--concurrency', '1');
  expect(r.status).toBe(0);
  const asked = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('mailertable '))
    .map((l) => l.split('\t').slice(0, 2).join('\t'));
  expect(asked).toEqual([
    'mailertable cname-mx.test\tOK esmtp:[192.0.2.10]',
    'mailertable nxdomain.test\tNOTFOUND',
    'mailertable .test\tNOTFOUND',
    'mailertable .\tNOTFOUND',
  ]);
  expect(r.stdout).toMatch(/^replayed {2}4 lookups \(2 chains\) in [\d.]+ s: \d+ lookups\/s over 1 connections$/m);
  expect(r.stdout).toMatch(/^replies {3}OK 1, NOTFOUND 3, TEMP 0, TIMEOUT 0, PERM 0$/m);
  expect(r.stdout).toMatch(/^skipped {3}1 log lines without a recipient/m);
  expect(r.stdout).toMatch(/^latency {3}p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms$/m);
});

test('plain keys from stdin ("-"), with --http as serve takes it (HOST:PORT): reasons, cache hit ratio and DNS queries per lookup', async () => {
  const lines = ['no-aaaa.test', 'transport user@no-aaaa.test', 'multi.test', 'multi.test', 'multi.test', '*', 'nomap x.test'];
  const hostPort = http.replace(/^http:\/\//, '');
  const r = await runCliAsync(
    ['replay', '-', '--connect', `inet:${rig.serve.port}@127.0.0.1`, '--http', hostPort, '--concurrency', '1'],
    {},
    `${lines.join('\n')}\n`,
  );
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/^replies {3}OK 5, NOTFOUND 1, TEMP 0, TIMEOUT 0, PERM 1$/m);
  expect(r.stdout).toMatch(/^reasons {3}OK no-aaaa 5, .*NOTFOUND wildcard 1/m);
  expect(r.stdout).toMatch(/^server {4}cache hit ratio 60\.0% of 5 decisions asked; [\d.]+ DNS queries per lookup$/m);
});

test('--rate: every lookup is still made (the pacing itself: test/replay/pacer.test.ts)', async () => {
  const keys = join(dir, 'paced');
  writeFileSync(keys, Array.from({ length: 20 }, () => 'cname-mx.test').join('\n'));
  const r = await replay(keys, '--rate', '100', '--concurrency', '4');
  expect(r.stdout).toMatch(/^replayed {2}20 lookups/m);
});

test('a missing input file: one line, exit 2', async () => {
  const r = await replay(join(dir, 'nope'));
  expect(r.status).toBe(2);
  expect(r.stderr).toBe(`mx4map: cannot read the replay input ${join(dir, 'nope')}: no such file\n`);
});
