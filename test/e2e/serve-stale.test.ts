/**
 * Serve-stale and refresh-ahead through a real socket and a real DNS server, with the engine's clock
 * injected: lifetimes pass in an instant, and DNS changes (SERVFAIL, black hole, new addresses) are made
 * to the running fixture.
 */
import { startEngineRig, type EngineRig, TEST_SETTINGS, noOverrides } from '../support/engine-rig';
import { startServer, type TestServer } from '../support/server';
import { WireClient, ns } from '../support/wire';
import type { Zone } from '../support/dns-fixture';
import { until } from '../support/until';

const TTL_S = 300;
const DAY = 86_400_000;

/** busy.test: its one MX host has an A record and no AAAA, so it is forced (no-aaaa) for TTL_S. */
function zone(): Zone {
  return {
    slowMs: 100,
    negativeTtl: TTL_S, // the NODATA answer to AAAA lives as long as the rest
    records: {
      'busy.test': [{ type: 'MX', exchange: 'mx.busy.test', priority: 10, ttl: TTL_S }],
      'mx.busy.test': [{ type: 'A', address: '192.0.2.30', ttl: TTL_S }],
    },
  };
}

let rig: EngineRig;
let server: TestServer;
let client: WireClient;
const clock = { now: 1_000_000 };

async function start(settings: { deadlineMs?: number } = {}, dnsTimeoutMs = 300): Promise<void> {
  clock.now = 1_000_000;
  rig = await startEngineRig({ zone: zone(), dnsTimeoutMs, now: () => clock.now, settings: { failureTtlMs: 5000, ...settings } });
  server = await startServer({ decider: rig.engine });
  client = await WireClient.open({ port: server.port });
}

afterEach(async () => {
  client.destroy();
  await server.close(100);
  await rig.close();
});

async function ask(domain = 'busy.test'): Promise<string> {
  const before = client.replies.length;
  client.send(ns(`mailertable ${domain}`));
  return (await client.replyCount(before + 1, 10_000))[before];
}

const mxQueries = (): number => rig.dns.count('busy.test', 'MX');

describe('serve-stale over the wire', () => {
  test('a forced domain keeps its answer while its DNS answers SERVFAIL, then black-holes; after stale_ttl it fails open', async () => {
    await start({ deadlineMs: 300 }, 600);
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]');
    clock.now += TTL_S * 1000 + 1000;
    rig.dns.zone = { ...zone(), behaviours: { 'busy.test': { '*': 'servfail' } } };
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]');
    expect(mxQueries()).toBe(2);
    expect(rig.sink.events('serving-stale')).toEqual([expect.objectContaining({ domain: 'busy.test', detail: expect.stringContaining('SERVFAIL') })]);

    clock.now += 6000; // failure_ttl over: asked again, and the DNS now never answers
    rig.dns.zone = { ...zone(), behaviours: { 'busy.test': { '*': 'silent' } } };
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]');
    expect(mxQueries()).toBe(3);
    expect(rig.engine.counters.staleAnswers).toEqual({ failed: 1, deadline: 1, held: 0 });

    clock.now += DAY;
    expect(await ask()).toBe('NOTFOUND ');
  });

  test('a reload that changes the rule ends stale answers made under the old one', async () => {
    await start();
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]');
    clock.now += TTL_S * 1000 + 1000;
    rig.dns.zone = { ...zone(), behaviours: { 'busy.test': { '*': 'servfail' } } };
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]');
    // The decision was forced by no-aaaa; without that trigger it must not be answered, stale or not.
    rig.engine.reconfigure({ ...TEST_SETTINGS, failureTtlMs: 5000, triggers: new Set(['cname-mx', 'aaaa-error', 'ipv6-unreachable']) }, noOverrides());
    expect(await ask()).toBe('NOTFOUND ');
  });
});

describe('refresh-ahead over the wire', () => {
  test('under a steady stream, a DNS change is picked up within one lifetime, no request waits for DNS, and one refresh is made per lifetime', async () => {
    await start();
    const born = clock.now;
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]');
    // A request every 10 s through the first 90 % of the lifetime: all from the cache.
    for (let t = 10; t < TTL_S * 0.9; t += 10) {
      clock.now = born + t * 1000;
      expect(await ask()).toBe('OK esmtp:[192.0.2.30]');
    }
    expect(mxQueries()).toBe(1);

    // The address changes, and the DNS is now slow (100 ms): the refresh must not make anyone wait for it.
    const changed = zone();
    changed.records['mx.busy.test'] = [{ type: 'A', address: '192.0.2.31', ttl: TTL_S }];
    rig.dns.zone = { ...changed, behaviours: { 'busy.test': { MX: 'slow' } } };
    clock.now = born + (TTL_S - 20) * 1000;
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]'); // answered from the cache while the refresh runs
    expect(await ask()).toBe('OK esmtp:[192.0.2.30]'); // a second hit joins the refresh, it does not start one
    expect(rig.engine.counters.refreshesAhead).toBe(1);
    await until(() => rig.sink.events('decision').some((e) => JSON.stringify(e).includes('192.0.2.31')));
    expect(await ask()).toBe('OK esmtp:[192.0.2.31]'); // before the old decision's expiry
    expect(clock.now).toBeLessThan(born + TTL_S * 1000);

    // Another whole lifetime of steady requests: one more refresh, not one per request.
    const refreshed = clock.now;
    for (let t = 10; t < TTL_S; t += 10) {
      clock.now = refreshed + t * 1000;
      expect(await ask()).toBe('OK esmtp:[192.0.2.31]');
    }
    await until(() => rig.engine.counters.refreshesAhead === 2 && mxQueries() === 3);
    expect(rig.engine.counters.staleAnswers).toEqual({ failed: 0, deadline: 0, held: 0 });
  });
});
