/**
 * DNS faults end to end through a real socket: every answer leaves within the deadline, fails open where the
 * truth is unknown, and once the work is over nothing is left open (sockets, timers).
 */
import { startEngineRig, type EngineRig } from '../support/engine-rig';
import { startServer, type TestServer } from '../support/server';
import { WireClient, ns } from '../support/wire';
import { activeResources, expectNothingLeftSince } from '../support/handles';
import { type Zone, type FixtureRecord, encodeAAnswer } from '../support/dns-fixture';

const DEADLINE_MS = 1500;
const DNS_TIMEOUT_MS = 2500;
/** Room for the event loop on a loaded CI machine; the point is "bounded by the deadline", not speed. */
const SLACK_MS = 750;

const HUGE_ANSWER = Array.from({ length: 4000 }, (_, i): FixtureRecord => ({ type: 'A', address: `10.0.${i >> 8}.${i & 255}` }));

function chain(prefix: string, links: number): Record<string, FixtureRecord[]> {
  const records: Record<string, FixtureRecord[]> = {};
  for (let i = 0; i < links; i++) records[`${prefix}${i}.test`] = [{ type: 'CNAME', target: `${prefix}${i + 1}.test` }];
  records[`${prefix}${links}.test`] = [{ type: 'A', address: '192.0.2.9' }];
  return records;
}

function faultZone(): Zone {
  return {
    slowMs: 2000,
    records: {
      'blackhole.test': [],
      'slow.test': [{ type: 'MX', exchange: 'mx.slow.test', priority: 10 }],
      'mx.slow.test': [{ type: 'A', address: '192.0.2.5' }],
      'servfail.test': [],
      'tc-hang.test': [],
      'huge.test': [{ type: 'MX', exchange: 'mx.huge.test', priority: 10 }],
      'mx.huge.test': HUGE_ANSWER,
      'long-chain.test': [{ type: 'MX', exchange: 'c0.test', priority: 10 }],
      ...chain('c', 20),
    },
    behaviours: {
      'blackhole.test': { '*': 'silent' },
      'slow.test': { '*': 'slow' },
      'servfail.test': { '*': 'servfail' },
      'tc-hang.test': { '*': 'tc-silent-tcp' },
      'mx.huge.test': { A: 'oversized' },
    },
  };
}

let rig: EngineRig;
let server: TestServer;
let client: WireClient;

async function start(): Promise<void> {
  rig = await startEngineRig({ zone: faultZone(), dnsTimeoutMs: DNS_TIMEOUT_MS, settings: { deadlineMs: DEADLINE_MS } });
  server = await startServer({ decider: rig.engine });
  client = await WireClient.open({ port: server.port });
}

async function stop(): Promise<void> {
  client.destroy();
  await server.close(100);
  await rig.close();
}

async function lookup(domain: string): Promise<{ reply: string; ms: number }> {
  const before = client.replies.length;
  const started = performance.now();
  client.send(ns(`mailertable ${domain}`));
  const replies = await client.replyCount(before + 1, DEADLINE_MS + 5000);
  return { reply: replies[before], ms: performance.now() - started };
}

describe('DNS faults: answered within the deadline, fail open, nothing left behind', () => {
  test.each([
    ['no answer at all (black hole)', 'blackhole.test'],
    ['answers only after 2 s', 'slow.test'],
    ['SERVFAIL for everything', 'servfail.test'],
    ['truncated UDP, and a TCP side that accepts and never answers', 'tc-hang.test'],
    ['an MX host behind a CNAME chain of 20 links', 'long-chain.test'],
  ])(
    '%s: NOTFOUND',
    async (_name, domain) => {
      const resources = activeResources();
      await start();
      const { reply, ms } = await lookup(domain);
      expect(reply).toBe('NOTFOUND ');
      expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
      // The server keeps serving while the fault's work goes on in the background.
      expect((await lookup('user_name.invalid')).reply).toBe('NOTFOUND ');
      await stop();
      await expectNothingLeftSince(resources, DNS_TIMEOUT_MS + 3000);
    },
    20_000,
  );

  test('the TCP fallback is really taken for the truncated answer, and abandoned at the DNS timeout', async () => {
    const resources = activeResources();
    await start();
    await lookup('tc-hang.test');
    await client.until(() => rig.engine.cacheStats.decisions.size > 0, DNS_TIMEOUT_MS + 2000);
    // Each MX query went out over UDP, came back truncated, and was asked again over TCP.
    expect(rig.dns.count('tc-hang.test', 'MX')).toBe(2);
    expect((await lookup('tc-hang.test')).reply).toBe('NOTFOUND ');
    await stop();
    await expectNothingLeftSince(resources);
  }, 20_000);

  test('a 64 KB answer over TCP is read whole and answered (at most 10 addresses)', async () => {
    const size = huge();
    expect(size).toBeGreaterThan(63_000);
    expect(size).toBeLessThanOrEqual(65_535);
    const resources = activeResources();
    await start();
    const { reply, ms } = await lookup('huge.test');
    expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
    expect(reply).toBe(
      `OK esmtp:${HUGE_ANSWER.slice(0, 10)
        .map((r) => `[${(r as { address: string }).address}]`)
        .join(',')}`,
    );
    expect(rig.dns.count('mx.huge.test', 'A')).toBe(2); // truncated over UDP, whole over TCP
    await stop();
    await expectNothingLeftSince(resources);
  }, 20_000);
});

/** The wire size of the huge answer, as the fixture sends it. */
function huge(): number {
  return encodeAAnswer(
    1,
    'mx.huge.test',
    HUGE_ANSWER.map((r) => (r as { address: string }).address),
  ).length;
}
