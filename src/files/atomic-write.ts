/**
 * Writes a file whole or not at all: a temporary file beside it, fsync, rename, fsync of the directory, so a
 * crash or power loss leaves either the old file or the new one, never half of one (and a reload never reads
 * half of one). The temporary file has an unpredictable name and is created exclusively without following
 * links, so a link planted in the directory cannot make us overwrite its target.
 */
import { constants } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** `mode`: the new file's permissions (private by default; a file another user reads says so). */
export async function writeFileAtomically(path: string, text: string, mode = 0o600): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
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
