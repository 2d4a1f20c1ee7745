/**
 * UNIX socket housekeeping. A socket file left by a crashed run is replaced; a live server's is never taken
 * over; a file that is not a socket is refused. The socket is bound under a temporary name, given its mode
 * and group, then renamed into place, so it never appears with the wrong permissions. And since libuv
 * unlinks the path a listener was bound to when it closes, binding under the temporary name also stops a
 * closing server from removing a path that another server now serves: we remove the real path ourselves,
 * and only while it is still the file this process created (same device and inode).
 */
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { type Stats, promises as fs, readFileSync, readlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { ListenError } from '../errors.js';

/** How long a liveness probe may take; a server too busy to accept within it is alive. */
const PROBE_TIMEOUT_MS = 1000;
/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export type Liveness = 'live' | 'stale' | 'gone';

/**
 * Probes an existing socket file. Only a refused connection means nobody serves it: a full backlog
 * (EAGAIN), a timeout or any other error mean a server may well be there, and its path is left alone.
 */
export function probeSocket(path: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<Liveness> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    const done = (verdict: Liveness): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done('live'), timeoutMs);
    probe.once('connect', () => done('live'));
    probe.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'stale' : err.code === 'ENOENT' ? 'gone' : 'live'));
  });
}

export async function clearStaleSocket(path: string): Promise<void> {
  let stat: Stats;
  try {
    stat = await fs.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ListenError(`cannot inspect ${path}: ${(err as Error).message}`);
  }
  if (!stat.isSocket()) throw new ListenError(`${path} exists and is not a socket; remove it or choose another listen path`);
  const liveness = await probeSocket(path);
  if (liveness === 'live') throw new ListenError(`${path} is in use by a running server (is mx4map already running?)`);
  if (liveness === 'stale') await fs.unlink(path).catch(() => undefined);
}

/** Resolves a group name or number to a gid, reading /etc/group (Node has no getgrnam). */
export function resolveGroup(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = readFileSync(groupFile, 'utf8');
  } catch {
    // fall through to "not found"
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new ListenError(`socket_group "${group}" is not a group on this system (${groupFile}); give an existing group name or number`);
}

export async function applySocketPermissions(path: string, mode: number, group: string): Promise<void> {
  if (group !== '') {
    const gid = resolveGroup(group);
    try {
      await fs.chown(path, -1, gid);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPERM')
        throw new ListenError(
          `cannot give ${path} the group "${group}": this process is not a member of it (with systemd, add SupplementaryGroups=${group} to the unit)`,
        );
      throw new ListenError(`cannot give ${path} the group "${group}": ${code ?? (err as Error).message}`);
    }
  }
  await fs.chmod(path, mode);
}

/** A socket file this process created, identified by device and inode. */
export interface UnixListener {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/**
 * Binds a UNIX listener at `endpoint.path`: clears a stale file, binds under a temporary name in the same
 * directory with a private umask, applies mode and group, renames it into place. `bind` listens on a path.
 */
export async function bindUnixSocket(
  endpoint: { readonly path: string },
  permissions: { readonly mode: number; readonly group: string },
  bind: (path: string) => Promise<void>,
): Promise<UnixListener> {
  const path = endpoint.path;
  await clearStaleSocket(path);
  const temporary = join(dirname(path), `.${basename(path).slice(0, 8)}.${randomBytes(4).toString('hex')}`);
  // A temporary name longer than sun_path allows (a very short final name): bind the final path directly.
  const bindPath = Buffer.byteLength(temporary) <= MAX_SOCKET_PATH ? temporary : path;
  // The socket file is created with the umask's mode: keep it private until its own mode is applied.
  const oldMask = process.umask(0o177);
  try {
    await bind(bindPath);
  } finally {
    process.umask(oldMask);
  }
  try {
    await applySocketPermissions(bindPath, permissions.mode, permissions.group);
    if (bindPath !== path) await fs.rename(bindPath, path);
  } catch (err) {
    await fs.unlink(bindPath).catch(() => undefined);
    throw err;
  }
  const stat = await fs.lstat(path);
  return { path, dev: stat.dev, ino: stat.ino };
}

/** Removes the socket file at exit, only if it is still the one this process created. */
export async function removeOwnSocket(listener: UnixListener, log: Logger): Promise<void> {
  try {
    const stat = await fs.lstat(listener.path);
    if (stat.dev !== listener.dev || stat.ino !== listener.ino) {
      log.warn({ evt: 'socket-replaced', path: listener.path }, 'the socket file was replaced by another process; left in place');
      return;
    }
    await fs.unlink(listener.path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      log.warn({ evt: 'socket-unlink-failed', path: listener.path, error: (err as Error).message }, 'could not remove the socket file');
  }
}

/** The inode of a socket descriptor, or undefined when it is no socket; throws when /proc cannot be read. */
function socketInode(fd: number): string | undefined {
  return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1];
}

/** The row of a socket table of this process's network namespace (/proc/self/net/<table>) for an inode. */
function socketRow(table: 'tcp' | 'tcp6' | 'unix', inode: string): string[] | undefined {
  const column = table === 'unix' ? 6 : 9;
  for (const line of readFileSync(`/proc/self/net/${table}`, 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[column] === inode) return fields;
  }
  return undefined;
}

/**
 * The path of a UNIX socket descriptor passed to us (socket activation): Node cannot getsockname() one it
 * did not bind, so the inode is looked up in /proc/self/net/unix. Undefined when unknown (not Linux, no path).
 */
export function passedSocketPath(fd: number): string | undefined {
  try {
    const inode = socketInode(fd);
    const path = inode === undefined ? undefined : socketRow('unix', inode)?.[7];
    return path?.startsWith('/') ? path : undefined;
  } catch {
    // no /proc: the descriptor number will do
    return undefined;
  }
}

/** TCP state LISTEN in /proc/net/tcp; a listening UNIX socket carries __SO_ACCEPTCON in its flags. */
const TCP_LISTEN = '0A';
const SO_ACCEPTCON = 0x10000;

/**
 * Whether a passed descriptor is a listening stream socket: false for a socket that was never bound or
 * never listened on (Node would listen on it anyway, and the kernel bind it to a random port on every
 * address); undefined when /proc cannot tell.
 */
export function passedSocketListening(fd: number): boolean | undefined {
  try {
    const inode = socketInode(fd);
    if (inode === undefined) return false;
    const tcp = socketRow('tcp', inode) ?? socketRow('tcp6', inode);
    if (tcp) return tcp[3] === TCP_LISTEN;
    const unix = socketRow('unix', inode);
    return unix !== undefined && (parseInt(unix[3], 16) & SO_ACCEPTCON) !== 0;
  } catch {
    return undefined;
  }
}
