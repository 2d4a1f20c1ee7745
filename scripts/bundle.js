#!/usr/bin/env node
// `npm run build`, after tsc: bundles the CLI into dist/mx4map.cjs and records V8's compiled code for it in
// dist/mx4map.cjs.v8cache (src/boot.ts says why). Packages loaded only after listening or only for some
// features (prom-client, ioredis, yaml) stay outside the bundle, read from node_modules when first needed.
const { spawnSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const { join } = require('node:path');
const { buildSync } = require('esbuild');

const DIST = join(__dirname, '..', 'dist');
const { BUNDLE, BUNDLE_ENTRY, CODE_CACHE } = require(join(DIST, 'boot.js'));
const bundle = join(DIST, BUNDLE);
const cache = join(DIST, CODE_CACHE);

rmSync(cache, { force: true });
buildSync({
  entryPoints: [join(DIST, BUNDLE_ENTRY)],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: bundle,
  external: ['prom-client', 'ioredis', 'yaml'],
  legalComments: 'none',
  logLevel: 'error',
});

// The cache is taken after a run (`--version`: every module's top level and the command line parsed), so it
// holds the functions start-up compiles, not only the outermost one. Made by the Node that will run it.
const train = `
const { compileBundle, runBundle } = require(${JSON.stringify(join(DIST, 'boot.js'))});
const { writeFileSync } = require('node:fs');
const script = compileBundle(${JSON.stringify(bundle)});
process.on('exit', () => writeFileSync(${JSON.stringify(cache)}, script.createCachedData()));
runBundle(script, ${JSON.stringify(bundle)});
`;
const trained = spawnSync(process.execPath, ['-e', train, bundle, '--version'], { stdio: ['ignore', 'ignore', 'inherit'] });
if (trained.status !== 0) {
  process.stderr.write(`bundle: recording the code cache failed (exit ${trained.status}); dist/ runs without it\n`);
  rmSync(cache, { force: true });
}
