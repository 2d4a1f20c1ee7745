/**
 * A real redis-server of the test's own: started on a UNIX socket in a temporary directory (never the
 * system service, no TCP port), with nothing saved to disk. It can be paused, killed and started again
 * empty on the same socket, as the fault tests need.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort } from './free-port';
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
    child = spawn('redis-server', ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: 'ignore',
    });
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

export interface SentinelFixture {
  /** The spec mx4map takes: redis-sentinel://127.0.0.1:S/mx4map. */
  readonly spec: string;
  /** A client to the sentinel, for SENTINEL commands. */
  readonly sentinel: Redis;
  /** The ports of the two data servers (master and replica, in either role). */
  readonly ports: readonly number[];
  /** The port of the master Sentinel names now. */
  masterPort(): Promise<number>;
  /** A client to the server on `port` (master or replica). */
  clientTo(port: number): Redis;
  close(): Promise<void>;
}

/**
 * A Sentinel group of real redis-servers on loopback TCP: a master, one replica, one sentinel (quorum 1)
 * that fails over within seconds, each with its own files in a temporary directory.
 */
export async function startSentinelGroup(): Promise<SentinelFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'mx4map-sentinel-'));
  const [master, replica, sentinelPort] = [await freePort(), await freePort(), await freePort()];
  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  const server = async (port: number, extra: string[]): Promise<void> => {
    children.push(
      spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', `${port}.rdb`, ...extra],
        { stdio: 'ignore' },
      ),
    );
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await until(
      async () =>
        (await probe.connect().then(
          () => probe.ping(),
          () => undefined,
        )) === 'PONG',
      5000,
      `redis-server on ${port}`,
    );
    probe.disconnect();
  };
  await server(master, []);
  await server(replica, ['--replicaof', '127.0.0.1', String(master)]);
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor mx4map 127.0.0.1 ${master} 1`,
      'sentinel down-after-milliseconds mx4map 1000',
      'sentinel failover-timeout mx4map 5000',
      '',
    ].join('\n'),
  );
  children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
  const sentinel = new Redis({ port: sentinelPort, host: '127.0.0.1', maxRetriesPerRequest: 3 });
  sentinel.on('error', () => undefined);
  clients.push(sentinel);
  const masterPort = async (): Promise<number> => Number(((await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'mx4map')) as string[])[1]);
  // The sentinel must know the replica before it can fail over to it.
  await until(
    async () => ((await sentinel.call('SENTINEL', 'replicas', 'mx4map').catch(() => [])) as unknown[]).length > 0,
    15_000,
    'the sentinel to find the replica',
  );
  return {
    spec: `redis-sentinel://127.0.0.1:${sentinelPort}/mx4map`,
    sentinel,
    ports: [master, replica],
    masterPort,
    clientTo(port) {
      const client = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 3 });
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients) c.disconnect();
      await Promise.all(
        children.map((c) => {
          if (c.exitCode !== null || c.signalCode !== null) return undefined;
          const exited = new Promise((resolve) => c.once('exit', resolve));
          c.kill('SIGKILL');
          return exited;
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
