/**
 * Addresses that can never be a remote mail host: unspecified, loopback, link-local, multicast, broadcast,
 * reserved (IPv4 0/8, 127/8, 169.254/16, 224/4, 240/4 with 255.255.255.255; IPv6 ::, ::1, fe80::/10,
 * ff00::/8 and v4-mapped ::ffff:0:0/96). A zone owner who publishes one would make mx4map route mail to
 * this host or nowhere (`[127.0.0.1]`), or probe the local MTA and call the domain's IPv6 healthy. They are
 * never routes and never probed. Private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) and the
 * documentation prefixes stay usable: intranets route mail over them.
 */
import { BlockList, isIP } from 'node:net';

// One list per family: a BlockList holding ::ffff:0:0/96 would match every IPv4 address.
const special4 = new BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  special4.addSubnet(prefix, bits, 'ipv4');
const special6 = new BlockList();
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10],
  ['ff00::', 8],
  ['::ffff:0:0', 96],
] as const)
  special6.addSubnet(prefix, bits, 'ipv6');

/** An octet as isIP reads it in dotted form: 0-255, no leading zero. */
const OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;

/** IPv4 in dotted-quad form, checked by its octets (isIP's and BlockList's parsing cost more than this). */
function special4Octets(address: string): boolean | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  const [a, b] = [Number(parts[0]), Number(parts[1])];
  if (!parts.every((p) => OCTET.test(p))) return undefined;
  return a === 0 || a === 127 || a >= 224 || (a === 169 && b === 254);
}

export function isSpecialAddress(address: string): boolean {
  if (!address.includes(':')) {
    const v4 = special4Octets(address);
    if (v4 !== undefined) return v4;
  }
  return isSpecialByParsers(address);
}

/** The same rule through node's own parsers (isIP, BlockList), for any spelling; not an address is special. */
export function isSpecialByParsers(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return special4.check(address, 'ipv4');
  return family !== 6 || special6.check(address, 'ipv6');
}
