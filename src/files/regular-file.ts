/**
 * Reads the files the configuration names (the configuration file, override pattern files, the cache
 * snapshot) without trusting what is at the path. The path is opened without blocking — a FIFO would hang a
 * plain open until a writer came — and the opened descriptor must be a regular file: a FIFO, a device
 * (/dev/zero reads forever) or a socket is refused, also when a symlink leads to it. The file may not be
 * longer than a cap, checked before reading and while reading (it may grow).
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

export type FileFault = 'missing' | 'unreadable' | 'not-regular' | 'too-large' | 'error';

export class FileReadError extends Error {
  constructor(
    readonly fault: FileFault,
    /** Completes "<what> <path> …": "does not exist", "is a FIFO, not a regular file", … */
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'FileReadError';
  }
}

function kindOf(stat: import('node:fs').Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

function openFault(err: NodeJS.ErrnoException): FileReadError {
  switch (err.code) {
    case 'ENOENT':
      return new FileReadError('missing', 'does not exist');
    case 'EACCES':
    case 'EPERM':
      return new FileReadError('unreadable', 'is not readable (permission denied)');
    case 'ELOOP':
      return new FileReadError('unreadable', 'is a symlink loop');
    default:
      return new FileReadError('error', `cannot be read (${err.code ?? err.message})`);
  }
}

/** The file's text (UTF-8); throws FileReadError. */
export function readRegularFile(path: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw openFault(err as NodeJS.ErrnoException);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const kind = kindOf(stat);
      throw new FileReadError('not-regular', kind === 'not a regular file' ? kind : `is ${kind}, not a regular file`);
    }
    if (stat.size > maxBytes) throw new FileReadError('too-large', `is ${stat.size} bytes, more than the ${maxBytes} allowed`);
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes + 1, Math.max(stat.size + 1, 4096)));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw new FileReadError('too-large', `grew past the ${maxBytes} bytes allowed while being read`);
        break;
      }
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > maxBytes) throw new FileReadError('too-large', `grew past the ${maxBytes} bytes allowed while being read`);
    return buffer.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    throw openFault(err as NodeJS.ErrnoException);
  } finally {
    closeSync(fd);
  }
}
