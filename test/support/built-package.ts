/**
 * The .deb and .rpm that `npm run package` builds, built once per test run however many suites need it: suites run
 * in parallel workers, and two builds writing .build/package at once would spoil each other. A lock
 * directory serialises them; a marker names the run (the workers' common parent) that built the package.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const LOCK = join(ROOT, '.build', 'package.lock');
const MARKER = join(ROOT, '.build', 'package-built-for');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock, breaking one whose holder has died. */
async function lock(): Promise<void> {
  mkdirSync(join(ROOT, '.build'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(
        (() => {
          try {
            return readFileSync(join(LOCK, 'pid'), 'utf8');
          } catch {
            return '';
          }
        })(),
      );
      if (holder > 0 && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

interface Built {
  readonly deb: string;
  /** Undefined where rpmbuild is missing. */
  readonly rpm: string | undefined;
}

function build(): Built {
  // `npm run package` without its first step: rebuilding dist/ here would rewrite files that tests running
  // beside this one are executing (npm test built dist/ before any test started).
  const env = { ...process.env };
  const scripts = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.scripts.json')], { encoding: 'utf8', env });
  if (scripts.status !== 0) throw new Error(`compiling scripts failed: ${scripts.stdout}${scripts.stderr}`);
  const built = spawnSync(process.execPath, [join(ROOT, '.build', 'scripts', 'package', 'build.js')], { encoding: 'utf8', env, timeout: 300_000 });
  if (built.status !== 0) throw new Error(`building the package failed: ${built.stderr}`);
  const lines = built.stdout.trim().split('\n');
  return { deb: lines.find((l) => l.endsWith('.deb')) ?? '', rpm: lines.find((l) => l.endsWith('.rpm')) };
}

/** Another release of the RPM from the executable already built (an upgrade to install over the first). */
export function rebuiltRpm(release: number): string {
  const built = spawnSync(process.execPath, [join(ROOT, '.build', 'scripts', 'package', 'build.js'), '--rpm-only', '--rpm-release', String(release)], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (built.status !== 0) throw new Error(`building the RPM failed: ${built.stderr}`);
  return built.stdout.trim().split('\n').pop() ?? '';
}

async function builtPackages(): Promise<Built> {
  const run = String(process.ppid);
  await lock();
  try {
    if (existsSync(MARKER)) {
      const [builtFor, deb, rpm] = readFileSync(MARKER, 'utf8').split('\n');
      if (builtFor === run && existsSync(deb)) return { deb, rpm: rpm || undefined };
    }
    const built = build();
    writeFileSync(MARKER, `${run}\n${built.deb}\n${built.rpm ?? ''}`);
    return built;
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/** The path of the .deb built in this test run. */
export async function builtPackage(): Promise<string> {
  return (await builtPackages()).deb;
}

/** The path of the .rpm built in this test run. */
export async function builtRpm(): Promise<string> {
  const { rpm } = await builtPackages();
  if (!rpm) throw new Error('no .rpm was built (rpmbuild missing)');
  return rpm;
}
