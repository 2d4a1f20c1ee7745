/**
 * Where the shared cache lives: `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS),
 * `unix:/path/to/redis.sock[?db=N]`, or `redis-sentinel://[user:password@]host[:port][,host[:port]…]/master[/db]`
 * (the master a Sentinel group names; the password is the master's, sentinels are asked without one).
 * Pure. A password in the text is never shown (check-config, logs): prefer `shared_cache_password_file`.
 */
import { type ValueKind, ValueProblem, describe } from '../text/values.js';

export interface RedisSpec {
  readonly tls: boolean;
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  /** With redis-sentinel://: the sentinels to ask, and the master group they are asked about. */
  readonly sentinels?: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly masterName?: string;
}

const SENTINEL_PORT = 26379;
const SENTINEL = /^redis-sentinel:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/@]+)\/([A-Za-z0-9._-]+)(?:\/([^/]*))?$/;

/** One `host[:port]` or `[v6]:port` of a sentinel list. */
function sentinelAddress(item: string, text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(item.trim());
  const port = m?.[3] === undefined ? SENTINEL_PORT : Number(m[3]);
  if (!m || port < 1 || port > 65535) throw new ValueProblem(`"${hidePassword(text)}": "${item}" is not a sentinel host[:port]`);
  return { host: m[1] ?? m[2], port };
}

const MAX_DB = 15;

function database(text: string | null): number {
  if (text === null || text === '') return 0;
  if (!/^\d+$/.test(text) || Number(text) > MAX_DB) throw new ValueProblem(`names database "${text}": a number from 0 to ${MAX_DB}`);
  return Number(text);
}

export function parseRedisSpec(text: string): RedisSpec {
  if (text.startsWith('unix:')) {
    const [path, query = ''] = text
      .slice('unix:'.length)
      .replace(/^\/\/(?=\/)/, '')
      .split('?', 2);
    if (!path.startsWith('/')) throw new ValueProblem(`"${text}": a UNIX socket needs an absolute path (unix:/run/redis/redis.sock)`);
    return { tls: false, path, db: database(new URLSearchParams(query).get('db')) };
  }
  if (text.startsWith('redis-sentinel:')) {
    const m = SENTINEL.exec(text);
    if (!m) throw new ValueProblem(`"${hidePassword(text)}" is not redis-sentinel://host:port[,host:port…]/master[/db]`);
    return {
      tls: false,
      sentinels: m[3].split(',').map((item) => sentinelAddress(item, text)),
      masterName: m[4],
      db: database(m[5] ?? null),
      ...(m[1] ? { username: decodeURIComponent(m[1]) } : {}),
      ...(m[2] ? { password: decodeURIComponent(m[2]) } : {}),
    };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValueProblem(`"${hidePassword(text)}" is not redis://host:port/db, rediss://host:port/db, redis-sentinel://host:port/master or unix:/path`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
    throw new ValueProblem(`"${hidePassword(text)}": use redis://, rediss://, redis-sentinel:// or unix:`);
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

/** A parsed `shared_cache` value, with its text as shown (password hidden). */
export interface SharedCacheSpec {
  readonly spec: RedisSpec;
  readonly shown: string;
}

/** The `shared_cache` option: empty (off: undefined) or a spec, parsed once. */
export const sharedCacheSpec: ValueKind<SharedCacheSpec | undefined> = {
  syntax: 'redis://host:port/db, rediss://…, redis-sentinel://host:port,…/master/db, unix:/path',
  parse(value) {
    if (typeof value !== 'string') throw new ValueProblem(`must be text, got ${describe(value)}`);
    return value === '' ? undefined : { spec: parseRedisSpec(value), shown: hidePassword(value) };
  },
  show: (v) => (v === undefined ? '(none)' : v.shown),
};
