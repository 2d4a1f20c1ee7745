/** Hosts only this machine can reach: listeners bound elsewhere warrant a warning, resolvers elsewhere cannot be trusted with AD. */
const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost', 'ip6-loopback']);

/** True for a host only this machine can reach: 127/8, ::1, v4-mapped 127/8, and the loopback names. */
export function isLoopbackHost(text: string): boolean {
  const host = text.toLowerCase();
  return host.startsWith('127.') || host === '::1' || host.startsWith('::ffff:127.') || LOOPBACK_NAMES.has(host);
}
