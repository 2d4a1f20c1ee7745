/**
 * Where the shared cache lives: `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS), or
 * `unix:/path/to/redis.sock[?db=N]`. Pure. A password in the text is never shown (check-config, logs):
 * prefer `shared_cache_password_file`.
 */
import { ValueKind, ValueProblem, describe } from '../config/values.js';

export interface RedisSpec {
  readonly tls: boolean;
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
}

const MAX_DB = 15;

function database(text: string | null): number {
  if (text === null || text === '') return 0;
  if (!/^\d+$/.test(text) || Number(text) > MAX_DB) throw new ValueProblem(`names database "${text}": a number from 0 to ${MAX_DB}`);
  return Number(text);
}

export function parseRedisSpec(text: string): RedisSpec {
  if (text.startsWith('unix:')) {
    const [path, query = ''] = text.slice('unix:'.length).replace(/^\/\/(?=\/)/, '').split('?', 2);
    if (!path.startsWith('/')) throw new ValueProblem(`"${text}": a UNIX socket needs an absolute path (unix:/run/redis/redis.sock)`);
    return { tls: false, path, db: database(new URLSearchParams(query).get('db')) };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueProblem(`"${hidePassword(text)}" is not redis://host:port/db, rediss://host:port/db or unix:/path`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new ValueProblem(`"${hidePassword(text)}": use redis://, rediss:// or unix:`);
  if (url.hostname === '') throw new ValueProblem(`"${hidePassword(text)}" names no host`);
  return {
    tls: url.protocol === 'rediss:',
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    db: database(url.pathname.replace(/^\//, '')),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** The text with any password replaced, for messages and the effective configuration. */
export function hidePassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

/** The `shared_cache` option: empty (off) or a spec. */
export const redisSpecText: ValueKind<string> = {
  syntax: 'redis://host:port/db, rediss://…, unix:/path',
  parse(value) {
    if (typeof value !== 'string') throw new ValueProblem(`must be text, got ${describe(value)}`);
    if (value !== '') parseRedisSpec(value);
    return value;
  },
  show: (v) => (v === '' ? '(none)' : hidePassword(v)),
};
