/**
 * UNIX socket housekeeping: replace a stale socket file left by a crashed run, refuse to take over a live
 * one or a file that is not a socket, and give the socket its mode and group.
 */
import { connect } from 'node:net';
import { promises as fs, readFileSync } from 'node:fs';
import { ListenError } from '../errors.js';

/** Probes an existing socket file: a live server answers the connect, a stale file refuses it. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

export async function clearStaleSocket(path: string): Promise<void> {
  let stat;
  try {
    stat = await fs.lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ListenError(`cannot inspect ${path}: ${(err as Error).message}`);
  }
  if (!stat.isSocket()) throw new ListenError(`${path} exists and is not a socket; remove it or choose another listen path`);
  if (await isLive(path)) throw new ListenError(`${path} is in use by a running server (is mx4map already running?)`);
  await fs.unlink(path);
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
  if (group !== '') await fs.chown(path, -1, resolveGroup(group));
  await fs.chmod(path, mode);
}
