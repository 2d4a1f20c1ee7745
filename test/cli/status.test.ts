/**
 * `mx4map status`: the one-screen summary, rendered from a scrape written by hand (every figure checked), and
 * from a running server's ops listener.
 */
import { renderStatus } from '../../src/cli/status-report';
import { parseExposition } from '../../src/text/prom-text';
import { spawn } from 'node:child_process';
import { CLI, type ServeProcess, cleanEnv, runCliAsync, startServe } from '../support/cli';
import { until } from '../support/until';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { askOnce } from '../support/wire';

const SCRAPE = `# HELP mx4map_build_info x
mx4map_build_info{version="0.1.0",node="20.20.2"} 1
mx4map_process_start_time_seconds 1000
mx4map_lookups_total{map="mailertable",answer="OK",reason="cname-mx"} 30
mx4map_lookups_total{map="mailertable",answer="OK",reason="sender-ipv6-unready"} 10
mx4map_lookups_total{map="mailertable",answer="NOTFOUND",reason="ipv6-ok"} 60
mx4map_cache_hits_total{cache="decisions"} 90
mx4map_cache_misses_total{cache="decisions"} 10
mx4map_cache_entries{cache="decisions"} 7
mx4map_dns_queries_total{rcode="NOERROR"} 18
mx4map_dns_queries_total{rcode="TIMEOUT"} 2
mx4map_sender_ipv6_unready 1
mx4map_sender_ipv6_identity{address="2001:db8::25",verdict="no-ptr"} 1
mx4map_shared_cache_up 0
mx4map_connections{state="open"} 3
mx4map_connections{state="idle"} 2
`;

test('every line from its figures: rates over the span between scrapes, shares, forced domains by trigger, identity, fleet', () => {
  const before = parseExposition(SCRAPE.replace('reason="cname-mx"} 30', 'reason="cname-mx"} 10'));
  const text = renderStatus({
    server: 'http://127.0.0.1:9425',
    scrape: parseExposition(SCRAPE),
    previous: { scrape: before, seconds: 4 },
    now: 1000 + 3 * 3600 + 12 * 60,
    health: { status: 200, lines: ['sender-ipv6 2001:db8::25 (configured): no-ptr'] },
    forced: [
      { domain: 'a.example', triggers: ['cname-mx'], routes: [['192.0.2.1']], ttlMs: 1000 },
      { domain: 'b.example', triggers: ['cname-mx', 'sender-ipv6-unready'], routes: [['192.0.2.2']], ttlMs: 1000 },
    ],
  });
  expect(text.split('\n')).toEqual([
    'mx4map 0.1.0 (Node.js 20.20.2) at http://127.0.0.1:9425: up 3h 12m, serving',
    'lookups      5.0/s over the last 4.0 s; 100 in all',
    'answers      OK 40.0 %  NOTFOUND 60.0 %  TEMP 0.0 %  PERM 0.0 %',
    'forced by    cname-mx 30, sender-ipv6-unready 10',
    'held forced  2 domains: cname-mx 2, sender-ipv6-unready 1',
    '             cname-mx: a.example, b.example',
    '             sender-ipv6-unready: b.example',
    'cache        decisions 7 held; decisions answered from cache 90.0 %',
    'stale        answers from expired decisions: none',
    'dns          20 queries, 10.0 % failed (NOERROR 18, TIMEOUT 2)',
    'probes       none',
    'identity     UNREADY (strict receivers forced onto IPv4): 2001:db8::25 no-ptr',
    'fleet        shared cache DOWN; decision reads none',
    'connections  3 open, 2 idle; closed none',
    'health       sender-ipv6 2001:db8::25 (configured): no-ptr',
    '',
  ]);
});

describe('mx4map status against a running server', () => {
  let dns: DnsFixture;
  let serve: ServeProcess;
  beforeAll(async () => {
    dns = await startDnsFixture({
      records: {
        'cname.test': [{ type: 'MX', priority: 10, exchange: 'mx.cname.test' }],
        'mx.cname.test': [{ type: 'CNAME', target: 'real.cname.test' }],
        'real.cname.test': [{ type: 'A', address: '192.0.2.10' }],
      },
    });
    serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--http', '127.0.0.1:0', '--dns', dns.spec, '--no-probe']);
  });
  afterAll(async () => {
    await serve?.stop();
    await dns?.close();
  });

  test('prints the screen: the lookup made, the forced domain held, serving', async () => {
    expect(await askOnce({ port: serve.port }, 'mailertable cname.test')).toBe('OK esmtp:[192.0.2.10]');
    const r = await runCliAsync(['status', '--http', String(serve.lines.find((l) => l.evt === 'listening')?.http)]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^mx4map \S+ \(Node\.js \S+\) at http:\/\/127\.0\.0\.1:\d+: up \d+m \d+s, serving$/m);
    expect(r.stdout).toMatch(/^lookups +\d+\.\d\/s on average since start; 1 in all$/m);
    // Its MX host is a CNAME to a name with no AAAA: both triggers.
    expect(r.stdout).toMatch(/^held forced {2}1 domain: cname-mx 1, no-aaaa 1$/m);
    expect(r.stdout).toMatch(/^ +cname-mx: cname\.test$/m);
    expect(r.stdout).toMatch(/^identity +no IPv6 source checked \(sender-ipv6-unready inert\)$/m);
  });

  test('--watch redraws with rates over the span between two scrapes, until interrupted', async () => {
    const child = spawn(process.execPath, [CLI, 'status', '--watch', '0.2', '--http', String(serve.lines.find((l) => l.evt === 'listening')?.http)], {
      env: cleanEnv(),
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('over the last'), 10_000, 'a redraw');
    child.kill('SIGINT');
    expect(out).toContain('\x1b[2J\x1b[H');
    expect(out).toMatch(/^lookups +\d+\.\d\/s over the last 0\.\d s; \d+ in all$/m);
  });

  test('no ops listener: one line naming the fix, exit 2', async () => {
    const r = await runCliAsync(['status', '--http', '127.0.0.1:1']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 2,
      stderr: expect.stringMatching(/^mx4map: cannot fetch http:\/\/127\.0\.0\.1:1\/metrics: .*\n$/),
    });
  });
});
