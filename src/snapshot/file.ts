/**
 * The cache snapshot on disk. Written atomically — a temporary file beside it, fsync, rename, fsync of the
 * directory — so a crash or power loss leaves either the old snapshot or the new one, never half of one.
 */
import { constants } from 'node:fs';
import { access, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  try {
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

/** The file's text, or undefined when there is none yet (first start). */
export async function readIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
