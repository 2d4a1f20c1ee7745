/**
 * One temporary directory for the whole run: every test's mkdtemp(tmpdir()) lands inside it (TMPDIR is what
 * os.tmpdir() reads, in this process and in the programs the tests start), and global-teardown.js removes it.
 */
const { mkdtempSync } = require('node:fs');
const { join } = require('node:path');
const { tmpdir } = require('node:os');

module.exports = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mx4map-test-run-'));
  process.env.TEST_RUN_DIR_OF_MX4MAP = dir;
  process.env.TMPDIR = dir;
};
