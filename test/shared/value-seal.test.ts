import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValueSeal, readSealSecret } from '../../src/shared/value-seal';

const seal = new ValueSeal(Buffer.from('a-fleet-secret-of-enough-length-0123456789'));
const NOW = 1_800_000_000_000;

describe('ValueSeal', () => {
  test('what it seals for a key opens for that key with the life left', () => {
    const sealed = seal.seal('mx4map:2:host:mx.example', '{"a":1}', NOW + 60_000);
    expect(seal.open('mx4map:2:host:mx.example', sealed, NOW)).toEqual({ text: '{"a":1}', remainingMs: 60_000 });
    expect(seal.open('mx4map:2:host:mx.example', sealed, NOW + 59_999)).toEqual({ text: '{"a":1}', remainingMs: 1 });
  });

  test('nothing else opens: another key, another secret, an edited text or expiry, expired, malformed', () => {
    const key = 'mx4map:2:host:mx.example';
    const sealed = seal.seal(key, '{"a":1}', NOW + 60_000);
    expect(seal.open('mx4map:2:host:mx.other', sealed, NOW)).toBeUndefined();
    expect(new ValueSeal(Buffer.from('another-secret-of-enough-length-0123456789')).open(key, sealed, NOW)).toBeUndefined();
    expect(seal.open(key, sealed.replace('{"a":1}', '{"a":2}'), NOW)).toBeUndefined();
    expect(seal.open(key, sealed.replace(/^\d+/, String(NOW + 3_600_000)), NOW)).toBeUndefined();
    expect(seal.open(key, sealed, NOW + 60_000)).toBeUndefined();
    for (const bad of ['', '{"a":1}', '.x.y', `${NOW}..{}`, `${NOW}.${'A'.repeat(43)}`, `-1.${'A'.repeat(43)}.{}`])
      expect(seal.open(key, bad, NOW)).toBeUndefined();
  });
});

describe('readSealSecret', () => {
  const file = (text: string): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-seal-')), 'fleet.key');
    writeFileSync(path, text);
    return path;
  };

  test('the first line, trimmed', () => {
    expect(readSealSecret(file('  0123456789abcdef0123456789abcdef  \nignored\n')).toString()).toBe('0123456789abcdef0123456789abcdef');
  });

  test('too short, missing or not a file: one message naming the file and the fix', () => {
    const short = file('short\n');
    expect(() => readSealSecret(short)).toThrow(
      `shared_cache_key_file ${short}: its first line must hold a secret of at least 32 characters, the same on every instance (openssl rand -base64 32 > ${short})`,
    );
    expect(() => readSealSecret('/nonexistent/fleet.key')).toThrow('shared_cache_key_file /nonexistent/fleet.key does not exist');
    expect(() => readSealSecret(tmpdir())).toThrow(`shared_cache_key_file ${tmpdir()} is a directory, not a regular file`);
  });
});
