/**
 * `npm run package`: the executable (executable.ts), then the .deb (deb.ts, needs dpkg-deb) and the .rpm
 * (rpm.ts, needs rpmbuild: Debian's `rpm` package). Prints each package's path on a line of its own.
 *   --rpm-release N   the RPM's release (default 1), to build an upgrade of the same version
 *   --rpm-only        reuse the executable already built and build only the .rpm
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { OUT, buildExecutable } from './executable.js';
import { buildDeb } from './deb.js';
import { buildRpm } from './rpm.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function main(): void {
  const release = Number(option('--rpm-release') ?? '1');
  if (!Number.isInteger(release) || release < 1) throw new Error('--rpm-release takes a whole number from 1');
  const rpmOnly = process.argv.includes('--rpm-only');
  let executable = join(OUT, 'mx4map');
  if (!rpmOnly || !existsSync(executable)) {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    executable = buildExecutable();
  }
  if (!rpmOnly) process.stdout.write(`${buildDeb(executable)}\n`);
  if (spawnSync('rpmbuild', ['--version']).status !== 0) {
    process.stderr.write('mx4map package: rpmbuild not found, so no .rpm was built (Debian/Ubuntu: apt-get install rpm)\n');
    if (rpmOnly) process.exit(1);
    return;
  }
  process.stdout.write(`${buildRpm(executable, release)}\n`);
}

main();
