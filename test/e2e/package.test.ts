/**
 * The Debian package, built by `npm run package`, installed with dpkg and used the way an administrator on a
 * host without Node would: the installed /usr/bin/mx4map runs with an empty environment (no Node on PATH),
 * serves lookups, its units pass systemd's checks, its manual page renders, and removing the package keeps
 * the configuration while purging removes it.
 */
import { execFile, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REQUIRE_ALL, describeRequiring } from '../support/requires';
import { startServe, type ServeProcess } from '../support/cli';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { cliZone } from '../support/cli-zone';
import { buildSendmailRig, mapResult, resolvedTriple, sendmailMissing } from '../support/sendmail';
import { VERSION } from '../../src/version';
import { builtPackage } from '../support/built-package';

const ROOT = join(__dirname, '..', '..');
const INSTALLED = '/usr/bin/mx4map';

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'installing a package needs root';
  if (spawnSync('dpkg-deb', ['--version']).status !== 0) return 'dpkg-deb is not installed (Debian or Ubuntu only)';
  // Never replace an administrator's mx4map on a machine that has it installed.
  if (spawnSync('dpkg-query', ['-W', 'mx4map']).status === 0) return 'the mx4map package is already installed here';
  return undefined;
}

function sh(command: string, args: string[], env: NodeJS.ProcessEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', env, timeout: 120_000 });
}

/** The installed executable, with nothing from the test's environment: no Node on PATH, no MX4MAP_*. */
const mx4map = (...args: string[]): SpawnSyncReturns<string> => sh(INSTALLED, args, { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' });

/** The same, without blocking this process: the DNS fixture it asks runs here. */
function mx4mapAsync(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(INSTALLED, args, { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, stdout, stderr) =>
      resolve({ status: err ? Number(err.code) : 0, stdout, stderr }),
    );
  });
}

describeRequiring(whyNot(), 'package tests')('npm run package: the Debian package', () => {
  let deb = '';
  let dns: DnsFixture;
  beforeAll(async () => {
    deb = await builtPackage();
    const installed = sh('dpkg', ['-i', deb]);
    if (installed.status !== 0) throw new Error(`dpkg -i failed: ${installed.stdout}${installed.stderr}`);
    dns = await startDnsFixture(cliZone());
  }, 180_000);
  afterAll(async () => {
    await dns?.close();
    sh('dpkg', ['--purge', 'mx4map']);
  }, 60_000);

  test('holds the executable, the units, the conffile, the manual and the docs; no source maps, no dependency on nodejs', () => {
    const files = sh('dpkg-deb', ['--contents', deb]).stdout;
    for (const path of [
      './usr/bin/mx4map',
      './lib/systemd/system/mx4map.service',
      './lib/systemd/system/mx4map.socket',
      './lib/systemd/system/mx4map@.service',
      './etc/mx4map/mx4map.yml',
      './usr/share/man/man8/mx4map.8.gz',
      './usr/share/doc/mx4map/README.md',
      './usr/share/doc/mx4map/copyright',
      './usr/share/doc/mx4map/cf-snippets/sendmail.mc',
      './usr/share/mx4map/prometheus/mx4map-rules.yml',
      './usr/share/mx4map/grafana/mx4map-dashboard.json',
    ]) {
      expect(files).toContain(path);
    }
    expect(files).not.toMatch(/\.map$/m);
    // Stack traces name the bundled script as the executable holds it: never the build machine's directories.
    expect(readFileSync(join(deb, '..', 'mx4map')).includes(Buffer.from(ROOT))).toBe(false);
    const control = sh('dpkg-deb', ['--field', deb]).stdout;
    expect(control).toContain(`Version: ${VERSION}`);
    expect(control).not.toMatch(/nodejs/);
    expect(sh('dpkg-deb', ['--info', deb, 'conffiles']).stdout).toBe('/etc/mx4map/mx4map.yml\n');
  });

  test('every file the shipped README links to is shipped beside it (docs/, cf-snippets/, the changelog)', () => {
    const files = new Set(
      sh('dpkg-deb', ['--contents', deb])
        .stdout.split('\n')
        .map((l) => l.replace(/^.* \.\//, '')),
    );
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    const linked = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((t) => !/^(https?|mailto):/.test(t));
    expect(linked.length).toBeGreaterThan(5);
    // LICENSE is the copyright file in a .deb (Debian policy 12.5).
    const missing = [...new Set(linked)].filter(
      (t) => t !== 'LICENSE' && !files.has(`usr/share/doc/mx4map/${t.replace(/\/$/, '')}`) && !files.has(`usr/share/doc/mx4map/${t.replace(/\/?$/, '/')}`),
    );
    expect(missing).toEqual([]);
  });

  test('the installed mx4map runs without Node: --version, check-config of the shipped configuration, and usage errors', () => {
    expect(sh('sh', ['-c', 'command -v node'], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }).stdout).not.toBe(INSTALLED);
    const version = mx4map('--version');
    // The bundled runtime is the Node that built the package.
    expect([version.status, version.stdout.trim()]).toEqual([0, `${VERSION} (Node.js ${process.versions.node})`]);
    expect(VERSION).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const ok = mx4map('check-config');
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toContain('configuration OK');
    const bad = mx4map('check-config', '--listen');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('mx4map: --listen needs a value (see mx4map check-config --help)\n');
  });

  test('lookup, and serve answering query, give the same answer as the built CLI', async () => {
    const lookup = await mx4mapAsync('lookup', '--config', '', '--dns', dns.spec, 'cname-mx.test');
    expect(lookup.status).toBe(0);
    expect(lookup.stdout).toContain('answer      mailertable  OK esmtp:[192.0.2.10]');
    let serve: ServeProcess | undefined;
    try {
      serve = await startServe(['--config', '', '--dns', dns.spec, '--listen', 'inet:0@127.0.0.1'], {}, { executable: INSTALLED });
      const query = await mx4mapAsync('query', '--connect', `inet:${serve.port}@127.0.0.1`, 'cname-mx.test');
      expect([query.status, query.stdout]).toEqual([0, 'cname-mx.test\tOK esmtp:[192.0.2.10]\n']);
    } finally {
      await serve?.stop();
    }
  });

  (sendmailMissing() && !REQUIRE_ALL ? test.skip : test)(
    "sendmail, wired with the README's FEATURE line, routes by the installed server's answer",
    async () => {
      let serve: ServeProcess | undefined;
      try {
        serve = await startServe(['--config', '', '--dns', dns.spec, '--listen', 'inet:0@127.0.0.1'], {}, { executable: INSTALLED });
        const rig = buildSendmailRig(`inet:${serve.port}@127.0.0.1`);
        const out = await rig.test(['/map mailertable cname-mx.test', '3,0 user@cname-mx.test']);
        expect(mapResult(out)).toBe('map_lookup: mailertable (cname-mx.test) returns esmtp:[192.0.2.10] (0)');
        expect(resolvedTriple(out)).toBe('$# esmtp $@ [ 192 . 0 . 2 . 10 ] $: user < @ cname-mx . test >');
      } finally {
        await serve?.stop();
      }
    },
  );

  test('systemd-analyze verify accepts the installed units as installed (ExecStart=/usr/bin/mx4map)', () => {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) throw new Error('systemd-analyze is missing: scripts/install-mtas.sh installs it');
    expect(readFileSync('/lib/systemd/system/mx4map.service', 'utf8')).toMatch(/^ExecStart=\/usr\/bin\/mx4map serve --config \/etc\/mx4map\/mx4map\.yml$/m);
    const r = sh('systemd-analyze', [
      'verify',
      '/lib/systemd/system/mx4map.socket',
      '/lib/systemd/system/mx4map.service',
      '/lib/systemd/system/mx4map@a.service',
    ]);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  test('man mx4map renders every option with its flag and environment variable', () => {
    const r = sh('man', ['-l', '/usr/share/man/man8/mx4map.8.gz'], { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^MX4MAP\(8\)/);
    expect(r.stdout).toContain('secure_domains (--secure-domains, MX4MAP_SECURE_DOMAINS)');
    expect(r.stdout).toContain('check-config');
  });

  test('dpkg -r keeps the edited configuration; dpkg --purge removes it', () => {
    appendFileSync('/etc/mx4map/mx4map.yml', '# edited by the administrator\n');
    expect(sh('dpkg', ['-r', 'mx4map']).status).toBe(0);
    expect(existsSync(INSTALLED)).toBe(false);
    expect(readFileSync('/etc/mx4map/mx4map.yml', 'utf8')).toContain('# edited by the administrator\n');
    expect(sh('dpkg', ['--purge', 'mx4map']).status).toBe(0);
    expect(existsSync('/etc/mx4map/mx4map.yml')).toBe(false);
  });
});
