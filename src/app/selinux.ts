/**
 * SELinux and mx4map's UNIX socket. Under the targeted policy (Fedora, RHEL and its rebuilds) sendmail
 * (sendmail_t) and Postfix (postfix_*_t) may connect to any TCP port, but a connect to the UNIX socket of a
 * process that is not one of their known peers is denied, and the MTA reports only a failed connection: the
 * map looks down for no visible reason. Loopback TCP works without a policy module.
 */
import { readFileSync } from 'node:fs';

export const SELINUX_ENFORCE_FILE = '/sys/fs/selinux/enforce';

/** Whether SELinux is loaded and enforcing (its enforce file reads 1). */
export function selinuxEnforcing(file = SELINUX_ENFORCE_FILE): boolean {
  try {
    return readFileSync(file, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

/** One line naming the fix when UNIX sockets are served on an enforcing system; undefined otherwise. */
export function selinuxSocketWarning(unixSockets: readonly string[], enforcing: boolean): string | undefined {
  if (!enforcing || unixSockets.length === 0) return undefined;
  return `SELinux is enforcing: sendmail and Postfix may not connect to the UNIX socket ${unixSockets.join(', ')} without a policy module; listen on inet:8425@127.0.0.1 instead (loopback TCP is allowed) and point the K line or main.cf there (README: Fedora, RHEL and SELinux)`;
}
