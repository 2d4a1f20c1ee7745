import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServeProcess, runCli, runCliAsync, startServe } from '../support/cli';
import { WireClient, ns } from '../support/wire';
import { startDnsFixture } from '../support/dns-fixture';
import { until } from '../support/until';

let serve: ServeProcess | undefined;
afterEach(async () => {
  await serve?.stop();
  serve = undefined;
});

describe('mx4map serve (built CLI)', () => {
  test('answers a netcat-style request with a well-formed reply', async () => {
    serve = await startServe(['--listen', 'inet:0@127.0.0.1']);
    const c = await WireClient.open({ port: serve.port });
    c.send('25:mailertable cname-mx.test,');
    expect(await c.replyCount(1)).toEqual(['NOTFOUND ']);
    expect(c.raw.toString()).toBe('9:NOTFOUND ,');
    c.destroy();
  });

  test('the ops listener on a v4-mapped loopback address is not reported exposed; on every address it is', async () => {
    serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--http', '[::ffff:127.0.0.1]:0']);
    expect(serve.lines.filter((l) => l.evt === 'listen-exposed')).toEqual([]);
    await serve.stop();
    serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--http', '0.0.0.0:0']);
    expect(serve.lines.filter((l) => l.evt === 'listen-exposed').map((l) => l.http)).toEqual(['0.0.0.0:0']);
  });

  test('the listening line names the version, the configuration file, the DNS servers and a dry run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cli-'));
    const file = join(dir, 'mx4map.yml');
    writeFileSync(file, 'dry_run: true\n');
    serve = await startServe(['--config', file, '--listen', 'inet:0@127.0.0.1', '--dns', '127.0.0.1:9']);
    const line = serve.lines.find((l) => l.evt === 'listening');
    expect(line).toMatchObject({ version: '0.1.0', config: file, dns: ['127.0.0.1:9'], dryRun: true });
    expect(String(line?.msg)).toMatch(
      new RegExp(
        `^mx4map 0\\.1\\.0 listening on inet:\\d+@127\\.0\\.0\\.1; configuration ${file}; DNS 127\\.0\\.0\\.1:9; .*; DRY RUN: every answer is NOTFOUND$`,
      ),
    );
  });

  test('listens on TCP and a UNIX socket at once', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-cli-')), 'mx4map.sock');
    serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--listen', `unix:${path}`]);
    expect(serve.bound).toEqual([expect.stringMatching(/^inet:\d+@127\.0\.0\.1$/), `unix:${path}`]);
    const r = await runCliAsync(['query', '--connect', `unix:${path}`, 'example.com']);
    expect(r.stdout).toBe('example.com\tNOTFOUND\n');
  });

  test('SIGTERM: stops, closes clients, flushes its logs and exits 0', async () => {
    serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--log-level', 'debug']);
    const c = await WireClient.open({ port: serve.port });
    c.send(ns('mailertable example.com'));
    await c.replyCount(1);
    serve.child.kill('SIGTERM');
    const { code } = await serve.exited();
    expect(code).toBe(0);
    await c.closedByServer();
    const events = serve.lines.map((l) => l.evt);
    expect(events).toEqual(expect.arrayContaining(['listening', 'connect', 'shutting-down', 'stopped']));
    expect(events[events.length - 1]).toBe('stopped');
  });

  test('a second signal during shutdown exits at once', async () => {
    // A lookup in flight (its DNS server never answers) keeps the drain waiting for the whole grace period...
    // A DNS server that hears the question and never answers: the lookup stays in flight.
    const dns = await startDnsFixture({ records: {}, behaviours: { 'example.com': { '*': 'silent' } } });
    serve = await startServe([
      '--listen',
      'inet:0@127.0.0.1',
      '--shutdown-grace',
      '60s',
      '--dns',
      dns.spec,
      '--dns-timeout',
      '20s',
      '--deadline',
      '30s',
      '--reply-max-age',
      '40s',
    ]);
    const c = await WireClient.open({ port: serve.port });
    c.send(ns('mailertable example.com'));
    await until(() => dns.count('example.com') > 0, 5000, 'the lookup to reach DNS');
    serve.child.kill('SIGTERM');
    await serve.waitFor('shutting-down');
    serve.child.kill('SIGTERM');
    const { code } = await serve.exited();
    expect(code).toBe(1);
    expect(serve.lines.map((l) => l.evt)).toContain('shutdown-immediate');
    c.destroy();
    await dns.close();
  });

  test('SIGHUP reloads the file, logs what changed, and keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cli-'));
    const file = join(dir, 'mx4map.yml');
    writeFileSync(file, 'maps:\n  mailertable: { format: sendmail }\n');
    serve = await startServe(['--config', file, '--listen', 'inet:0@127.0.0.1']);
    const c = await WireClient.open({ port: serve.port });
    c.send(ns('mt example.com'));
    expect(await c.replyCount(1)).toEqual(['PERM unknown map mt']);
    writeFileSync(file, 'maps:\n  mt: { format: sendmail }\nmax_in_flight: 4\nlisten: inet:1@127.0.0.1\n');
    serve.child.kill('SIGHUP');
    const reloaded = await serve.waitFor('reloaded');
    expect(reloaded.changed).toEqual(['maps', 'max_in_flight']);
    expect(reloaded.restartNeeded).toEqual([]); // the --listen flag still wins over the file's listen
    c.send(ns('mt example.com'));
    expect(await c.replyCount(2)).toEqual(['PERM unknown map mt', 'NOTFOUND ']);
    c.destroy();
  });

  test('SIGHUP with a broken file keeps the running configuration and logs why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cli-'));
    const file = join(dir, 'mx4map.yml');
    writeFileSync(file, 'max_in_flight: 4\n');
    serve = await startServe(['--config', file, '--listen', 'inet:0@127.0.0.1']);
    writeFileSync(file, 'max_in_flite: 4\n');
    serve.child.kill('SIGHUP');
    const failed = await serve.waitFor('reload-failed');
    expect(failed.error).toMatch(/unknown key "max_in_flite"/);
    const c = await WireClient.open({ port: serve.port });
    c.send(ns('mailertable example.com'));
    expect(await c.replyCount(1)).toEqual(['NOTFOUND ']);
    c.destroy();
  });

  test('SIGHUP with a configuration serve could not start with keeps the running one and says why, as check-config would', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cli-'));
    const file = join(dir, 'mx4map.yml');
    writeFileSync(file, 'max_in_flight: 4\n');
    serve = await startServe(['--config', file, '--listen', 'inet:0@127.0.0.1']);
    writeFileSync(file, `max_in_flight: 8\ncache_snapshot: ${join(dir, 'missing', 'cache.snap')}\n`);
    const checked = runCli(['check-config', '--config', file]);
    serve.child.kill('SIGHUP');
    const failed = await serve.waitFor('reload-failed');
    expect(checked.status).toBe(2);
    expect(failed.error).toBe(checked.stderr.trim().replace(/^mx4map: /, ''));
    expect(failed.error).toMatch(/^cache_snapshot .*missing\/cache\.snap: /);
    expect(serve.lines.some((l) => l.evt === 'reloaded')).toBe(false);
  });

  test('a listen change on reload is reported as needing a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-cli-'));
    const file = join(dir, 'mx4map.yml');
    writeFileSync(file, 'listen: inet:0@127.0.0.1\n');
    serve = await startServe(['--config', file]);
    writeFileSync(file, 'listen: inet:0@127.0.0.2\n');
    serve.child.kill('SIGHUP');
    expect((await serve.waitFor('reload-partial')).keys).toEqual(['listen']);
  });
});

describe('bad command-line and configuration input: one line on stderr, exit 2', () => {
  test.each([
    [['serve', '--bogus-flag', '1'], /^mx4map: unknown flag --bogus-flag \(see mx4map serve --help\)\n$/],
    [['serve', '--listen', 'inet:8425'], /^mx4map: --listen is wrong: socket spec "inet:8425" names no host/],
    [['serve', '--config', '/nonexistent/mx4map.yml'], /^mx4map: configuration file \/nonexistent\/mx4map.yml does not exist/],
    [['serve', '--max-connections', 'lots'], /^mx4map: --max-connections must be a whole number, got "lots"/],
    [['frobnicate'], /^mx4map: unknown command "frobnicate"/],
    [[], /^mx4map: name a command/],
  ])('%j', (args, message) => {
    const r = runCli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a port already in use', async () => {
    serve = await startServe(['--listen', 'inet:0@127.0.0.1']);
    const r = await runCliAsync(['serve', '--listen', `inet:${serve.port}@127.0.0.1`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`mx4map: cannot listen on inet:${serve.port}@127.0.0.1: the address is already in use\n`);
  });

  test('an unknown MX4MAP_ variable', () => {
    const r = runCli(['check-config'], { MX4MAP_LISTNE: 'inet:1@127.0.0.1' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^mx4map: unknown environment variable MX4MAP_LISTNE/);
  });
});
