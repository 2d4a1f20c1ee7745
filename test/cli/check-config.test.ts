import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, cleanEnv, runCli, runCliUnderLimit } from '../support/cli';

function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mx4map-cc-')), 'mx4map.yml');
  writeFileSync(path, text);
  return path;
}

function effective(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.trim().split('\n').slice(0, -1)) {
    const m = /^(\S+)\s+(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

describe('mx4map check-config', () => {
  test('prints every effective value and says OK', () => {
    const r = runCli(['check-config']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').pop()).toBe('configuration OK');
    expect(effective(r.stdout)).toMatchObject({
      listen: 'inet:8425@127.0.0.1',
      max_connections: 'auto',
      reply_max_age: '4s',
      request_timeout: '10s',
      idle_timeout: '0',
      socket_mode: '0660',
    });
  });

  test('warns when a UNIX socket would sit in a world-writable directory sendmail refuses, not when it would not', () => {
    const open = runCli(['check-config', '--listen', 'unix:/tmp/mx4map-check.sock']);
    expect(open.status).toBe(0);
    expect(open.stdout).toMatch(/^warning: the UNIX socket directory \/tmp is group- or world-writable: sendmail refuses a socket map there .*\/run\/mx4map$/m);
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-sockdir-'));
    expect(runCli(['check-config', '--listen', `unix:${dir}/mx4map.sock`]).stdout).not.toMatch(/socket directory/);
  });

  test('names the configuration file it read, or that it read none', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cc-'));
    const file = join(dir, 'mx4map.yml');
    writeFileSync(file, 'deadline: 2s\n');
    expect(runCli(['check-config', '--config', file]).stdout.split('\n')[0]).toMatch(new RegExp(`^\\(file\\) +${file}$`));
    expect(runCli(['check-config'], { MX4MAP_CONFIG: '' }).stdout.split('\n')[0]).toMatch(/^\(file\) +none \(defaults, MX4MAP_\* variables and flags only\)$/);
  });

  test('shows the connection cap auto derives from the open-file limit, and how', () => {
    const r = runCliUnderLimit(['check-config'], 2048);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^\(connection cap\) +1648 connections \(open-file limit 2048; 400 reserved: 256 DNS sockets, 64 probes, 16 ops connections, 64 files and listeners\)$/m,
    );
  });

  test('warns when a fixed max_connections leaves too little of the open-file limit', () => {
    const r = runCliUnderLimit(['check-config', '--max-connections', '2000'], 2048);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('warning: max_connections 2000 leaves less than 400 of the open-file limit 2048 for DNS, probes and files');
  });

  test('says which IPv6 source sender-ipv6-unready would check, and warns when ipv6_source is set with the trigger off', () => {
    const found = runCli(['check-config']);
    expect(found.stdout).toMatch(/^\(ipv6 source\) +(none found: sender-ipv6-unready stays inert|[0-9a-f:]+ \(the kernel's choice; serve checks its PTR\))$/m);
    const configured = runCli(['check-config', '--ipv6-source', '2001:db8::25']);
    expect(configured.stdout).not.toContain('(ipv6 source)');
    const off = runCli(['check-config', '--ipv6-source', '2001:db8::25', '--triggers', 'cname-mx']);
    expect([off.status, off.stdout]).toEqual([
      0,
      expect.stringContaining('warning: ipv6_source is set but sender-ipv6-unready is not in triggers: its reverse DNS is not checked\n'),
    ]);
  });

  test('shared_cache needs the fleet key file: missing, short or unreadable is one line and exit 2; a good one is OK and never shown', () => {
    const none = runCli(['check-config', '--shared-cache', 'redis://127.0.0.1:6379/0']);
    expect([none.status, none.stderr]).toEqual([
      2,
      'mx4map: shared_cache needs shared_cache_key_file: a file whose first line is a secret shared by the fleet (openssl rand -base64 32), so that only values an instance wrote are believed\n',
    ]);
    const short = configFile('too-short\n');
    const weak = runCli(['check-config', '--shared-cache', 'redis://127.0.0.1:6379/0', '--shared-cache-key-file', short]);
    expect([weak.status, weak.stderr]).toEqual([
      2,
      expect.stringContaining(`mx4map: shared_cache_key_file ${short}: its first line must hold a secret of at least 32 characters`),
    ]);
    const missing = runCli(['check-config', '--shared-cache', 'redis://127.0.0.1:6379/0', '--shared-cache-key-file', '/nonexistent/fleet.key']);
    expect([missing.status, missing.stderr]).toEqual([2, 'mx4map: shared_cache_key_file /nonexistent/fleet.key does not exist\n']);
    const secret = 'Zm9yLXRoZS1jaGVjay1jb25maWctdGVzdC0wMTIzNDU2Nzg5';
    const good = configFile(`${secret}\n`);
    const ok = runCli(['check-config', '--shared-cache', 'redis://127.0.0.1:6379/0', '--shared-cache-key-file', good]);
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(effective(ok.stdout).shared_cache_key_file).toBe(good);
    expect(ok.stdout).not.toContain(secret);
  });

  test('dnssec: trust-ad with a resolver off this host is warned about; on loopback it is not', () => {
    const remote = runCli(['check-config', '--dnssec', 'trust-ad', '--dns', '192.0.2.53', '--dns', '127.0.0.1:5353']);
    expect(remote.status).toBe(0);
    expect(remote.stdout).toContain('warning: dnssec: trust-ad believes the AD bit of 192.0.2.53, not on this host: anyone on the path can set it;');
    const local = runCli(['check-config', '--dnssec', 'trust-ad', '--dns', '127.0.0.1:5353']);
    expect(local.stdout).not.toContain('warning: dnssec');
  });

  test('precedence: flags > environment > file > defaults', () => {
    const file = configFile('max_connections: 10\nmax_in_flight: 5\nrequest_timeout: 3s\n');
    const r = runCli(['check-config', '--config', file, '--max-connections', '30'], { MX4MAP_MAX_CONNECTIONS: '20', MX4MAP_MAX_IN_FLIGHT: '6' });
    expect(r.status).toBe(0);
    expect(effective(r.stdout)).toMatchObject({ max_connections: '30', max_in_flight: '6', request_timeout: '3s', shutdown_grace: '5s' });
  });

  test('MX4MAP_CONFIG names the file', () => {
    const file = configFile('max_in_flight: 9\n');
    expect(effective(runCli(['check-config'], { MX4MAP_CONFIG: file }).stdout).max_in_flight).toBe('9');
  });

  test('a bad file: one line naming the key, exit 2', () => {
    const file = configFile('max_connections: 10\nlisten: [inet:1@127.0.0.1, tcp:2]\n');
    const r = runCli(['check-config', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`mx4map: key "listen" in ${file} item 2 is wrong: socket spec "tcp:2" has unknown type "tcp": use inet, inet6, unix or local\n`);
  });

  test('invalid YAML: file and line, exit 2', () => {
    const file = configFile('max_connections: 10\nlisten: [unclosed\n');
    const r = runCli(['check-config', '--config', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^mx4map: ${file}:\\d+ is not valid YAML`));
  });

  test('a YAML alias bomb: one line naming the file, exit 2 (an internal error with a stack before)', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f'].entries()) levels.push(`${name}: &${name} [${Array(9).fill(`*${'abcdef'[i]}`).join(', ')}]`);
    const file = configFile(`${levels.join('\n')}\n`);
    const r = runCli(['check-config', '--config', file]);
    expect([r.status, r.stderr]).toEqual([2, `mx4map: ${file} is not usable YAML: Excessive alias count indicates a resource exhaustion attack\n`]);
  });

  test('what serve would refuse at start, check-config refuses too: one line each, exit 2', () => {
    const r = runCli([
      'check-config',
      '--never',
      '/nonexistent-mx4map/never.list',
      '--cache-snapshot',
      '/nonexistent-mx4map/cache.snapshot',
      '--listen',
      'unix:/nonexistent-mx4map/s.sock',
      '--socket-group',
      'no-such-group-mx4map',
    ]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')).toEqual([
      'mx4map: never file /nonexistent-mx4map/never.list does not exist',
      'mx4map: listen unix:/nonexistent-mx4map/s.sock: the directory /nonexistent-mx4map does not exist',
      'mx4map: socket_group "no-such-group-mx4map" is not a group on this system (/etc/group); give an existing group name or number',
      'mx4map: cache_snapshot /nonexistent-mx4map/cache.snapshot: the directory /nonexistent-mx4map does not exist',
      '',
    ]);
  });

  test('serve refuses the same configuration with the same first line, before listening', () => {
    const r = runCli(['serve', '--never', '/nonexistent-mx4map/never.list', '--listen', 'inet:0@127.0.0.1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('mx4map: never file /nonexistent-mx4map/never.list does not exist\n');
  });

  test('values are checked for sense: a relative pattern path, a switch given a non-boolean', () => {
    const relative = runCli(['check-config', '--never', 'etc/mx4map/never.list']);
    expect([relative.status, relative.stderr]).toEqual([
      2,
      'mx4map: --never has "etc/mx4map/never.list", a relative file name: name a pattern file by its absolute path (/etc/mx4map/never.list), or write the domain itself\n',
    ]);
    const maybe = runCli(['check-config', '--probe=maybe']);
    expect([maybe.status, maybe.stderr]).toEqual([2, 'mx4map: --probe takes true or false (yes/no, on/off, 1/0), got "maybe"\n']);
    expect(effective(runCli(['check-config', '--dry-run=yes']).stdout).dry_run).toBe('true');
    expect(effective(runCli(['check-config', '--probe=no']).stdout).probe).toBe('false');
  });

  test('every CLI error is one line and exit 2: a flag without its value, an unknown command; a closed pipe ends quietly', () => {
    const noValue = runCli(['check-config', '--listen']);
    expect([noValue.status, noValue.stderr]).toEqual([2, 'mx4map: --listen needs a value (see mx4map check-config --help)\n']);
    const unknown = runCli(['frobnicate']);
    expect([unknown.status, unknown.stderr]).toEqual([
      2,
      'mx4map: unknown command "frobnicate": use serve, demo, query, lookup, replay, export, status, learn, check-config, reload (see mx4map --help)\n',
    ]);
    // The reader closes its end at once (node takes longer to start): every write meets EPIPE.
    const piped = spawnSync('bash', ['-c', `set -o pipefail; ${process.execPath} ${CLI} check-config | (exec 0<&-; sleep 1)`], {
      encoding: 'utf8',
      env: cleanEnv(),
    });
    expect([piped.status, piped.stderr]).toEqual([0, '']);
  });
});
