#!/usr/bin/env node
// `npm run build`, after tsc: bundles the CLI into dist/mx4map.cjs and records V8's compiled code for it in
// dist/mx4map.cjs.v8cache (src/boot.ts says why). Packages loaded only after listening or only for some
// features (prom-client, ioredis, yaml) stay outside the bundle, read from node_modules when first needed.
const { spawn } = require('node:child_process');
const { existsSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { buildSync } = require('esbuild');

const DIST = join(__dirname, '..', 'dist');
const { BUNDLE, BUNDLE_ENTRY, CODE_CACHE } = require(join(DIST, 'boot.js'));
const bundle = join(DIST, BUNDLE);
const cache = join(DIST, CODE_CACHE);

rmSync(cache, { force: true });
const built = buildSync({
  entryPoints: [join(DIST, BUNDLE_ENTRY)],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: bundle,
  write: false,
  external: ['prom-client', 'ioredis', 'yaml'],
  legalComments: 'none',
  logLevel: 'error',
});
// Renamed into place: a build cut short leaves the previous bundle (older than the modules, so unused), never half of one.
writeFileSync(`${bundle}.tmp`, built.outputFiles[0].contents);
renameSync(`${bundle}.tmp`, bundle);

// The cache is taken after a run, so it holds the functions that run compiles, not only the outermost one:
// a `serve` started on a loopback port with no configuration file and stopped once it listens (everything a
// start compiles, shutdown too), or if that cannot run here, `--version` (every module's top level and the
// command line parsed). Made by the Node that will run it; V8 rejects it under another (src/boot.ts).
const train = (args) =>
  new Promise((resolve) => {
    const program = `
      const { compileBundle, runBundle } = require(${JSON.stringify(join(DIST, 'boot.js'))});
      const { writeFileSync } = require('node:fs');
      const script = compileBundle(${JSON.stringify(bundle)});
      process.on('exit', (code) => code === 0 && writeFileSync(${JSON.stringify(cache)}, script.createCachedData()));
      runBundle(script, ${JSON.stringify(bundle)});
    `;
    const child = spawn(process.execPath, ['-e', program, bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      if (String(d).includes('"evt":"listening"')) child.kill('SIGTERM');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 && existsSync(cache) ? undefined : `exit ${code}${stderr ? `: ${stderr.trim().split('\n')[0]}` : ''}`);
    });
  });

(async () => {
  const serving = await train(['serve', '--config', '', '--listen', 'inet:0@127.0.0.1', '--dns', '127.0.0.1:9', '--no-probe']);
  if (serving === undefined) return;
  const version = await train(['--version']);
  if (version === undefined) {
    process.stderr.write(`bundle: serve could not run for the code cache (${serving}); recorded after --version instead\n`);
    return;
  }
  process.stderr.write(`bundle: recording the code cache failed (serve ${serving}; --version ${version}); dist/ runs without it\n`);
})();
