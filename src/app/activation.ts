/**
 * systemd socket activation: listening sockets passed as descriptors 3, 4, … (sd_listen_fds(3)). While
 * mx4map restarts, the kernel keeps accepting into the socket's backlog, so sendmail and Postfix wait a
 * moment instead of being refused (sendmail marks a map whose connect was refused bogus for the life of
 * that process; Postfix answers every RCPT with 451 while the map is down).
 */

/** First descriptor systemd passes (SD_LISTEN_FDS_START). */
const FIRST_FD = 3;

export interface PassedSocket {
  readonly fd: number;
  /** FileDescriptorName= of the socket unit, or "unknown". */
  readonly name: string;
}

/**
 * The sockets passed to this process, or undefined when none were (LISTEN_PID must name this process:
 * variables inherited from a parent that was activated do not count). The variables are removed once
 * read, so processes mx4map starts do not take the sockets for theirs.
 */
export function passedSockets(env: NodeJS.ProcessEnv = process.env, pid = process.pid): PassedSocket[] | undefined {
  const count = Number(env.LISTEN_FDS);
  const forUs = env.LISTEN_PID !== undefined && Number(env.LISTEN_PID) === pid;
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (!forUs || !Number.isSafeInteger(count) || count < 1) return undefined;
  return Array.from({ length: count }, (_, i) => ({ fd: FIRST_FD + i, name: names[i] || 'unknown' }));
}
