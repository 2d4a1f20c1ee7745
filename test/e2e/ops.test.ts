/** The operations listener of the built serve: /metrics, /healthz, /decisions, and `mx4map export` reading it. */
import { runCliAsync } from '../support/cli';
import { type ServeRig, startServeRig } from '../support/serve-rig';
import { WireClient, ns } from '../support/wire';
import { renderExport } from '../../src/cli/export';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSnapshot } from '../../src/snapshot/format';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

let rig: ServeRig;
let base: string;

beforeAll(async () => {
  rig = await startServeRig(['--http', '127.0.0.1:0', '--no-probe']);
  base = rig.http as string;
  const serve = rig.serve;
  const c = await WireClient.open({ port: serve.port });
  for (const r of [
    'mailertable cname-mx.test',
    'mailertable cname-mx.test',
    'mailertable multi.test',
    'transport u@no-aaaa.test',
    'mailertable nxdomain.test',
    'mailertable .test',
    'nomap x.test',
  ])
    c.send(ns(r));
  await c.replyCount(7);
  c.send(ns('mailertable cname-mx.test')); // now from the cache (the two above shared one decision)
  await c.replyCount(8);
  c.destroy();
});
afterAll(() => rig.close());

describe('/metrics', () => {
  let text: string;
  beforeAll(async () => {
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    text = await r.text();
  });
  test.each([
    'mx4map_lookups_total{map="mailertable",answer="OK",reason="cname-mx"} 3',
    'mx4map_lookups_total{map="mailertable",answer="OK",reason="no-aaaa"} 1',
    'mx4map_lookups_total{map="transport",answer="OK",reason="no-aaaa"} 1',
    'mx4map_lookups_total{map="mailertable",answer="NOTFOUND",reason="nxdomain"} 1',
    'mx4map_lookups_total{map="mailertable",answer="NOTFOUND",reason="parent-walk"} 1',
    'mx4map_lookups_total{map="-",answer="PERM",reason="unknown-map"} 1',
    'mx4map_cache_hits_total{cache="decisions"} 1',
    'mx4map_connections{state="open"} 0',
    'mx4map_stale_answers_total{cause="failed"} 0',
    'mx4map_stale_answers_total{cause="deadline"} 0',
    'mx4map_stale_answers_total{cause="held"} 0',
    'mx4map_refreshes_ahead_total{result="started"} 0',
    'mx4map_refreshes_ahead_total{result="skipped"} 0',
    'mx4map_budget_refused_total{budget="dns"} 0',
  ])('%s', (line) => {
    expect(text.split('\n')).toContain(line);
  });
  test('DNS queries by rcode with a latency histogram', () => {
    expect(text).toMatch(/^mx4map_dns_queries_total\{rcode="NOERROR"\} \d+$/m);
    expect(text).toMatch(/^mx4map_dns_query_seconds_bucket\{rcode="NOERROR",le="0.01"\} \d+$/m);
  });
  test('cache sizes per cache, and process metrics', () => {
    expect(text).toMatch(/^mx4map_cache_entries\{cache="hosts"\} [1-9]\d*$/m);
    expect(text).toMatch(/^mx4map_process_resident_memory_bytes \d+/m);
  });
});

test('/healthz', async () => {
  const r = await fetch(`${base}/healthz`);
  // The status line, then what the operator should know: our IPv6 sending identity (sender-ipv6-unready).
  expect(r.status).toBe(200);
  expect(await r.text()).toMatch(/^ok\n(sender-ipv6[ :].*\n)+$/);
});

test('/decisions lists the forced decisions held', async () => {
  const list = (await (await fetch(`${base}/decisions`)).json()) as Array<{ domain: string }>;
  expect(list.map((d) => d.domain).sort()).toEqual(['cname-mx.test', 'multi.test', 'no-aaaa.test']);
});

test('/decisions pages: offset and limit slice the list; anything but whole numbers is a 400', async () => {
  const all = (await (await fetch(`${base}/decisions`)).json()) as Array<{ domain: string }>;
  const page = (await (await fetch(`${base}/decisions?offset=1&limit=1`)).json()) as Array<{ domain: string }>;
  expect(page).toEqual([all[1]]);
  expect(await (await fetch(`${base}/decisions?offset=5`)).json()).toEqual([]);
  const bad = await fetch(`${base}/decisions?limit=-1`);
  expect([bad.status, await bad.text()]).toEqual([400, 'offset and limit must be whole numbers\n']);
});

describe('/decisions with 200,000 forced decisions held', () => {
  let big: ServeRig;
  beforeAll(async () => {
    // The snapshot header carries the rule the decisions were made under: taken from one this serve wrote.
    const path = join(mkdtempSync(join(tmpdir(), 'mx4map-decisions-')), 'cache.snapshot');
    const args = ['--http', '127.0.0.1:0', '--no-probe', '--cache-snapshot', path, '--cache-size', '250000'];
    const first = await startServeRig(args);
    const c = await WireClient.open({ port: first.serve.port });
    c.send(ns('mailertable cname-mx.test'));
    await c.replyCount(1);
    c.destroy();
    // SIGTERM: serve saves the snapshot on its way out.
    const exited = new Promise((resolve) => first.serve.child.once('exit', resolve));
    first.serve.child.kill('SIGTERM');
    await exited;
    await first.close();
    const { rule } = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]) as { rule: string };
    const now = Date.now();
    const entries = Array.from({ length: 200_000 }, (_, i) => ({
      domain: `forced${i}.example`,
      expiresAt: now + 3_600_000,
      decision: { action: 'force-ipv4' as const, triggers: ['cname-mx' as const], routes: [['192.0.2.10']] },
    }));
    writeFileSync(path, encodeSnapshot(entries, now, rule));
    big = await startServeRig(args);
  }, 60_000);
  afterAll(() => big?.close());

  test('16 clients polling it for 5 s: cache hits stay fast (1.35 s before), and a GET gets the whole list', async () => {
    const c = await WireClient.open({ port: big.serve.port });
    const ask = async (): Promise<number> => {
      const n = c.replies.length;
      const started = performance.now();
      c.send(ns('mailertable forced199999.example'));
      expect((await c.replyCount(n + 1))[n]).toBe('OK esmtp:[192.0.2.10]');
      return performance.now() - started;
    };
    await ask();
    // The pollers run in a process of their own: reading 16 lists of 22 MB here would stall this test's
    // own clock, not the server's.
    const script = `let n = 0; process.on('SIGTERM', () => { console.log(n); process.exit(0); });
      for (let i = 0; i < 16; i++) (async () => { for (;;) { try { await (await fetch(process.argv[1])).arrayBuffer(); n++; } catch {} } })();`;
    const pollers = spawn(process.execPath, ['-e', script, `${big.http}/decisions`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => pollers.once('exit', resolve));
    let polled = '';
    pollers.stdout.on('data', (chunk: Buffer) => (polled += chunk.toString()));
    const latencies: number[] = [];
    const until = performance.now() + 5000;
    while (performance.now() < until) {
      latencies.push(await ask());
      await new Promise((r) => setTimeout(r, 5));
    }
    pollers.kill('SIGTERM');
    await exited;
    c.destroy();
    expect(Number(polled)).toBeGreaterThanOrEqual(16); // every poller got whole lists meanwhile
    // Not a speed target: the bound that a whole-list render on the loop broke by seconds.
    expect(Math.max(...latencies)).toBeLessThan(250);
    // The pollers' 16 connections (the ops listener's cap) close as the server finishes writing to them: a
    // GET that comes sooner is refused at the cap, as designed, so it is asked again until one is taken.
    const whole = async (): Promise<unknown[]> => {
      for (let tries = 0; ; tries++) {
        try {
          return (await (await fetch(`${big.http}/decisions`)).json()) as unknown[];
        } catch (err) {
          if (tries >= 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    expect((await whole()).length).toBe(200_000);
  }, 60_000);
});

describe('mx4map export', () => {
  test('mailertable lines, ready for makemap', async () => {
    const r = await runCliAsync(['export', '--http', base]);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(1)).toEqual([
      'cname-mx.test\tesmtp:[192.0.2.10]',
      'multi.test\tesmtp:[192.0.2.5],[192.0.2.3],[192.0.2.1]:[192.0.2.4]',
      'no-aaaa.test\tesmtp:[192.0.2.20]',
      '',
    ]);
    expect(r.stdout).toMatch(/^# mx4map export, .*: 3 forced domains \(sendmail mailertable\)\n/);
  });
  test('Postfix transport lines', async () => {
    const r = await runCliAsync(['export', '--http', base, '--format', 'transport', '--mailer', 'smtp4']);
    expect(r.stdout).toContain('multi.test\tsmtp4:[192.0.2.5], [192.0.2.3], [192.0.2.1], [192.0.2.4]\n');
  });
  test('no server: one line, exit 2', async () => {
    const port = await closedPort();
    const r = await runCliAsync(['export', '--http', `http://127.0.0.1:${port}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      `mx4map: cannot fetch http://127.0.0.1:${port}/decisions: connection refused (is serve running with its ops listener on? http: 127.0.0.1:9425 in mx4map.yml, or --http)\n`,
    );
  });
});

test('renderExport caps addresses', () => {
  const out = renderExport(
    [{ domain: 'a.test', triggers: ['no-aaaa'], routes: [['192.0.2.1', '192.0.2.2']], ttlMs: 1 }],
    { name: 'x', format: 'sendmail', mailer: 'esmtp', nexthop: 'literal' },
    1,
    new Date(0),
  );
  expect(out).toBe('# mx4map export, 1970-01-01T00:00:00.000Z: 1 forced domains (sendmail mailertable)\na.test\tesmtp:[192.0.2.1]\n');
});
