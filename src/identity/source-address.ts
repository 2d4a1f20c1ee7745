/**
 * The IPv6 source address this host's kernel would choose to reach the Internet, found without sending
 * anything: a UDP socket "connected" to a global address only asks the kernel for a route and a source
 * address (RFC 6724 selection); no packet leaves. No route, or only a non-global source (ULA, link-local),
 * means mail does not go out over IPv6 from here, and there is no IPv6 identity to check.
 */
import { createSocket } from 'node:dgram';
import { isSpecialAddress } from '../net/special-address.js';
import { canonicalIpv6 } from '../net/ipv6-text.js';

/** Any global unicast address will do; nothing is sent to it. (A root server's, stable for decades.) */
const GLOBAL_DESTINATION = '2001:500:2::c';

/** Unique local addresses (fc00::/7) cannot reach the Internet either, whatever the routing table says. */
function isGlobalUnicast(address: string): boolean {
  return !isSpecialAddress(address) && !/^f[cd]/i.test(address);
}

export function discoverIpv6Source(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp6' });
    let finished = false;
    // Settles once: an error may follow the connect callback, and closing twice throws.
    const done = (address: string | undefined): void => {
      if (finished) return;
      finished = true;
      socket.close();
      resolve(address);
    };
    socket.on('error', () => done(undefined));
    try {
      socket.connect(53, GLOBAL_DESTINATION, () => {
        let address: string | undefined;
        try {
          address = canonicalIpv6(socket.address().address);
        } catch {
          address = undefined;
        }
        done(address !== undefined && isGlobalUnicast(address) ? address : undefined);
      });
    } catch {
      done(undefined);
    }
  });
}
