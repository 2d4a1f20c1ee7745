/** dist/ starts from its bundle only when the bundle is current, runs it as a module, and survives a cache V8 rejects. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLE, BUNDLE_ENTRY, CODE_CACHE, bundleIsCurrent, compileBundle, startFromBundle } from '../src/boot';
import { cleanEnv } from './support/cli';

const DIST = join(__dirname, '..', 'dist');
let dir: string;

/** A dist/ of its own: the entry module and a bundle that says where it ran from and what it required. */
function layout(bundleAgeS: number, entryAgeS: number): void {
  mkdirSync(join(dir, 'cli'), { recursive: true });
  writeFileSync(join(dir, BUNDLE_ENTRY), '');
  writeFileSync(join(dir, 'dep.js'), 'module.exports = 42;');
  writeFileSync(
    join(dir, BUNDLE),
    // Written to a file: the bundle runs in node's own context, not in the test's sandbox.
    'require("node:fs").writeFileSync(__dirname + "/ran.json", JSON.stringify({ filename: __filename, dirname: __dirname, dep: require("./dep.js"), exportsIsThis: this === module.exports }));',
  );
  const now = Date.now() / 1000;
  utimesSync(join(dir, BUNDLE), now - bundleAgeS, now - bundleAgeS);
  utimesSync(join(dir, BUNDLE_ENTRY), now - entryAgeS, now - entryAgeS);
}

const ran = (): unknown => (existsSync(join(dir, 'ran.json')) ? JSON.parse(readFileSync(join(dir, 'ran.json'), 'utf8')) : undefined);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mx4map-boot-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a bundle built after the modules runs, as a module of its own directory', () => {
  layout(10, 20);
  expect(bundleIsCurrent(dir)).toBe(true);
  expect(startFromBundle(dir)).toBe(true);
  expect(ran()).toEqual({ filename: join(dir, BUNDLE), dirname: dir, dep: 42, exportsIsThis: true });
});

test('a bundle older than the modules (a build by tsc alone) is not run: the modules are', () => {
  layout(20, 10);
  expect(bundleIsCurrent(dir)).toBe(false);
  expect(startFromBundle(dir)).toBe(false);
  expect(ran()).toBeUndefined();
});

test('no bundle, or no modules: not run', () => {
  expect(startFromBundle(dir)).toBe(false);
  layout(10, 20);
  rmSync(join(dir, BUNDLE_ENTRY));
  expect(startFromBundle(dir)).toBe(false);
  expect(ran()).toBeUndefined();
});

test('a code cache V8 rejects (garbage, another Node) still runs the bundle, compiled afresh', () => {
  layout(10, 20);
  writeFileSync(join(dir, CODE_CACHE), Buffer.from('not a code cache'));
  expect(compileBundle(join(dir, BUNDLE), readFileSync(join(dir, CODE_CACHE))).cachedDataRejected).toBe(true);
  expect(startFromBundle(dir)).toBe(true);
  expect(ran()).toMatchObject({ dep: 42 });
});

test('npm run build leaves a current bundle whose code cache this Node accepts', () => {
  // In a process of its own: V8 rejects a cache made under other flags, and jest's workers may run with some.
  const check = `
    const { bundleIsCurrent, compileBundle } = require(${JSON.stringify(join(DIST, 'boot.js'))});
    const { readFileSync } = require('node:fs');
    const script = compileBundle(${JSON.stringify(join(DIST, BUNDLE))}, readFileSync(${JSON.stringify(join(DIST, CODE_CACHE))}));
    process.stdout.write(JSON.stringify({ current: bundleIsCurrent(${JSON.stringify(DIST)}), rejected: script.cachedDataRejected }));
  `;
  const out = spawnSync(process.execPath, ['-e', check], { env: cleanEnv(), encoding: 'utf8' });
  expect(out.stderr).toBe('');
  expect(JSON.parse(out.stdout)).toEqual({ current: true, rejected: false });
});
