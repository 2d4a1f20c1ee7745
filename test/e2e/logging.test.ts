/**
 * Logging never blocks serving: the built serve with a stdout pipe whose reader stops (journald under load,
 * a full pipe). Lines past a bounded buffer are dropped and counted; cache hits go on being answered; once
 * the reader takes lines again, one line says how many were lost and logging continues, in order.
 */
import { type ServeProcess, startServe } from '../support/cli';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { ruleZone } from '../support/rule-zone';
import { WireClient, ns } from '../support/wire';

let dns: DnsFixture;
let serve: ServeProcess;
beforeAll(async () => {
  dns = await startDnsFixture(ruleZone());
  serve = await startServe(['--listen', 'inet:0@127.0.0.1', '--dns', dns.spec, '--no-probe', '--log-level', 'debug', '--http', '127.0.0.1:0']);
});
afterAll(async () => {
  serve.child.stdout.resume();
  await serve.stop();
  await dns.close();
});

async function metric(name: string): Promise<number> {
  const http = serve.lines.find((l) => l.evt === 'listening')?.http as string;
  const text = await (await fetch(`http://${http}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('a stalled reader of stdout: cache hits are still answered, dropped lines are counted, and logging resumes in order', async () => {
  const hits = await WireClient.open({ port: serve.port });
  const noisy = await WireClient.open({ port: serve.port });
  try {
    hits.send(ns('mailertable cname-mx.test'));
    await hits.replyCount(1);
    serve.child.stdout.pause(); // the reader stops; the pipe fills

    // Each invalid key is logged at debug with its bytes escaped: about 8 MB of log lines in all.
    const junk = `mailertable ${'x_'.repeat(50)}`;
    const requests = 25_000;
    for (let i = 0; i < requests; i += 1000) noisy.send(Array.from({ length: 1000 }, () => ns(junk)).join(''));

    // Meanwhile a sendmail-like client asks for a cached domain, one request at a time.
    let slowest = 0;
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      const n = hits.replies.length;
      hits.send(ns('mailertable cname-mx.test'));
      await hits.replyCount(n + 1, 1000);
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((r) => setTimeout(r, 10));
    }
    await noisy.replyCount(requests, 20_000);
    expect(hits.replies.slice(1)).toEqual(Array(50).fill('OK esmtp:[192.0.2.10]'));
    expect(slowest).toBeLessThan(1000); // answered at all (a blocked event loop answers none), not a speed target
    expect(await metric('mx4map_log_lines_dropped_total')).toBeGreaterThan(0);

    const before = serve.lines.length;
    serve.child.stdout.resume();
    // Every drop is reported (in one line or several, as the reader catches up; a report written while the
    // buffer is still full may itself be dropped): the last report's total is what /metrics counts.
    const reports = (): Array<{ lines: number; total: number }> => serve.lines.filter((l) => l.evt === 'log-dropped') as never;
    let counted = 0;
    for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      counted = await metric('mx4map_log_lines_dropped_total');
      if (reports().at(-1)?.total === counted) break;
    }
    const report = reports().at(-1) as { lines: number; total: number };
    expect(report.lines).toBeGreaterThan(0);
    expect(report.total).toBe(counted);
    // Logging goes on after the report: a new connection is logged.
    const later = await WireClient.open({ port: serve.port });
    await later.until(() => serve.lines.slice(before).some((l) => l.evt === 'connect' && serve.lines.indexOf(l) > serve.lines.indexOf(report as never)), 5000);
    later.destroy();
    // What did come out came out in order.
    const times = serve.lines.map((l) => Date.parse(l.time as string));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1])).toBe(true);
  } finally {
    hits.destroy();
    noisy.destroy();
  }
}, 60_000);
