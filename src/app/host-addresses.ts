/**
 * This host's names and interface addresses, read from the machine for "is this us?" (engine/locality.ts).
 * The interface list comes from getifaddrs(3), which needs a netlink socket: a sandbox that forbids one
 * (systemd's RestrictAddressFamilies= without AF_NETLINK) makes Node throw. That must never stop the
 * daemon: the read reports the problem instead, and the caller falls back to local_addresses and the host
 * name until a later read works.
 */
import { hostname, networkInterfaces } from 'node:os';
import { type InterfaceTable, interfaceAddresses } from '../engine/locality.js';

export type InterfaceRead = { readonly addresses: readonly string[] } | { readonly addresses: readonly []; readonly problem: string };

/** errno 97 on Linux: what socket(AF_NETLINK) returns when a seccomp filter forbids the family. */
const EAFNOSUPPORT = 97;

export function readInterfaceAddresses(read: () => InterfaceTable = networkInterfaces): InterfaceRead {
  try {
    return { addresses: interfaceAddresses(read()) };
  } catch (err) {
    return { addresses: [], problem: describeReadError(err) };
  }
}

/**
 * One line, no stack. Node reports this failure with the C errno (97, not -97) and so names it
 * "Unknown system error 97"; the line names it by what it means.
 */
function describeReadError(err: unknown): string {
  const info = (err as { info?: { syscall?: string; code?: string; errno?: number } }).info;
  if (!info) return err instanceof Error ? err.message : String(err);
  const errno = Math.abs(info.errno ?? 0);
  if (errno === EAFNOSUPPORT)
    return `${info.syscall ?? 'getifaddrs'}: netlink sockets are not allowed here (a systemd unit needs AF_NETLINK in RestrictAddressFamilies=)`;
  return `${info.syscall ?? 'getifaddrs'}: ${info.code ?? `errno ${errno}`}`;
}

/** The host name, or none when it cannot be read. */
export function readHostNames(read: () => string = hostname): string[] {
  try {
    return [read()];
  } catch {
    return [];
  }
}
