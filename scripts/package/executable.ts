/**
 * The executable both packages carry, and what building them shares: the compiled CLI (dist/) and its
 * dependencies bundled into one CommonJS file (esbuild), made a Node single executable application — the
 * running Node binary with the bundle injected as its SEA blob (node --experimental-sea-config, postject) —
 * so the host runs the Node version we test with, whatever its distribution ships (Debian 12 has 18.19,
 * EL8's default module stream 10).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { manPage } from '../../src/config/man-page.js';
import { VERSION } from '../../src/version.js';
import { buildSync } from 'esbuild';

export const ROOT = join(__dirname, '..', '..', '..');
export const OUT = join(ROOT, '.build', 'package');
/** The fuse postject flips in the Node binary to say a SEA blob is present (Node's documentation). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** Runs a build tool quietly (postject prints LIEF warnings on every success); its output is shown when it fails. */
export function run(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { cwd: OUT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string };
    process.stderr.write(`${failed.stdout ?? ''}${failed.stderr ?? ''}`);
    throw err;
  }
}

/** The executable, at OUT/mx4map. */
export function buildExecutable(): string {
  const bundle = join(OUT, 'mx4map.cjs');
  buildSync({
    // The CLI itself, not dist/index.js: the executable carries its own code cache (src/boot.ts is for dist/).
    entryPoints: [join(ROOT, 'dist', 'cli', 'run.js')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: bundle,
    legalComments: 'none',
    logLevel: 'error',
  });
  // Paths relative to OUT (run's working directory): the blob keeps `main` as the script's file name,
  // which stack traces print; an absolute one would name the build machine's directories.
  // useCodeCache: V8's compiled code goes into the blob (built by the same Node the executable is made of):
  // start to listening 170 → 151 ms measured here.
  writeFileSync(
    join(OUT, 'sea-config.json'),
    JSON.stringify({ main: 'mx4map.cjs', output: 'sea-prep.blob', disableExperimentalSEAWarning: true, useCodeCache: true }),
  );
  run(process.execPath, ['--experimental-sea-config', 'sea-config.json']);
  const executable = join(OUT, 'mx4map');
  copyFileSync(process.execPath, executable);
  chmodSync(executable, 0o755);
  run(process.execPath, [require.resolve('postject/dist/cli.js'), executable, 'NODE_SEA_BLOB', join(OUT, 'sea-prep.blob'), '--sentinel-fuse', SEA_FUSE]);
  return executable;
}

export function place(tree: string, path: string, content: string | Buffer, mode = 0o644): void {
  const target = join(tree, path);
  mkdirSync(join(target, '..'), { recursive: true });
  writeFileSync(target, content);
  chmodSync(target, mode);
}

/** The npm packages bundled into the executable (production dependencies, as installed), for RPM's bundled() provides. */
export function bundledModules(): Array<{ name: string; version: string }> {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dev?: boolean }> };
  return Object.entries(lock.packages)
    .filter(([path, p]) => path.startsWith('node_modules/') && !p.dev && p.version)
    .map(([path, p]) => ({ name: path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length), version: p.version as string }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * What both packages install, into `tree`: the executable, the units (ExecStart=/usr/bin/mx4map) under
 * `unitDir`, the sample configuration, the Prometheus rules and Grafana dashboard, mx4map(8), and under
 * /usr/share/doc/mx4map the README with what it links to (side by side as in the repository, so its links
 * resolve). `socketUnit` adapts the socket unit to the package's platform.
 */
export function placeShared(tree: string, executable: string, unitDir: string, socketUnit: (unit: string) => string = (unit) => unit): void {
  mkdirSync(join(tree, 'usr', 'bin'), { recursive: true });
  copyFileSync(executable, join(tree, 'usr', 'bin', 'mx4map'));
  chmodSync(join(tree, 'usr', 'bin', 'mx4map'), 0o755);
  const snippets = join(ROOT, 'cf-snippets');
  const installed = (file: string): string => readFileSync(join(snippets, file), 'utf8').replace(/^(Exec(?:Start|Reload))=\S+/gm, '$1=/usr/bin/mx4map');
  place(tree, `${unitDir}/mx4map.service`, installed('mx4map.service'));
  place(tree, `${unitDir}/mx4map.socket`, socketUnit(installed('mx4map.socket')));
  // Several MTA instances on one host: mx4map@NAME.service reads /etc/mx4map/NAME.yml.
  place(tree, `${unitDir}/mx4map@.service`, installed('mx4map@.service'));
  place(tree, 'etc/mx4map/mx4map.yml', readFileSync(join(snippets, 'mx4map.yml')));
  // Prometheus recording and alerting rules and the Grafana dashboard (README, "Alerts", "Dashboard").
  place(tree, 'usr/share/mx4map/prometheus/mx4map-rules.yml', readFileSync(join(ROOT, 'contrib', 'prometheus', 'mx4map-rules.yml')));
  place(tree, 'usr/share/mx4map/grafana/mx4map-dashboard.json', readFileSync(join(ROOT, 'contrib', 'grafana', 'mx4map-dashboard.json')));
  place(tree, 'usr/share/man/man8/mx4map.8.gz', gzipSync(manPage(VERSION, new Date().toISOString().slice(0, 10)), { level: 9 }));
  const doc = join(tree, 'usr', 'share', 'doc', 'mx4map');
  for (const file of ['README.md', 'CHANGELOG.md', 'ARCHITECTURE.md']) place(tree, `usr/share/doc/mx4map/${file}`, readFileSync(join(ROOT, file)));
  for (const dir of ['docs', 'contrib']) cpSync(join(ROOT, dir), join(doc, dir), { recursive: true });
  cpSync(snippets, join(doc, 'cf-snippets'), { recursive: true });
}
