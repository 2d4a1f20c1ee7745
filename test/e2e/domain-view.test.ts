/**
 * The running server's view of one domain (GET /domain?name=…, `mx4map lookup --server`): what it holds —
 * fresh, nothing, in flight — beside an evaluation made with its own caches, in lookup's layout and as JSON;
 * and the endpoints that name recipient domains withheld on a non-loopback ops listener unless opted in.
 */
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { type ServeProcess, runCliAsync, startServe } from '../support/cli';
import { askOnce } from '../support/wire';
import { ruleZone } from '../support/rule-zone';
import { until } from '../support/until';
import { freePort } from '../support/free-port';

describe('the per-domain view of a running server', () => {
  let dns: DnsFixture;
  let serve: ServeProcess;
  let http: string;
  beforeAll(async () => {
    // Its blackhole.test is never answered: a lookup of it stays in flight.
    dns = await startDnsFixture(ruleZone());
    serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--http', '127.0.0.1:0', '--dns', dns.spec, '--no-probe', '--dns-timeout', '5s']);
    http = String(serve.lines.find((l) => l.evt === 'listening')?.http);
  });
  afterAll(async () => {
    await serve?.stop();
    await dns?.close();
  });

  const ask = (domain: string): Promise<string> => askOnce({ port: serve.port }, `mailertable ${domain}`);

  test('a decision held fresh: lookup --server prints the trail, what the server answers and holds, and exits 0', async () => {
    expect(await ask('cname-mx.test')).toBe('OK esmtp:[192.0.2.10]');
    const r = await runCliAsync(['lookup', '--server', http, 'cname-mx.test']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('decision    force-ipv4 (cname-mx)');
    expect(r.stdout).toMatch(/^answer {6}mailertable {2}OK esmtp:\[192\.0\.2\.10\] {2}\(cached\)$/m);
    expect(r.stdout).toMatch(/^server {6}holds force-ipv4 \(cname-mx\), fresh for \d+ s more, kept \(stale past that\) until 24 h from now$/m);
    expect(r.stdout).toMatch(/^in flight {3}no$/m);
  });

  test('--json: the same report, with held', async () => {
    const r = await runCliAsync(['lookup', '--server', http, '--json', 'cname-mx.test']);
    const report = JSON.parse(r.stdout) as {
      held: { state: string; inFlight: boolean; decision: { action: string } };
      answers: Record<string, { status: string }>;
    };
    expect(report.held).toMatchObject({ state: 'fresh', inFlight: false, decision: { action: 'force-ipv4' } });
    expect(report.answers.mailertable).toEqual({ status: 'OK', value: 'esmtp:[192.0.2.10]' });
  });

  test('a domain never asked: nothing held; one being looked up: in flight', async () => {
    const none = await runCliAsync(['lookup', '--server', http, 'other.test']);
    expect(none.stdout).toMatch(/^server {6}holds no decision for it: the next lookup decides it$/m);
    const waiting = ask('blackhole.test'); // the fixture never answers it: the lookup stays in flight
    await until(() => dns.queries.some((q) => q.startsWith('blackhole.test')), 5000, 'the lookup asking DNS');
    const view = (await (await fetch(`http://${http}/domain?name=blackhole.test`)).json()) as { held: { inFlight: boolean; state: string } };
    expect(view.held).toMatchObject({ inFlight: true, state: 'none' });
    expect(await waiting).toBe('NOTFOUND '); // answered at the deadline
  }, 20_000);

  test('a key that is not a domain, and a server that cannot be reached, say so', async () => {
    const parent = await runCliAsync(['lookup', '--server', http, '.test']);
    expect({ status: parent.status, out: parent.stdout.trim() }).toEqual({ status: 1, out: '.test: answered NOTFOUND at once, without DNS (parent-walk)' });
    const closed = await freePort();
    const gone = await runCliAsync(['lookup', '--server', `127.0.0.1:${closed}`, 'cname-mx.test']);
    expect({ status: gone.status, err: gone.stderr }).toEqual({
      status: 2,
      err: `mx4map: cannot fetch http://127.0.0.1:${closed}/domain?name=cname-mx.test: connection refused (is serve running with its ops listener on? http: 127.0.0.1:9425 in mx4map.yml, or --http)\n`,
    });
  });
});

describe('an ops listener off loopback', () => {
  const started: ServeProcess[] = [];
  afterAll(() => Promise.all(started.map((s) => s.stop())));
  const start = async (...extra: string[]): Promise<{ s: ServeProcess; port: string }> => {
    const s = await startServe(['--listen', 'inet:0@127.0.0.1', '--http', '0.0.0.0:0', '--dns', '127.0.0.1:9', '--no-probe', ...extra]);
    started.push(s);
    return {
      s,
      port:
        String(s.lines.find((l) => l.evt === 'listening')?.http)
          .split(':')
          .pop() ?? '',
    };
  };

  test('serves /metrics and /healthz, withholds /decisions and /domain, and says so at start', async () => {
    const { s, port } = await start();
    const get = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
    expect([await get('/metrics'), await get('/healthz'), await get('/decisions'), await get('/domain?name=example.com')]).toEqual([200, 200, 403, 403]);
    expect(s.lines.find((l) => l.evt === 'listen-exposed')).toMatchObject({ served: 'metrics,healthz' });
  });

  test('with http_expose_domains: all four', async () => {
    const { s, port } = await start('--http-expose-domains');
    const get = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
    expect([await get('/metrics'), await get('/healthz'), await get('/decisions'), await get('/domain?name=.example.com')]).toEqual([200, 200, 200, 200]);
    expect(s.lines.find((l) => l.evt === 'listen-exposed')).toMatchObject({ served: 'all' });
  });
});
