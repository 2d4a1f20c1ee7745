/**
 * A fleet: three `mx4map serve` processes sharing one real redis-server, one fixture DNS and one SMTP
 * endpoint. What one instance learns, the others answer without DNS or probes; one instance probes an
 * address for all; and Redis failing in any way costs no answer.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AddressInfo, type Socket, createServer } from 'node:net';
import { type DnsFixture, type FixtureRecord, type Zone, startDnsFixture } from '../support/dns-fixture';
import { type SmtpFixture, startSmtpFixture } from '../support/smtp-fixture';
import { type ServeProcess, startServe } from '../support/cli';
import { TEST_IPV6, ensureTestAddresses } from '../support/test-addresses';
import { WireClient, ns } from '../support/wire';
import { describeRequiring } from '../support/requires';
import { type RedisFixture, redisMissing, startRedis } from '../support/redis';
import { until } from '../support/until';

const DOMAINS = 1000;
/** h0…h199.fleet.test, over ten MX hosts (a provider's) that have no IPv6. */
const HOST_DOMAINS = 200;

/** The fleet's secret, as an administrator would deploy it to every instance. */
function fleetKeyFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mx4map-fleet-')), 'fleet.key');
  writeFileSync(path, 'k9Qd2V0c3RmbGVldHNlY3JldGZvcnRoZXRlc3RzMTIzNA==\n', { mode: 0o600 });
  return path;
}
const KEY_FILE = fleetKeyFile();

/** A process's open descriptors and resident memory, read from /proc. */
function resources(pid: number): { fds: number; rssKb: number } {
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { fds: readdirSync(`/proc/${pid}/fd`).length, rssKb: Number(rss?.[1] ?? NaN) };
}

/** d0…d999.fleet.test: even ones behind an MX host that is an alias (forced), odd ones behind hosts with working IPv6. */
function fleetZone(): Zone {
  ensureTestAddresses();
  const records: Record<string, FixtureRecord[]> = {
    'alias.fleet.test': [{ type: 'CNAME', target: 'real.fleet.test' }],
    'real.fleet.test': [{ type: 'A', address: '192.0.2.31' }],
    'v6.fleet.test': [
      { type: 'A', address: '192.0.2.32' },
      { type: 'AAAA', address: TEST_IPV6 },
    ],
  };
  for (let i = 0; i < DOMAINS; i++) records[`d${i}.fleet.test`] = [{ type: 'MX', priority: 10, exchange: i % 2 === 0 ? 'alias.fleet.test' : 'v6.fleet.test' }];
  records['lease.fleet.test'] = [{ type: 'MX', priority: 10, exchange: 'v6.fleet.test' }];
  for (let i = 0; i < HOST_DOMAINS; i++) records[`h${i}.fleet.test`] = [{ type: 'MX', priority: 10, exchange: `mx${i % 10}.hosts.fleet.test` }];
  for (let i = 0; i < 10; i++) records[`mx${i}.hosts.fleet.test`] = [{ type: 'A', address: `192.0.2.${40 + i}` }];
  return { records };
}

/** Asks `keys` over one connection per `parallel`, in order; returns the replies by key. */
async function askAll(port: number, keys: readonly string[], parallel = 8): Promise<Map<string, string>> {
  const replies = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      const c = await WireClient.open({ port });
      let sent = 0;
      try {
        for (let i = next++; i < keys.length; i = next++) {
          c.send(ns(`mailertable ${keys[i]}`));
          replies.set(keys[i], (await c.replyCount(++sent)).at(-1) ?? '');
        }
      } finally {
        c.destroy();
      }
    }),
  );
  return replies;
}

describeRequiring(redisMissing(), 'shared cache tests')('a fleet of three instances sharing one Redis', () => {
  let redis: RedisFixture;
  let dns: DnsFixture;
  let smtp: SmtpFixture;
  const instances: ServeProcess[] = [];
  const start = async (extra: string[] = [], probePort = smtp.port): Promise<ServeProcess> => {
    const serve = await startServe([
      '--listen',
      'inet:0@127.0.0.1',
      '--dns',
      dns.spec,
      '--probe-port',
      String(probePort),
      '--shared-cache',
      redis.spec,
      '--shared-cache-key-file',
      KEY_FILE,
      '--log-level',
      'info',
      ...extra,
    ]);
    instances.push(serve);
    await serve.waitFor('shared-cache-up');
    return serve;
  };
  beforeAll(async () => {
    redis = await startRedis();
    dns = await startDnsFixture(fleetZone());
    smtp = await startSmtpFixture('greet', TEST_IPV6);
  });
  afterEach(async () => {
    await Promise.all(instances.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await redis.close();
    await dns.close();
    await smtp.close();
  });

  test(`${DOMAINS} domains through all three cost the DNS queries and probes of one instance, and get the same answers`, async () => {
    const fleet = [await start(), await start(), await start()];
    const keys = Array.from({ length: DOMAINS }, (_, i) => `d${i}.fleet.test`);
    const queries: number[] = [];
    const probes: number[] = [];
    const answers: Array<Map<string, string>> = [];
    for (const serve of fleet) {
      const before = dns.queries.length;
      const probesBefore = smtp.connections;
      answers.push(await askAll(serve.port, keys));
      queries.push(dns.queries.length - before);
      probes.push(smtp.connections - probesBefore);
    }
    expect(answers[0].get('d0.fleet.test')).toBe('OK esmtp:[192.0.2.31]');
    expect(answers[0].get('d1.fleet.test')).toBe('NOTFOUND ');
    expect(Object.fromEntries(answers[1])).toEqual(Object.fromEntries(answers[0]));
    expect(Object.fromEntries(answers[2])).toEqual(Object.fromEntries(answers[0]));
    // The first instance decides every domain (one MX query each, plus the shared hosts and the _mta-sts
    // lookups of the forced half); the others find every decision in Redis.
    expect(queries[0]).toBeGreaterThanOrEqual(DOMAINS);
    expect(queries[1] + queries[2]).toBe(0);
    expect(probes).toEqual([1, 0, 0]);
  }, 60_000);

  test('three instances asking for a new domain at once: one probes the IPv6 host, the others wait for its verdict', async () => {
    await redis.client.flushall();
    // A host that never greets: the probe takes its whole timeout, so the others find the lease taken.
    const silent = await startSmtpFixture('silent', TEST_IPV6);
    try {
      const fleet = [];
      for (let i = 0; i < 3; i++) fleet.push(await start(['--probe-timeout', '1s'], silent.port));
      const replies = await Promise.all(fleet.map((s) => askAll(s.port, ['lease.fleet.test'], 1)));
      expect(replies.map((r) => r.get('lease.fleet.test'))).toEqual(['OK esmtp:[192.0.2.32]', 'OK esmtp:[192.0.2.32]', 'OK esmtp:[192.0.2.32]']);
      expect(silent.connections).toBe(1);
    } finally {
      await silent.close();
    }
  });

  test("MX host facts one instance resolved serve the others for new domains: they ask only each domain's MX", async () => {
    await redis.client.flushall();
    const [first, second] = [await start(), await start()];
    const half = HOST_DOMAINS / 2;
    await askAll(
      first.port,
      Array.from({ length: half }, (_, i) => `h${i}.fleet.test`),
    );
    const before = dns.queries.length;
    const replies = await askAll(
      second.port,
      Array.from({ length: half }, (_, i) => `h${half + i}.fleet.test`),
    );
    expect(replies.get(`h${half}.fleet.test`)).toBe('OK esmtp:[192.0.2.40]');
    const asked = dns.queries.slice(before).filter((q) => !q.startsWith('_mta-sts.'));
    expect(asked.filter((q) => q.includes('hosts.fleet.test'))).toEqual([]);
    expect(asked).toHaveLength(half);
    expect(await redis.client.keys('mx4map:2:host:*')).toHaveLength(10);
  });

  test('FLUSHALL under running instances: nothing fails, the one holding decisions answers from memory, and what is decided next is shared again', async () => {
    await redis.client.flushall();
    const [first, second] = [await start(), await start()];
    const keys = Array.from({ length: 100 }, (_, i) => `d${i}.fleet.test`);
    await askAll(first.port, keys);
    await redis.client.flushall();
    // The first still answers from its own cache; the second finds nothing shared and decides itself.
    const before = dns.queries.length;
    const fromMemory = await askAll(first.port, keys);
    expect(dns.queries.length).toBe(before);
    expect(Object.fromEntries(await askAll(second.port, keys))).toEqual(Object.fromEntries(fromMemory));
    expect(dns.queries.length - before).toBeGreaterThanOrEqual(keys.length);
    expect(await redis.client.keys('mx4map:2:decision:*')).toHaveLength(keys.length);
    expect(first.lines.filter((l) => l.evt === 'shared-cache-down')).toEqual([]);
  });

  test('a value planted in Redis routes nothing: a forged MX host and a rewritten decision are not believed, nor written back', async () => {
    await redis.client.flushall();
    const first = await start();
    await askAll(first.port, ['d0.fleet.test']);
    const [decisionKey] = await redis.client.keys('mx4map:2:decision:*:d0.fleet.test');
    expect(decisionKey).toBeDefined();
    // The attacks as found: the MX host of h0…h199's first tenth given an attacker's address and no IPv6,
    // and the forced d0 turned into "leave, IPv6 works".
    const planted = {
      name: 'mx0.hosts.fleet.test',
      aliases: [],
      canonical: 'mx0.hosts.fleet.test',
      a: { kind: 'records', addresses: ['203.0.113.66'], ttl: 3600 },
      aaaa: { kind: 'nodata', ttl: 3600 },
    };
    await redis.client.set('mx4map:2:host:mx0.hosts.fleet.test', JSON.stringify(planted), 'PX', 3_600_000);
    await redis.client.set(decisionKey, JSON.stringify({ d: { action: 'leave', reason: 'ipv6-ok' }, s: 0 }), 'PX', 3_600_000);
    const second = await start();
    const replies = await askAll(second.port, ['h0.fleet.test', 'h10.fleet.test', 'd0.fleet.test']);
    expect(Object.fromEntries(replies)).toEqual({
      'h0.fleet.test': 'OK esmtp:[192.0.2.40]',
      'h10.fleet.test': 'OK esmtp:[192.0.2.40]',
      'd0.fleet.test': 'OK esmtp:[192.0.2.31]',
    });
    // Nothing derived from the planted values was shared: every value in Redis names no attacker address.
    const values = await Promise.all((await redis.client.keys('mx4map:2:*')).map((k) => redis.client.get(k)));
    expect(values.filter((v) => v?.includes('203.0.113.66') && !v.startsWith('{'))).toEqual([]);
  });

  const impostors: Array<[string, (socket: Socket) => void]> = [
    ['accepts and never answers (black-holed)', () => undefined],
    ['answers every command with an error', (socket) => socket.on('data', () => socket.write('-ERR unknown command\r\n'))],
    ['answers garbage', (socket) => socket.on('data', () => socket.write('HTTP/1.1 400 Bad Request\r\n\r\n'))],
  ];
  test.each(impostors)('a Redis address that %s: every lookup answered as without it, down logged once', async (_name, behave) => {
    const held: Socket[] = [];
    const hole = createServer((socket) => {
      held.push(socket.on('error', () => undefined));
      behave(socket);
    });
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hole.address() as AddressInfo).port;
      const serve = await startServe([
        '--listen',
        'inet:0@127.0.0.1',
        '--dns',
        dns.spec,
        '--probe-port',
        String(smtp.port),
        '--shared-cache',
        `redis://127.0.0.1:${port}/0`,
        '--shared-cache-key-file',
        KEY_FILE,
        '--deadline',
        '1s',
      ]);
      instances.push(serve);
      const keys = Array.from({ length: 200 }, (_, i) => `d${i}.fleet.test`);
      const replies = await askAll(serve.port, keys);
      // Each read gave up within its budget: none of the 200 waited out the deadline.
      expect(serve.lines.filter((l) => l.evt === 'deadline')).toEqual([]);
      expect([...replies.values()].filter((r) => !/^(OK esmtp:\[192\.0\.2\.31\]|NOTFOUND )$/.test(r))).toEqual([]);
      expect(held.length).toBeGreaterThan(0);
      await serve.waitFor('shared-cache-down', 5000);
      expect(serve.lines.some((l) => l.evt === 'shared-cache-up')).toBe(false);
      expect(serve.lines.filter((l) => l.evt === 'shared-cache-down')).toHaveLength(1);
    } finally {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => hole.close(resolve));
    }
  });

  describe('Redis failing while a client keeps asking: every answer within the deadline, no error replies', () => {
    const faults: Array<[string, (serve: ServeProcess) => Promise<() => Promise<void>>]> = [
      [
        'paused (SIGSTOP)',
        async () => {
          redis.pause();
          return async () => redis.resume();
        },
      ],
      [
        'killed, then started again empty',
        async () => {
          await redis.kill();
          return async () => redis.start();
        },
      ],
    ];
    test.each(faults)(
      '%s',
      async (_name, fault) => {
        await redis.client.flushall().catch(() => undefined);
        const serve = await start(['--deadline', '1s']);
        let asked = 0;
        let stop = false;
        const latencies: number[] = [];
        const replies: string[] = [];
        const loop = (async () => {
          const c = await WireClient.open({ port: serve.port });
          while (!stop) {
            const key = `d${asked++ % DOMAINS}.fleet.test`;
            const t = performance.now();
            c.send(ns(`mailertable ${key}`));
            replies.push((await c.replyCount(asked)).at(-1) ?? '');
            latencies.push(performance.now() - t);
          }
          c.destroy();
        })();
        await until(() => asked > 20, 5000, 'lookups before the fault');
        const before = resources(serve.child.pid ?? 0);
        const restore = await fault(serve);
        await serve.waitFor('shared-cache-down', 5000);
        const during = asked;
        await until(() => asked > during + 200, 20_000, 'lookups during the fault');
        await restore();
        await until(() => serve.lines.filter((l) => l.evt === 'shared-cache-up').length === 2, 10_000, 'the tier to be back');
        const after = asked;
        await until(() => asked > after + 50, 10_000, 'lookups after recovery');
        stop = true;
        await loop;
        expect(Math.max(...latencies)).toBeLessThan(1500);
        expect(replies.filter((r) => !/^(OK esmtp:\[192\.0\.2\.31\]|NOTFOUND )$/.test(r))).toEqual([]);
        expect(serve.lines.filter((l) => l.evt === 'shared-cache-down')).toHaveLength(1);
        // Nothing piled up while Redis was away: the same descriptors, and memory within noise.
        const end = resources(serve.child.pid ?? 0);
        expect(end.fds).toBeLessThanOrEqual(before.fds);
        expect(end.rssKb - before.rssKb).toBeLessThan(32 * 1024);
      },
      60_000,
    );
  });
});
