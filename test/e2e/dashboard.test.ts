/**
 * The Grafana dashboard (contrib/grafana/mx4map-dashboard.json) against a real Prometheus (Debian's package,
 * on loopback, a temporary data directory) scraping a running mx4map with every feature a panel shows
 * switched on — the fleet's shared cache (a redis-server of the test's own), a followed delivery log, an IPv6
 * sending identity — while lookups flow: every panel's every expression, sent to Prometheus's query API,
 * returns at least one series.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { type ServeProcess, startServe } from '../support/cli';
import { type RedisFixture, redisMissing, startRedis } from '../support/redis';
import { describeRequiring } from '../support/requires';
import { freePort } from '../support/free-port';
import { WireClient, ns } from '../support/wire';
import { until } from '../support/until';
import { V6_GREETS, ruleZone } from '../support/rule-zone';

const DASHBOARD = join(__dirname, '..', '..', 'contrib', 'grafana', 'mx4map-dashboard.json');

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: { expr: string }[];
  readonly datasource?: { uid: string };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: { name: string; type: string }[] } };
const panels = dashboard.panels.filter((p) => p.type !== 'row');

test('the dashboard takes its datasource and job as variables, and every panel queries through them', () => {
  expect(dashboard.templating.list.map((v) => [v.name, v.type])).toEqual([
    ['datasource', 'datasource'],
    ['job', 'query'],
  ]);
  for (const p of panels) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, compared as written
    expect({ panel: p.title, datasource: p.datasource?.uid }).toEqual({ panel: p.title, datasource: '${datasource}' });
    for (const t of p.targets ?? []) expect({ panel: p.title, scoped: t.expr.includes('job="$job"') }).toEqual({ panel: p.title, scoped: true });
  }
});

test("the README's Dashboard section describes every panel", () => {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n### Dashboard\n'), readme.indexOf('\n### Replaying real lookups\n'));
  for (const p of panels) expect({ panel: p.title, described: section.includes(`| ${p.title} |`) }).toEqual({ panel: p.title, described: true });
});

function whyNot(): string | undefined {
  if (spawnSync('prometheus', ['--version']).status !== 0) return 'prometheus is not installed (Debian: apt-get install prometheus)';
  return redisMissing();
}

describeRequiring(whyNot(), 'the dashboard suite needs prometheus and redis-server')('every panel against a real Prometheus', () => {
  let dns: DnsFixture;
  let redis: RedisFixture;
  let serve: ServeProcess;
  let prometheus: ChildProcess;
  let api: string;
  const maillog = join(mkdtempSync(join(tmpdir(), 'mx4map-dash-')), 'maillog');

  beforeAll(async () => {
    // The rule's zone: cname-mx.test and no-aaaa.test are forced, ipv6-ok.test left alone (and the delivery log's domain).
    dns = await startDnsFixture(ruleZone());
    redis = await startRedis();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'mx4map-dash-')), 'fleet.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    writeFileSync(maillog, '');
    serve = await startServe([
      '--listen',
      'inet:0@127.0.0.1',
      '--http',
      '127.0.0.1:0',
      '--dns',
      dns.spec,
      '--no-probe',
      '--shared-cache',
      redis.spec,
      '--shared-cache-key-file',
      keyFile,
      '--delivery-log',
      maillog,
      '--ipv6-source',
      '2001:db8::25',
    ]);
    const target = String(serve.lines.find((l) => l.evt === 'listening')?.http);
    const dir = mkdtempSync(join(tmpdir(), 'mx4map-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s, evaluation_interval: 1s }\nscrape_configs:\n  - job_name: mx4map\n    static_configs: [{ targets: ['${target}'] }]\n`,
    );
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v1`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    // Lookups flow while Prometheus scrapes: forced, left alone, skipped, and a delivery failure IPv4 cures.
    const c = await WireClient.open({ port: serve.port });
    const ask = async (): Promise<void> => {
      const before = c.replies.length;
      for (const key of ['cname-mx.test', 'no-aaaa.test', 'ipv6-ok.test', '.test', 'nx.test']) c.send(ns(`mailertable ${key}`));
      await c.replyCount(before + 5);
    };
    appendFileSync(
      maillog,
      `Dec  4 10:00:00 mx postfix/smtp[1000]: 4Xk00000001: to=<u@ipv6-ok.test>, relay=mx.ipv6-ok.test[${V6_GREETS}]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.7.25, status=deferred (host mx.ipv6-ok.test[${V6_GREETS}] said: 450 4.7.25 Service unavailable, sending IPv6 address [2001:db8::25] must have reverse DNS record. (in reply to RCPT TO command))\n`,
    );
    const query = async (expr: string): Promise<unknown[]> => {
      const r = (await (await fetch(`${api}/query?query=${encodeURIComponent(expr)}`)).json()) as { data?: { result: unknown[] } };
      return r.data?.result ?? [];
    };
    // Scraped several times, with lookups between scrapes, so every rate has two samples to work with.
    await until(
      async () => {
        await ask();
        await new Promise((r) => setTimeout(r, 250));
        return (await query('count_over_time(mx4map_build_info[1m]) >= 5').catch(() => [])).length > 0;
      },
      60_000,
      'Prometheus scraping mx4map',
    );
    c.destroy();
  }, 90_000);
  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await serve?.stop();
    await redis?.close();
    await dns?.close();
  });

  test.each(panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const)))('%s: %s returns series', async (_title, expr) => {
    const sent = expr.replaceAll('$job', 'mx4map').replaceAll('$__rate_interval', '1m');
    const r = (await (await fetch(`${api}/query?query=${encodeURIComponent(sent)}`)).json()) as {
      status: string;
      data?: { result: unknown[] };
      error?: string;
    };
    expect({ status: r.status, error: r.error }).toEqual({ status: 'success', error: undefined });
    expect(r.data?.result.length).toBeGreaterThan(0);
  });
});
