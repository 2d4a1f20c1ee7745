/**
 * The cache snapshot on disk. Written atomically (../files/atomic-write.ts), so a crash or power loss leaves
 * either the old snapshot or the new one, never half of one. Reading goes through readRegularFile: a FIFO,
 * a device or an oversized file at the path is refused, not read.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileReadError, readRegularFile } from '../files/regular-file.js';

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
