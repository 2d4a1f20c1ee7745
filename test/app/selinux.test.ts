/**
 * SELinux: a UNIX socket listener on an enforcing system gets one warning naming the fix, from check-config
 * and from serve; TCP, or a system without SELinux (or permissive), gets none.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selinuxEnforcing, selinuxSocketWarning } from '../../src/app/selinux';
import { CLI, cleanEnv } from '../support/cli';
import { describeRequiring } from '../support/requires';

const enforceFile = (content: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'mx4map-selinux-')), 'enforce');
  writeFileSync(path, content);
  return path;
};

test('enforcing only when the enforce file reads 1: permissive, absent or unreadable is not', () => {
  expect(selinuxEnforcing(enforceFile('1'))).toBe(true);
  expect(selinuxEnforcing(enforceFile('0'))).toBe(false);
  expect(selinuxEnforcing(join(tmpdir(), 'no-such-dir', 'enforce'))).toBe(false);
});

test('the warning names the sockets and the fix, and only when both apply', () => {
  expect(selinuxSocketWarning(['/run/mx4map/mx4map.sock'], true)).toMatch(
    /^SELinux is enforcing: sendmail and Postfix may not connect to the UNIX socket \/run\/mx4map\/mx4map\.sock .*listen on inet:8425@127\.0\.0\.1 instead/,
  );
  expect(selinuxSocketWarning([], true)).toBeUndefined();
  expect(selinuxSocketWarning(['/run/mx4map/mx4map.sock'], false)).toBeUndefined();
});

/** check-config as on an enforcing system: a private mount namespace where /sys/fs/selinux/enforce reads 1. */
function checkConfigUnderSelinux(listen: string): { status: number | null; stdout: string; stderr: string } {
  const script = 'mount -t tmpfs none /sys/fs && mkdir /sys/fs/selinux && echo 1 > /sys/fs/selinux/enforce && exec "$@"';
  const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', process.execPath, CLI, 'check-config', '--listen', listen], {
    encoding: 'utf8',
    env: cleanEnv(),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'a private mount namespace needs root';
  if (spawnSync('unshare', ['-m', 'true']).status !== 0) return '`unshare -m` is not permitted here';
  return undefined;
}

describeRequiring(whyNot(), 'the SELinux suite needs root and unshare -m')('on an enforcing system (its enforce file in a private mount namespace)', () => {
  test('a UNIX listener: one warning naming the fix; loopback TCP: none', () => {
    const unix = checkConfigUnderSelinux(`unix:${mkdtempSync(join(tmpdir(), 'mx4map-selinux-'))}/mx4map.sock`);
    expect({ status: unix.status, stderr: unix.stderr }).toEqual({ status: 0, stderr: '' });
    expect(unix.stdout.split('\n').filter((l) => l.includes('SELinux'))).toEqual([
      expect.stringMatching(/^warning: SELinux is enforcing: .*inet:8425@127\.0\.0\.1/),
    ]);
    const tcp = checkConfigUnderSelinux('inet:8425@127.0.0.1');
    expect({ status: tcp.status, selinux: tcp.stdout.includes('SELinux') }).toEqual({ status: 0, selinux: false });
  });

  test('serve with a UNIX listener logs the same warning once it listens', async () => {
    const socket = `${mkdtempSync(join(tmpdir(), 'mx4map-selinux-'))}/mx4map.sock`;
    const script = 'mount -t tmpfs none /sys/fs && mkdir /sys/fs/selinux && echo 1 > /sys/fs/selinux/enforce && exec "$@"';
    const child = spawn(
      'unshare',
      ['-m', 'sh', '-c', script, 'sh', process.execPath, CLI, 'serve', '--listen', `unix:${socket}`, '--dns', '127.0.0.1:9', '--no-probe'],
      { stdio: ['ignore', 'pipe', 'inherit'], env: cleanEnv() },
    );
    const lines: Array<{ evt?: string; msg?: string }> = [];
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (const line of buffered.split('\n').slice(0, -1)) lines.push(JSON.parse(line));
        buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
        if (lines.some((l) => l.evt === 'listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`serve exited with ${code}`)));
    });
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    expect(lines.filter((l) => l.evt === 'selinux-unix-socket').map((l) => l.msg)).toEqual([expect.stringContaining(`the UNIX socket ${socket}`)]);
  });
});
