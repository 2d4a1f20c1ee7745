/**
 * IPv6 addresses for the SMTP endpoints that spawned servers probe. mx4map never probes loopback or other
 * special-purpose addresses (a zone publishing ::1 must not make it greet the local MTA), so the endpoints
 * listen on documentation addresses put on lo: local to this machine, yet addresses any remote host could
 * have. Adding them needs root and iproute2, like the MTA suites; they are left in place (several suites
 * share them) and harm nothing.
 */
import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';

export const TEST_IPV6 = '2001:db8:ffff::25';

/** The n-th extra test address (bench: one endpoint per MX host). */
export const testIpv6 = (n: number): string => `2001:db8:ffff::1:${n.toString(16)}`;

function present(address: string): boolean {
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((i) => i.address === address));
}

/** Puts the addresses on lo (once); throws naming what is missing when it cannot. */
export function ensureTestAddresses(addresses: readonly string[] = [TEST_IPV6]): void {
  for (const address of addresses) {
    if (present(address)) continue;
    const r = spawnSync('ip', ['-6', 'addr', 'add', `${address}/128`, 'dev', 'lo', 'nodad'], { encoding: 'utf8' });
    if (r.status !== 0 && !/exists/.test(r.stderr ?? '')) {
      throw new Error(
        `cannot put the test address ${address} on lo (${(r.stderr || r.error?.message || '').trim()}): the end-to-end tests need root and iproute2 (scripts/install-mtas.sh)`,
      );
    }
  }
}
