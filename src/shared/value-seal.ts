/**
 * Values in the shared cache are believed only if a fleet member wrote them. Anyone with write access to
 * Redis could otherwise route a fleet's mail: one planted MX host value made every instance answer an
 * attacker's address for every domain on that host. Each value is sealed with HMAC-SHA256 under the fleet's
 * secret (`shared_cache_key_file`) over the key it is stored under, its expiry time and its text, so a value
 * can be neither forged, nor moved to another key, nor kept alive past the life its writer gave it.
 * Format: `<expires at, ms since the epoch>.<MAC, base64url>.<text>`. Pure.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readRegularFile, FileReadError } from '../files/regular-file.js';
import { ConfigError } from '../errors.js';

/** Shortest secret accepted: `openssl rand -base64 32` prints 44 characters. */
export const MIN_SECRET_CHARS = 32;
const MAC_CHARS = 43;

export class ValueSeal {
  constructor(private readonly secret: Buffer) {}

  private mac(key: string, expiresAt: number, text: string): string {
    return createHmac('sha256', this.secret).update(`${key}\n${expiresAt}\n`).update(text).digest('base64url');
  }

  seal(key: string, text: string, expiresAt: number): string {
    const at = Math.round(expiresAt);
    return `${at}.${this.mac(key, at, text)}.${text}`;
  }

  /** The text and how long it has left, or undefined: not sealed by this secret for this key, or expired. */
  open(key: string, sealed: string, now: number): { text: string; remainingMs: number } | undefined {
    const dot = sealed.indexOf('.');
    if (dot < 1 || dot > 16 || sealed.charCodeAt(dot + 1 + MAC_CHARS) !== 0x2e) return undefined;
    const head = sealed.slice(0, dot);
    if (!/^\d+$/.test(head)) return undefined;
    const expiresAt = Number(head);
    const given = Buffer.from(sealed.slice(dot + 1, dot + 1 + MAC_CHARS));
    const text = sealed.slice(dot + 2 + MAC_CHARS);
    const expected = Buffer.from(this.mac(key, expiresAt, text));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const remainingMs = expiresAt - now;
    return remainingMs > 0 ? { text, remainingMs } : undefined;
  }
}

/** The secret: the key file's first line; throws ConfigError naming the file and what is wrong with it. */
export function readSealSecret(path: string): Buffer {
  let first: string;
  try {
    first = readRegularFile(path, 64 * 1024)
      .split('\n')[0]
      .replace(/\r$/, '')
      .trim();
  } catch (err) {
    if (err instanceof FileReadError) throw new ConfigError(`shared_cache_key_file ${path} ${err.reason}`);
    throw err;
  }
  if (first.length < MIN_SECRET_CHARS) {
    throw new ConfigError(
      `shared_cache_key_file ${path}: its first line must hold a secret of at least ${MIN_SECRET_CHARS} characters, the same on every instance (openssl rand -base64 32 > ${path})`,
    );
  }
  return Buffer.from(first, 'utf8');
}
