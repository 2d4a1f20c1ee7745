/**
 * A real redis-server of the test's own: started on a UNIX socket in a temporary directory (never the
 * system service, no TCP port), with nothing saved to disk. It can be paused, killed and started again
 * empty on the same socket, as the fault tests need.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { until } from './until';

export function redisMissing(): string | undefined {
  return spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server is not installed (package redis-server)';
}

export interface RedisFixture {
  /** The socket path, and the spec mx4map takes (`unix:/…/redis.sock`). */
  readonly path: string;
  readonly spec: string;
  /** A client for the test's own looks (keys, TTLs). */
  readonly client: Redis;
  pause(): void;
  resume(): void;
  /** SIGKILL: gone at once, with everything it held. */
  kill(): Promise<void>;
  /** Started again, empty, on the same socket. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedis(): Promise<RedisFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mx4map-redis-'));
  const path = join(dir, 'redis.sock');
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await until(() => existsSync(path), 5000, 'redis-server to create its socket');
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGCONT');
    c.kill('SIGKILL');
    await exited;
    rmSync(path, { force: true });
  };
  await start();
  const client = new Redis({ path, enableOfflineQueue: true, maxRetriesPerRequest: 3, lazyConnect: false });
  client.on('error', () => undefined);
  return {
    path,
    spec: `unix:${path}`,
    client,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    kill,
    start,
    async close() {
      client.disconnect();
      await kill();
    },
  };
}
