/**
 * The kernel's IPv6 source address for a global destination, found in network namespaces of the test's
 * own (unshare -n, as root) whose addresses and routes it sets: a global address with a default route is
 * found; a unique-local one, or no route at all, is not.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describeRequiring } from '../support/requires';

const MODULE = join(__dirname, '..', '..', 'dist', 'identity', 'source-address.js');

function unshareMissing(): string | undefined {
  return spawnSync('unshare', ['-n', 'true']).status === 0 ? undefined : 'unshare -n needs root and util-linux';
}

/** Runs the discovery in a fresh network namespace set up by `setup` (ip commands); its result. */
function discoverIn(setup: string[]): string {
  const script = [...setup, `${process.execPath} -e 'require(${JSON.stringify(MODULE)}).discoverIpv6Source().then((a) => console.log(String(a)))'`].join(
    ' && ',
  );
  const run = spawnSync('unshare', ['-n', 'bash', '-c', script], { encoding: 'utf8', timeout: 20_000 });
  if (run.status !== 0) throw new Error(`namespace run failed: ${run.stderr}`);
  return run.stdout.trim();
}

describeRequiring(unshareMissing(), 'network-namespace tests')('discoverIpv6Source', () => {
  test('a global address and a default route: that address', () => {
    expect(discoverIn(['ip link set lo up', 'ip -6 addr add 2001:db8:1::5/64 dev lo', 'ip -6 route add default dev lo'])).toBe('2001:db8:1::5');
  });
  test('only a unique-local address (fd00::/8): none (it cannot reach the Internet)', () => {
    expect(discoverIn(['ip link set lo up', 'ip -6 addr add fd00:1::5/64 dev lo', 'ip -6 route add default dev lo'])).toBe('undefined');
  });
  test('no IPv6 route at all: none', () => {
    expect(discoverIn(['ip link set lo up'])).toBe('undefined');
  });
});
