/** Bad command-line input to every command: one line on stderr naming what to fix, exit 2 — never a stack, never a half-done run. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli';

const LOG = join(__dirname, '..', 'fixtures', 'ipv6-ptr-rejections.maillog');

test.each([
  [['replay', tmpdir()], `mx4map: the replay input ${tmpdir()} is not a regular file`],
  [['replay', '/nonexistent/keys'], 'mx4map: cannot read the replay input /nonexistent/keys: no such file'],
  [['learn', tmpdir()], `mx4map: the log ${tmpdir()} is not a regular file (for a pipe or a compressed log use: zcat LOG.gz | mx4map learn -)`],
  [['export', '--format', 'xml'], 'mx4map: --format "xml" is not one of mailertable, transport (see mx4map export --help)'],
  [['query', '--bogus-flag', 'example.com'], 'mx4map: unknown flag --bogus-flag (see mx4map query --help)'],
  [
    ['lookup', '--dns', 'notaserver', 'example.com'],
    'mx4map: --dns has "notaserver": not an IP address with an optional port (192.0.2.53:53, [2001:db8::53]:53)',
  ],
  [['learn', '--write', '/nonexistent-dir/x.list', LOG], 'mx4map: cannot write --write /nonexistent-dir/x.list: the directory /nonexistent-dir does not exist'],
])('%j', (args, line) => {
  const r = runCli(args);
  expect({ status: r.status, stderr: r.stderr, stdout: r.stdout }).toEqual({ status: 2, stderr: `${line}\n`, stdout: '' });
});

test('--version names the Node.js inside', () => {
  expect(runCli(['--version']).stdout).toBe(`0.1.0 (Node.js ${process.versions.node})\n`);
});

test('learn --write into a directory that exists still writes, after the report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mx4map-learn-'));
  try {
    const r = runCli(['learn', '--write', join(dir, 'strict.list'), LOG]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`patterns written to ${join(dir, 'strict.list')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
