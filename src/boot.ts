/**
 * Starting from one file. `npm run build` also bundles the CLI and what it loads before listening into
 * dist/mx4map.cjs (scripts/bundle.js), with V8's compiled code for it beside it (mx4map.cjs.v8cache):
 * read as one script with that cache, `serve` listens about 60 ms sooner (about 145 against 205 ms here)
 * than when ~150 modules are found, read and compiled one by one on every start (docs/performance.md). The modules stay the fallback: with
 * no bundle, or one older than the modules (tsc rewrites every output, so a build by tsc alone leaves
 * cli/run.js newer), they run instead; a cache V8 rejects (another Node, other V8 flags) costs only the
 * compile it would have saved.
 */
import { readFileSync, statSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

export const BUNDLE = 'mx4map.cjs';
export const CODE_CACHE = 'mx4map.cjs.v8cache';
/** What the bundle is built from; its modification time says whether the bundle is current. */
export const BUNDLE_ENTRY = join('cli', 'run.js');

type ModuleFunction = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** Whether `dir` holds a bundle at least as new as the modules it was built from. */
export function bundleIsCurrent(dir: string): boolean {
  try {
    return statSync(join(dir, BUNDLE)).mtimeMs >= statSync(join(dir, BUNDLE_ENTRY)).mtimeMs;
  } catch {
    return false;
  }
}

/** The bundle as a CommonJS module function, compiled with `cachedData` when given. */
export function compileBundle(file: string, cachedData?: Buffer): Script {
  return new Script(wrap(readFileSync(file, 'utf8')), { filename: file, ...(cachedData ? { cachedData } : {}) });
}

/** Runs the compiled bundle as the module `file` (its requires resolved from there, as node would). */
export function runBundle(script: Script, file: string): void {
  const run = script.runInThisContext() as ModuleFunction;
  const module = { exports: {} };
  run.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
}

/** Starts the CLI from the bundle in `dir` when it is current; false when the modules must run instead. */
export function startFromBundle(dir: string): boolean {
  if (!bundleIsCurrent(dir)) return false;
  const file = join(dir, BUNDLE);
  let cache: Buffer | undefined;
  try {
    cache = readFileSync(join(dir, CODE_CACHE));
  } catch {
    cache = undefined;
  }
  runBundle(compileBundle(file, cache), file);
  return true;
}
