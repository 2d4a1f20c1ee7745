/** DNS server addresses: `HOST:PORT`, `[v6]:PORT` or a bare address (port 53); and the system's own. */
import { getServers } from 'node:dns';
import { isIP } from 'node:net';
import type { DnsServer } from './transport.js';
import { isLoopbackHost } from '../net/loopback.js';
import { canonicalIpv6 } from '../net/ipv6-text.js';

/** Parses one server, or returns why it is not one. */
export function parseDnsServer(text: string): DnsServer | { problem: string } {
  const t = text.trim();
  let host = t;
  let port = 53;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracketed) {
    host = bracketed[1];
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(t) !== 6) {
    const m = /^([^:]+):(\d+)$/.exec(t);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  const family = isIP(host);
  if (family === 0) return { problem: `"${text}" is not an IP address with an optional port (192.0.2.53:53, [2001:db8::53]:53)` };
  if (!(port >= 1 && port <= 65535)) return { problem: `"${text}" has a port outside 1-65535` };
  return { host: family === 6 ? canonicalIpv6(host) : host, port, family: family as 4 | 6 };
}

export function formatDnsServer(server: DnsServer): string {
  return server.family === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/** The resolvers this machine is configured with (resolv.conf), as node reads them. */
export function systemDnsServers(): DnsServer[] {
  return getServers()
    .map(parseDnsServer)
    .filter((s): s is DnsServer => !('problem' in s));
}

/**
 * The warning for `dnssec: trust-ad` with a resolver that is not on this host: its AD bit crosses the
 * network unauthenticated, and a spoofed one would suppress forcing (which fails open, but still is not
 * what the administrator asked for). Undefined when every resolver is on loopback.
 */
export function trustAdWarning(servers: readonly DnsServer[]): string | undefined {
  const remote = servers.filter((s) => !isLoopbackHost(s.host));
  if (remote.length === 0) return undefined;
  return `dnssec: trust-ad believes the AD bit of ${remote.map((s) => s.host).join(', ')}, not on this host: anyone on the path can set it; use a validating resolver on loopback (unbound, systemd-resolved with DNSSEC) or dnssec: off`;
}
