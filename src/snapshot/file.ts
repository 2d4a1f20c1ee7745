/**
 * The cache snapshot on disk. Written atomically — a temporary file beside it, fsync, rename, fsync of the
 * directory — so a crash or power loss leaves either the old snapshot or the new one, never half of one.
 * The temporary file has an unpredictable name and is created exclusively without following links, so a
 * link planted in the directory cannot make us overwrite its target. Reading goes through readRegularFile:
 * a FIFO, a device or an oversized file at the path is refused, not read.
 */
import { constants } from 'node:fs';
import { access, open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { FileReadError, readRegularFile } from '../files/regular-file.js';

export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
  // The rename itself is durable only once the directory entry is.
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** The file's text, or undefined when there is none yet (first start). Throws FileReadError. */
export function readIfPresent(path: string, maxBytes: number): string | undefined {
  try {
    return readRegularFile(path, maxBytes);
  } catch (err) {
    if (err instanceof FileReadError && err.fault === 'missing') return undefined;
    throw err;
  }
}

/** Why the snapshot's directory cannot take it, or undefined when it can. */
export async function directoryProblem(path: string): Promise<string | undefined> {
  try {
    await access(dirname(path), constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? `the directory ${dirname(path)} does not exist` : `the directory ${dirname(path)} is not writable (${code ?? 'error'})`;
  }
}
