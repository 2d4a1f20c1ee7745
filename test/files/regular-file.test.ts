import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileReadError, readRegularFile } from '../../src/files/regular-file';

const dir = mkdtempSync(join(tmpdir(), 'mx4map-files-'));

function fault(path: string, max = 1000): FileReadError {
  try {
    readRegularFile(path, max);
  } catch (err) {
    if (err instanceof FileReadError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('readRegularFile: what the configuration names is checked before it is read', () => {
  test('a regular file is read, also through a symlink', () => {
    writeFileSync(join(dir, 'ok'), 'hello');
    symlinkSync(join(dir, 'ok'), join(dir, 'link-to-ok'));
    expect(readRegularFile(join(dir, 'ok'), 100)).toBe('hello');
    expect(readRegularFile(join(dir, 'link-to-ok'), 100)).toBe('hello');
  });

  test.each([
    ['missing', () => join(dir, 'none'), 'missing', 'does not exist'],
    ['a directory', () => (mkdirSync(join(dir, 'd')), join(dir, 'd')), 'not-regular', 'is a directory, not a regular file'],
    [
      'a FIFO (would hang a plain open)',
      () => (execFileSync('mkfifo', [join(dir, 'fifo')]), join(dir, 'fifo')),
      'not-regular',
      'is a FIFO, not a regular file',
    ],
    [
      '/dev/zero behind a link (would never end)',
      () => (symlinkSync('/dev/zero', join(dir, 'zero')), join(dir, 'zero')),
      'not-regular',
      'is a device, not a regular file',
    ],
    [
      'larger than the cap',
      () => (writeFileSync(join(dir, 'big'), 'x'.repeat(1001)), join(dir, 'big')),
      'too-large',
      'is 1001 bytes, more than the 1000 allowed',
    ],
  ])('%s: refused with one clear reason', (_name, make, kind, reason) => {
    const e = fault(make());
    expect(e.fault).toBe(kind);
    expect(e.reason).toBe(reason);
  });
});
