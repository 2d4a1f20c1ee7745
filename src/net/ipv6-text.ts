/**
 * The one text form of an IPv6 address: the form node gives the source of a reply ([0:0:0:0:0:0:0:1] and
 * [::0001] are both ::1). Replies, our own addresses and configured addresses are compared as text, so each
 * is written this way first.
 */
export function canonicalIpv6(host: string): string {
  if (host.includes('%')) return host.toLowerCase(); // a zone: kept as written
  return new URL(`http://[${host}]`).hostname.slice(1, -1);
}
