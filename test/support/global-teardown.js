/**
 * Leaves the machine as the run found it: the run's temporary directory goes, and so do the documentation
 * addresses (2001:db8:ffff::…, test-addresses.ts) the suites put on lo — shared by several suites, so
 * removed once, here, at the end.
 */
const { rmSync } = require('node:fs');
const { spawnSync } = require('node:child_process');

module.exports = async () => {
  const dir = process.env.TEST_RUN_DIR_OF_MX4MAP;
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (process.getuid?.() !== 0) return;
  const shown = spawnSync('ip', ['-6', '-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
  for (const m of (shown.stdout ?? '').matchAll(/inet6 (2001:db8:ffff:[0-9a-f:]*)\/128/g)) {
    spawnSync('ip', ['-6', 'addr', 'del', `${m[1]}/128`, 'dev', 'lo']);
  }
};
