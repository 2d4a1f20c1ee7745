/**
 * The RPM for Fedora, RHEL and its rebuilds, built by `npm run package` with rpmbuild, checked the way a
 * packager would: rpmlint with the project's configuration, what it holds, provides, requires and runs, then
 * installed into a scratch root with `rpm --root` (its scriptlets run there, with a shell and no systemd),
 * used from there, upgraded to a higher release with an edited configuration, and erased.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describeRequiring } from '../support/requires';
import { builtRpm, rebuiltRpm } from '../support/built-package';
import { VERSION } from '../../src/version';

const ROOT = join(__dirname, '..', '..');

function whyNot(): string | undefined {
  if (process.getuid?.() !== 0) return 'rpm --root runs scriptlets in a chroot, which needs root';
  for (const tool of ['rpmbuild', 'rpmlint', 'rpm'])
    if (spawnSync(tool, ['--version']).status !== 0) return `${tool} is not installed (Debian: apt-get install rpm rpmlint)`;
  return undefined;
}

/** What rpm said that is not noise: errors, warnings, failed scriptlets. */
const complaints = (r: SpawnSyncReturns<string>): string[] => r.stderr.split('\n').filter((l) => /error|warning|scriptlet|fail/i.test(l));

const sh = (command: string, args: string[]): SpawnSyncReturns<string> =>
  spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });

/** A scratch root with a shell for the scriptlets (dash and the libraries it loads), nothing else. */
function scratchRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'mx4map-rpmroot-'));
  const shell = '/bin/dash';
  const libs = sh('ldd', [shell])
    .stdout.split('\n')
    .map((l) => /(\/\S+) \(0x/.exec(l)?.[1])
    .filter((l): l is string => l !== undefined);
  for (const file of [shell, ...libs]) {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    copyFileSync(file, join(root, file));
  }
  symlinkSync('dash', join(root, 'bin', 'sh'));
  return root;
}

describeRequiring(whyNot(), 'the RPM suite needs rpmbuild, rpmlint and root')('the RPM', () => {
  let rpm: string;
  let root: string;
  beforeAll(async () => {
    rpm = await builtRpm();
    root = scratchRoot();
  }, 300_000);
  afterAll(() => root && rmSync(root, { recursive: true, force: true }));

  test('rpmlint with the project configuration: no errors, and every warning left is explained in the spec', () => {
    const lint = sh('rpmlint', ['-c', join(ROOT, 'scripts', 'package', 'rpmlint.toml'), rpm]);
    expect(lint.stdout).toMatch(/ 0 errors, \d+ warnings/);
    const warnings = [...lint.stdout.matchAll(/: W: (\S+)/g)].map((m) => m[1]);
    const spec = readFileSync(join(ROOT, 'scripts', 'package', 'rpm.ts'), 'utf8');
    for (const warning of warnings) expect({ warning, explained: spec.includes(`#  ${warning}:`) }).toEqual({ warning, explained: true });
  });

  test('holds the executable, the units, the configuration as %config(noreplace), the manual page, licence and docs', () => {
    const files = sh('rpm', ['-qlp', rpm]).stdout.split('\n');
    for (const file of [
      '/usr/bin/mx4map',
      '/usr/lib/systemd/system/mx4map.service',
      '/usr/lib/systemd/system/mx4map.socket',
      '/usr/lib/systemd/system/mx4map@.service',
      '/etc/mx4map/mx4map.yml',
      '/usr/share/man/man8/mx4map.8.gz',
      '/usr/share/licenses/mx4map/LICENSE',
      '/usr/share/doc/mx4map/README.md',
      '/usr/share/doc/mx4map/docs/performance.md',
      '/usr/share/mx4map/prometheus/mx4map-rules.yml',
      '/usr/share/mx4map/grafana/mx4map-dashboard.json',
    ])
      expect(files).toContain(file);
    expect(sh('rpm', ['-qcp', rpm]).stdout.trim()).toBe('/etc/mx4map/mx4map.yml');
    // The config is noreplace: `rpm -qp --qf` shows its file flags (%config = 1, noreplace = 16).
    const flags = sh('rpm', ['-qp', '--qf', '[%{FILENAMES} %{FILEFLAGS}\\n]', rpm]).stdout;
    expect(Number(/^\/etc\/mx4map\/mx4map\.yml (\d+)$/m.exec(flags)?.[1]) & 17).toBe(17);
  });

  test('its socket unit listens on loopback TCP only: under SELinux the MTAs cannot reach a UNIX socket of ours', () => {
    const unit = spawnSync('sh', ['-c', 'rpm2cpio "$1" | cpio -i --quiet --to-stdout ./usr/lib/systemd/system/mx4map.socket', 'sh', rpm], { encoding: 'utf8' });
    const listens = unit.stdout.split('\n').filter((l) => l.startsWith('ListenStream='));
    expect(listens).toEqual(['ListenStream=127.0.0.1:8425']);
    expect(unit.stdout).toContain('#ListenStream=/run/mx4map/mx4map.sock');
  });

  test('scriptlets: preset on first install, disable and stop on erase, restart on upgrade', () => {
    const scripts = sh('rpm', ['-qp', '--scripts', rpm]).stdout;
    expect(scripts).toMatch(/postinstall scriptlet[\s\S]*\$1 -eq 1[\s\S]*preset mx4map\.service mx4map\.socket/);
    expect(scripts).toMatch(/preuninstall scriptlet[\s\S]*\$1 -eq 0[\s\S]*disable --now mx4map\.service mx4map\.socket/);
    expect(scripts).toMatch(/postuninstall scriptlet[\s\S]*\$1 -ge 1[\s\S]*try-restart mx4map\.service/);
  });

  test('provides bundled() for Node and every npm module in the executable, and needs no glibc newer than EL8', () => {
    const provides = sh('rpm', ['-qp', '--provides', rpm]).stdout;
    expect(provides).toContain(`bundled(nodejs) = ${process.versions.node}`);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean }> };
    for (const name of ['pino', 'yargs', 'yaml', 'prom-client', 'ioredis'])
      expect(provides).toContain(`bundled(nodejs-${name}) = ${lock.packages[`node_modules/${name}`].version}`);
    const requires = sh('rpm', ['-qp', '--requires', rpm]).stdout;
    expect(requires).toContain('glibc >= 2.28');
    const glibc = [...requires.matchAll(/GLIBC_2\.(\d+)/g)].map((m) => Number(m[1]));
    expect(Math.max(...glibc)).toBeLessThanOrEqual(28);
  });

  test('rpm --root: installs, runs from there, keeps an edited configuration across an upgrade, erases', () => {
    expect(sh('rpm', ['--root', root, '--initdb']).status).toBe(0);
    const install = sh('rpm', ['--root', root, '--force-debian', '-i', '--nodeps', rpm]);
    expect({ status: install.status, complaints: complaints(install) }).toEqual({ status: 0, complaints: [] });
    const installed = join(root, 'usr', 'bin', 'mx4map');
    expect(sh(installed, ['--version']).stdout).toContain(VERSION);
    const config = join(root, 'etc', 'mx4map', 'mx4map.yml');
    const check = sh(installed, ['check-config', '--config', config]);
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    expect(check.stdout).toContain('inet:8425@127.0.0.1');

    appendFileSync(config, '# edited by the administrator\n');
    const upgrade = rebuiltRpm(2);
    const upgraded = sh('rpm', ['--root', root, '--force-debian', '-U', '--nodeps', upgrade]);
    expect({ status: upgraded.status, complaints: complaints(upgraded) }).toEqual({ status: 0, complaints: [] });
    expect(sh('rpm', ['--root', root, '-q', 'mx4map']).stdout.trim()).toBe(`mx4map-${VERSION}-2.x86_64`);
    expect(readFileSync(config, 'utf8')).toContain('# edited by the administrator');

    const erase = sh('rpm', ['--root', root, '--force-debian', '-e', 'mx4map']);
    expect({ status: erase.status, complaints: complaints(erase).filter((l) => !l.includes('saved as')) }).toEqual({ status: 0, complaints: [] });
    expect(existsSync(installed)).toBe(false);
    expect(readFileSync(`${config}.rpmsave`, 'utf8')).toContain('# edited by the administrator');
  }, 300_000);
});
