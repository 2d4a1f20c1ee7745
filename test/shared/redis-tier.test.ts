/** The Redis tier against a real redis-server: what it writes, what it believes on read, and how it fails. */
import pino from 'pino';
import { RedisTier } from '../../src/shared/redis-tier';
import { parseRedisSpec } from '../../src/shared/redis-spec';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { decisionKey, evidenceKey, hostKey, probeKey } from '../../src/shared/shared-entries';
import type { HostFacts } from '../../src/engine/facts';
import type { Decision } from '../../src/engine/decision';
import { describeRequiring } from '../support/requires';
import { type RedisFixture, type SentinelFixture, redisMissing, startRedis, startSentinelGroup } from '../support/redis';
import { until } from '../support/until';
import { type LogSink, logSink } from '../support/log-sink';
import { ValueSeal } from '../../src/shared/value-seal';

const SECRET = 'fleet-secret-for-the-tests-0123456789abcdef';
const seal = new ValueSeal(Buffer.from(SECRET));
/** The tier's options for a spec, sealing with the fleet's test secret. */
const tierOptions = (spec: string) => ({ spec: parseRedisSpec(spec), commandTimeoutMs: 1000, shown: spec, seal });

/** A TCP server standing in for a broken Redis: `answer` gets each chunk a client sends. */
async function fakeRedis(answer: (socket: Socket, chunk: Buffer) => void): Promise<{ spec: string; sockets: Socket[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined).on('data', (chunk) => answer(socket, chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    spec: `redis://127.0.0.1:${(server.address() as AddressInfo).port}/0`,
    sockets,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const host: HostFacts = {
  name: 'mx.example.com',
  aliases: [],
  canonical: 'mx.example.com',
  a: { kind: 'records', addresses: ['192.0.2.1'], ttl: 300 },
  aaaa: { kind: 'records', addresses: ['2001:db8::1', '2001:db8::2', '2001:db8::3'], ttl: 300 },
  ttl: 300,
};

const forced: Decision = { action: 'force-ipv4', triggers: ['cname-mx'], routes: [['192.0.2.10']] };

describeRequiring(redisMissing(), 'shared cache tests')('the Redis shared tier', () => {
  let redis: RedisFixture;
  let tier: RedisTier;
  let sink: LogSink;
  beforeAll(async () => {
    redis = await startRedis();
  });
  beforeEach(async () => {
    await redis.client.flushall();
    sink = logSink('info');
    tier = new RedisTier(tierOptions(redis.spec), sink.log);
    await until(() => tier.up, 5000, 'the tier to connect');
  });
  afterEach(() => tier.close());
  afterAll(() => redis.close());

  test('a decision is written with its whole kept life as PX, and read back fresh with the time left', async () => {
    tier.writeDecision('rule-a', 'example.com', forced, 60_000, 3_600_000);
    const key = decisionKey('rule-a', 'example.com');
    await until(() => tier.counters.writes.ok === 1, 2000, 'the write');
    expect(key).toMatch(/^mx4map:2:decision:[0-9a-f]{16}:example\.com$/);
    const pttl = await redis.client.pttl(key);
    expect(pttl).toBeGreaterThan(3_650_000);
    expect(pttl).toBeLessThanOrEqual(3_660_000);
    const read = await tier.readDecision('rule-a', 'example.com', 500);
    expect(read?.decision).toEqual(forced);
    expect(read?.freshMs).toBeGreaterThan(59_000);
    expect(read?.freshMs).toBeLessThanOrEqual(60_000);
    expect(tier.counters.decisionReads.hit).toBe(1);
  });

  test('another rule is another key space: its decisions are never read', async () => {
    tier.writeDecision('rule-a', 'example.com', forced, 60_000, 0);
    await until(() => tier.counters.writes.ok === 1, 2000, 'the write');
    expect(await tier.readDecision('rule-b', 'example.com', 500)).toBeUndefined();
    expect(tier.counters.decisionReads.miss).toBe(1);
  });

  /** A value as a fleet member with the secret would write it (content the readers must still check). */
  const plant = (key: string, text: string, lifeMs = 60_000): Promise<unknown> =>
    redis.client.set(key, seal.seal(key, text, Date.now() + lifeMs), 'PX', lifeMs);

  test('sealed values that do not check out are misses, counted apart: garbage, a route to loopback, a bad verdict', async () => {
    await plant(decisionKey('r', 'garbage.example'), 'not json');
    await plant(decisionKey('r', 'loopback.example'), JSON.stringify({ d: { action: 'force-ipv4', triggers: ['cname-mx'], routes: [['127.0.0.1']] }, s: 0 }));
    await plant(probeKey(25, '2001:db8::1'), JSON.stringify({ ok: true, o: 'timeout', d: 'x', ms: 1 }));
    expect(await tier.readDecision('r', 'garbage.example', 500)).toBeUndefined();
    expect(await tier.readDecision('r', 'loopback.example', 500)).toBeUndefined();
    expect(await tier.readProbe(25, '2001:db8::1', 500)).toBeUndefined();
    expect(tier.counters.decisionReads.invalid).toBe(2);
    expect(tier.counters.probeReads.invalid).toBe(1);
  });

  test('delivery-log evidence is shared under its key, read back with the time left; a planted value that does not check out is a miss', async () => {
    const evidence = {
      class: 'ptr' as const,
      scope: 'domain' as const,
      signal: 'microsoft-reverse-dns',
      seenAt: 1,
      relay: 'mx.customer.example',
      excerpt: '450 4.7.25',
    };
    tier.writeEvidence('domain:customer.example', evidence, 60_000);
    await until(() => tier.counters.writes.ok === 1, 2000, 'the write');
    const read = await tier.readEvidence('domain:customer.example', 500);
    expect(read?.evidence).toEqual(evidence);
    expect(read?.ttlMs).toBeGreaterThan(59_000);
    await plant(evidenceKey('domain:planted.example'), JSON.stringify({ ...evidence, class: 'route-everything', relay: '127.0.0.1' }));
    expect(await tier.readEvidence('domain:planted.example', 500)).toBeUndefined();
    expect(tier.counters.evidenceReads).toMatchObject({ hit: 1, invalid: 1 });
  });

  test("MX host facts are shared by host name, live as long as cached here, and are cut to the reader's max_addresses", async () => {
    tier.writeHost(host, 120_000);
    await until(() => tier.counters.writes.ok === 1, 2000, 'the write');
    const read = await tier.readHost('mx.example.com', 2, 500);
    expect(read?.aaaa).toEqual({ kind: 'records', addresses: ['2001:db8::1', '2001:db8::2'], ttl: 300, dropped: 1 });
    expect(read?.a).toEqual(host.a);
    expect(read?.ttl).toBeGreaterThan(119);
    expect(read?.ttl).toBeLessThanOrEqual(120);
    expect(await tier.readHost('other.example.com', 2, 500)).toBeUndefined();
    expect(tier.counters.hostReads).toMatchObject({ hit: 1, miss: 1 });
  });

  test('host facts that do not check out are misses: another name, a loopback or special address, the wrong family, a failure', async () => {
    const bad: Array<[string, unknown]> = [
      ['name.example', { ...host, name: 'other.example' }],
      ['loopback.example', { ...host, name: 'loopback.example', a: { kind: 'records', addresses: ['127.0.0.1'], ttl: 1 } }],
      ['family.example', { ...host, name: 'family.example', aaaa: { kind: 'records', addresses: ['192.0.2.9'], ttl: 1 } }],
      ['failure.example', { ...host, name: 'failure.example', a: { kind: 'failure', detail: 'SERVFAIL' } }],
    ];
    for (const [name, value] of bad) await plant(hostKey(name), JSON.stringify(value));
    for (const [name] of bad) expect(await tier.readHost(name, 8, 500)).toBeUndefined();
    expect(tier.counters.hostReads.invalid).toBe(bad.length);
  });

  test('values a fleet member did not write are not believed: unsealed, sealed with another secret, moved to another key, past their sealed life', async () => {
    const planted = JSON.stringify({
      name: 'mx.example.com',
      aliases: [],
      canonical: 'mx.example.com',
      a: { kind: 'records', addresses: ['203.0.113.66'], ttl: 3600 },
      aaaa: { kind: 'nodata', ttl: 3600 },
    });
    const key = hostKey('mx.example.com');
    // The attack as found: the plain JSON value of the old format, under the key.
    await redis.client.set(key, planted, 'PX', 3_600_000);
    expect(await tier.readHost('mx.example.com', 8, 500)).toBeUndefined();
    // Sealed, but with a secret that is not the fleet's.
    const other = new ValueSeal(Buffer.from('not-the-fleet-secret-0123456789abcdefgh'));
    await redis.client.set(key, other.seal(key, planted, Date.now() + 3_600_000), 'PX', 3_600_000);
    expect(await tier.readHost('mx.example.com', 8, 500)).toBeUndefined();
    // A value the fleet wrote for another host, copied under this key.
    const elsewhere = hostKey('mx.other.example');
    await redis.client.set(key, seal.seal(elsewhere, planted, Date.now() + 3_600_000), 'PX', 3_600_000);
    expect(await tier.readHost('mx.example.com', 8, 500)).toBeUndefined();
    // A genuine value whose sealed life is over, kept alive in Redis by a new PX.
    await redis.client.set(key, seal.seal(key, planted, Date.now() - 1), 'PX', 3_600_000);
    expect(await tier.readHost('mx.example.com', 8, 500)).toBeUndefined();
    // The expiry cannot be edited either: the MAC covers it.
    const genuine = seal.seal(key, planted, Date.now() + 1000);
    await redis.client.set(key, genuine.replace(/^\d+/, String(Date.now() + 3_600_000)), 'PX', 3_600_000);
    expect(await tier.readHost('mx.example.com', 8, 500)).toBeUndefined();
    expect(tier.counters.hostReads).toMatchObject({ invalid: 5, hit: 0 });
    // And a value it did write is read, with the life it was given.
    await redis.client.set(key, genuine, 'PX', 1000);
    expect((await tier.readHost('mx.example.com', 8, 500))?.a).toMatchObject({ addresses: ['203.0.113.66'] });
  });

  test('a decision key rewritten by hand is not believed', async () => {
    const key = decisionKey('r', 'bank.example');
    await redis.client.set(key, JSON.stringify({ d: { action: 'leave', reason: 'ipv6-ok' }, s: 0 }), 'PX', 3_600_000);
    expect(await tier.readDecision('r', 'bank.example', 500)).toBeUndefined();
    expect(tier.counters.decisionReads.invalid).toBe(1);
  });

  test('a probe lease is taken by one instance only', async () => {
    const other = new RedisTier(tierOptions(redis.spec), pino({ level: 'silent' }));
    await until(() => other.up, 5000, 'the second tier');
    const results = await Promise.all([tier.takeProbeLease(25, '2001:db8::1', 2500, 500), other.takeProbeLease(25, '2001:db8::1', 2500, 500)]);
    expect(results.sort()).toEqual([false, true]);
    await other.close();
  });

  test('Redis paused: a read costs its budget and no more, the tier is marked down once, and back once when Redis answers again', async () => {
    redis.pause();
    try {
      // Ended by its budget (counted as such), not by an answer or the command timeout.
      expect(await tier.readDecision('r', 'example.com', 50)).toBeUndefined();
      expect(tier.counters.decisionReads).toMatchObject({ budget: 1, error: 0, hit: 0, miss: 0 });
      // The written command times out (commandTimeout): the tier goes down, and says so once.
      await until(() => !tier.up, 3000, 'the tier to go down');
      for (let i = 0; i < 20; i++) await tier.readDecision('r', `d${i}.example`, 50);
      expect(tier.counters.decisionReads.skipped).toBe(20);
    } finally {
      redis.resume();
    }
    // A PING a second tries again; it works now.
    await until(() => tier.up, 5000, 'the tier to be back');
    await tier.readDecision('r', 'x.example', 500);
    expect(sink.events('shared-cache-down')).toHaveLength(1);
    expect(sink.events('shared-cache-up').map((l) => l.msg)).toEqual([`shared cache ${redis.spec} connected`, `shared cache ${redis.spec} is back`]);
  });

  test('Redis full (maxmemory, noeviction): writes fail and are counted, the tier stays up and logs nothing', async () => {
    await redis.client.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.client.config('SET', 'maxmemory', '1');
    try {
      tier.writeDecision('r', 'example.com', forced, 60_000, 0);
      await until(() => tier.counters.writes.error === 1, 2000, 'the failed write');
      expect(tier.up).toBe(true);
      expect(sink.events('shared-cache-down')).toHaveLength(0);
    } finally {
      await redis.client.config('SET', 'maxmemory', '0');
    }
  });

  test('Redis killed and started empty: reads are skipped at once while it is gone, and the tier reconnects by itself', async () => {
    tier.writeDecision('r', 'example.com', forced, 60_000, 0);
    await until(() => tier.counters.writes.ok === 1, 2000, 'the write');
    await redis.kill();
    await until(() => !tier.up, 3000, 'the tier to go down');
    // Skipped at once (never sent, so it cannot wait on its budget).
    expect(await tier.readDecision('r', 'example.com', 50)).toBeUndefined();
    expect(tier.counters.decisionReads).toMatchObject({ skipped: 1, budget: 0 });
    tier.writeDecision('r', 'other.example', forced, 60_000, 0);
    expect(tier.counters.writes.skipped).toBe(1);
    await redis.start();
    await until(() => tier.up, 10_000, 'the tier to reconnect');
    expect(await tier.readDecision('r', 'example.com', 500)).toBeUndefined();
    expect(tier.counters.decisionReads.miss).toBe(1);
  });
});

describe('a Redis address that does not behave like Redis', () => {
  const open = (spec: string, sink: LogSink): RedisTier => new RedisTier(tierOptions(spec), sink.log);
  const downLines = (sink: LogSink): number => sink.events('shared-cache-down').length;

  test('black-holed (accepts, never answers): the tier is down once, after the connect timeout, and reads are skipped', async () => {
    const hole = await fakeRedis(() => undefined);
    const sink = logSink('info');
    const tier = open(hole.spec, sink);
    try {
      await until(() => downLines(sink) === 1, 5000, 'the down line');
      expect(hole.sockets.length).toBeGreaterThan(0);
      expect(await tier.readDecision('r', 'example.com', 50)).toBeUndefined();
      expect(tier.counters.decisionReads).toMatchObject({ skipped: 1, budget: 0 });
      // ioredis drops the silent connection after its connect timeout and tries again, one connection at a
      // time; however many attempts, the tier said it was down once.
      await until(() => hole.sockets.length >= 3, 15_000, 'new connection attempts');
      expect(hole.sockets.filter((s) => !s.destroyed && s.readyState === 'open').length).toBeLessThanOrEqual(1);
      expect(downLines(sink)).toBe(1);
    } finally {
      await tier.close();
      await hole.close();
    }
  });

  test.each([
    ['an error to every command', '-ERR unknown command\r\n'],
    ['garbage', 'HTTP/1.1 400 Bad Request\r\n\r\n'],
  ])(
    'answering %s: never up, reads skipped, one down line however long it goes on',
    async (_name, reply) => {
      let asked = 0;
      const liar = await fakeRedis((socket) => {
        asked++;
        socket.write(reply);
      });
      const sink = logSink('info');
      const tier = open(liar.spec, sink);
      try {
        await until(() => downLines(sink) === 1, 5000, 'the down line');
        // Asked again (a new connection after garbage, a PING a second after an error reply), never up.
        const before = asked;
        await until(() => asked >= before + 2, 10_000, 'the peer asked twice more');
        expect(tier.up).toBe(false);
        expect(await tier.readDecision('r', 'example.com', 50)).toBeUndefined();
        expect(tier.counters.decisionReads.skipped).toBe(1);
        expect(downLines(sink)).toBe(1);
        expect(sink.events('shared-cache-up')).toEqual([]);
      } finally {
        await tier.close();
        await liar.close();
      }
    },
    20_000,
  );
});

describe('a hostile peer at the Redis address: replies bounded before the client parses them', () => {
  const open = (spec: string, sink: LogSink): RedisTier => new RedisTier(tierOptions(spec), sink.log);

  /** Runs an attack: the peer's answer to the first bytes mx4map sends; watches the loop and memory meanwhile. */
  async function attack(
    respond: (socket: Socket) => void,
    watchMs = 3000,
  ): Promise<{ sink: LogSink; maxLoopGapMs: number; rssGrowthMb: number; peer: Awaited<ReturnType<typeof fakeRedis>>; closedByUs: number }> {
    let closedByUs = 0;
    const answered = new WeakSet<Socket>();
    const peer = await fakeRedis((socket) => {
      if (answered.has(socket)) return;
      answered.add(socket);
      socket.on('close', () => closedByUs++);
      respond(socket);
    });
    const sink = logSink('info');
    const rssBefore = process.memoryUsage().rss;
    let maxLoopGapMs = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      const now = performance.now();
      maxLoopGapMs = Math.max(maxLoopGapMs, now - last);
      last = now;
    }, 10);
    const tier = open(peer.spec, sink);
    try {
      await new Promise((r) => setTimeout(r, watchMs));
      return { sink, maxLoopGapMs, rssGrowthMb: (process.memoryUsage().rss - rssBefore) / 2 ** 20, peer, closedByUs };
    } finally {
      clearInterval(ticker);
      await tier.close();
      await peer.close();
    }
  }

  test('an array of 300,000 elements (a 17 s stall before): the connection is dropped at its header, the loop never stalls', async () => {
    const r = await attack((socket) => socket.write(`*300000\r\n${':1\r\n'.repeat(300_000)}`));
    expect(r.closedByUs).toBeGreaterThanOrEqual(1);
    expect(r.maxLoopGapMs).toBeLessThan(1000);
    expect(r.sink.events('shared-cache-down')).toHaveLength(1);
    expect(String(r.sink.events('shared-cache-down')[0].error)).toContain('an array of 300000 elements');
  }, 20_000);

  test('an endless simple string (4 GB in 20 s before): dropped past the line limit, memory stays flat', async () => {
    const chunk = 'A'.repeat(64 * 1024);
    const r = await attack((socket) => {
      socket.write('+');
      const pump = (): void => {
        while (!socket.destroyed && socket.write(chunk));
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    expect(r.closedByUs).toBeGreaterThanOrEqual(1);
    expect(r.rssGrowthMb).toBeLessThan(100);
    expect(String(r.sink.events('shared-cache-down')[0].error)).toContain('a line over');
  }, 20_000);

  test('a $2000000000 bulk header (3.8 GB before): dropped at the header', async () => {
    const r = await attack((socket) => socket.write(`$2000000000\r\n${'x'.repeat(1 << 20)}`));
    expect(r.closedByUs).toBeGreaterThanOrEqual(1);
    expect(r.rssGrowthMb).toBeLessThan(100);
    expect(String(r.sink.events('shared-cache-down')[0].error)).toContain('a bulk string of 2000000000 bytes');
  }, 20_000);

  test('a Redis still loading (-LOADING to everything): a few commands a second, not the ~860 INFO a second of before', async () => {
    let commands = 0;
    const peer = await fakeRedis((socket, chunk) => {
      const n = (chunk.toString('latin1').match(/^\*\d+\r\n/gm) ?? []).length;
      commands += n;
      socket.write('-LOADING Redis is loading the dataset in memory\r\n'.repeat(n));
    });
    const sink = logSink('info');
    const tier = open(peer.spec, sink);
    try {
      await new Promise((r) => setTimeout(r, 3000));
      expect(commands).toBeGreaterThan(0);
      expect(commands).toBeLessThan(30);
      expect(tier.up).toBe(false);
      expect(sink.events('shared-cache-down')).toHaveLength(1);
    } finally {
      await tier.close();
      await peer.close();
    }
  }, 20_000);

  test('a reply dribbled a byte at a time: dropped on the command timeout, one down line', async () => {
    const r = await attack((socket) => {
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write('$')), 100);
    }, 4000);
    expect(r.closedByUs).toBeGreaterThanOrEqual(1);
    expect(r.sink.events('shared-cache-down')).toHaveLength(1);
  }, 20_000);
});

describeRequiring(redisMissing(), 'shared cache tests')('through Redis Sentinel (redis-sentinel://)', () => {
  let group: SentinelFixture;
  beforeAll(async () => {
    group = await startSentinelGroup();
  }, 30_000);
  afterAll(() => group.close());

  test('the tier finds the master through the sentinel, and follows it when Sentinel fails over', async () => {
    const sink = logSink('info');
    const tier = new RedisTier(tierOptions(group.spec), sink.log);
    try {
      await until(() => tier.up, 10_000, 'the tier to connect through the sentinel');
      const before = await group.masterPort();
      tier.writeDecision('r', 'before.example', forced, 60_000, 0);
      await until(() => tier.counters.writes.ok === 1, 2000, 'the first write');
      expect(await group.clientTo(before).exists(decisionKey('r', 'before.example'))).toBe(1);
      // Replication is asynchronous: the failover is started once the replica has the key.
      const replica = group.clientTo(group.ports.find((p) => p !== before) ?? 0);
      await until(async () => (await replica.exists(decisionKey('r', 'before.example'))) === 1, 5000, 'the replica to have the key');

      await group.sentinel.call('SENTINEL', 'failover', 'mx4map');
      await until(async () => (await group.masterPort()) !== before, 20_000, 'Sentinel to name a new master');
      const after = await group.masterPort();
      // Writes go on reaching whichever server is master now: the tier followed the switch.
      await until(
        async () => {
          tier.writeDecision('r', 'after.example', forced, 60_000, 0);
          return (await group.clientTo(after).exists(decisionKey('r', 'after.example'))) === 1;
        },
        20_000,
        'a write to reach the new master',
      );
      expect(await tier.readDecision('r', 'before.example', 500)).toMatchObject({ decision: forced });
      expect(sink.events('shared-cache-down').length).toBeLessThanOrEqual(1);
    } finally {
      await tier.close();
    }
  }, 60_000);
});
