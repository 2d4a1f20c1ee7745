/**
 * An input file a command reads (`learn LOG`, `replay FILE`), or `-` for stdin: checked before reading, so a
 * missing file, a directory or a FIFO left open is one line naming the file, never an error halfway through.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { ConfigError } from '../errors.js';

export function openInput(path: string, what: string, hint = ''): Readable {
  if (path === '-') return process.stdin;
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `cannot read the ${what} ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
    );
  }
  if (!isFile) throw new ConfigError(`the ${what} ${path} is not a regular file${hint}`);
  return createReadStream(path);
}
