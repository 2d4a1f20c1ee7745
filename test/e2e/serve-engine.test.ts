/** The built `mx4map serve`, deciding from the fixture DNS and probing a fake SMTP endpoint, asked over its socket. */
import type { ServeProcess } from '../support/cli';
import type { DnsFixture } from '../support/dns-fixture';
import { type ServeRig, startServeRig } from '../support/serve-rig';
import { until } from '../support/until';
import { WireClient, ns } from '../support/wire';

let rig: ServeRig;
let dns: DnsFixture;
let serve: ServeProcess;
let client: WireClient;

beforeAll(async () => {
  rig = await startServeRig(['--deadline', '1500ms', '--probe-timeout', '1s', '--dns-timeout', '3s']);
  ({ dns, serve } = rig);
  client = await WireClient.open({ port: serve.port });
});
afterAll(async () => {
  client.destroy();
  await rig.close();
});

async function ask(request: string): Promise<string> {
  const n = client.replies.length;
  client.send(ns(request));
  return (await client.replyCount(n + 1))[n];
}

describe('serve answers every rule row over the socket', () => {
  test.each([
    ['mailertable cname-mx.test', 'OK esmtp:[192.0.2.10]'],
    ['transport user@cname-mx.test', 'OK smtp:[192.0.2.10]'],
    ['mailertable no-aaaa.test', 'OK esmtp:[192.0.2.20]'],
    ['mailertable aaaa-error.test', 'OK esmtp:[192.0.2.30]'],
    ['mailertable ipv6-ok.test', 'NOTFOUND '],
    ['mailertable nxdomain.test', 'NOTFOUND '],
    ['mailertable null-mx.test', 'NOTFOUND '],
    ['mailertable implicit.test', 'OK esmtp:[192.0.2.60]'],
    ['mailertable no-ipv4.test', 'NOTFOUND '],
    ['mailertable servfail.test', 'NOTFOUND '],
    ['mailertable host-nx.test', 'OK esmtp:[192.0.2.70]'],
    ['mailertable multi.test', 'OK esmtp:[192.0.2.5],[192.0.2.3],[192.0.2.1]:[192.0.2.4]'],
    ['transport multi.test', 'OK smtp:[192.0.2.5], [192.0.2.3], [192.0.2.1], [192.0.2.4]'],
    ['mailertable .cname-mx.test', 'NOTFOUND '],
  ])('%s → %s', async (request, reply) => {
    expect(await ask(request)).toBe(reply);
  });

  test('a domain whose DNS never answers gets NOTFOUND within the deadline', async () => {
    expect(await ask('mailertable blackhole.test')).toBe('NOTFOUND ');
    // Answered by the deadline (which logs it), not by the DNS timeouts running out.
    await until(() => serve.lines.some((l) => l.evt === 'deadline' && l.domain === 'blackhole.test'), 5000, 'the deadline line');
  });

  test('DNS slower than the deadline: NOTFOUND (deadline) now, the decision once it is cached', async () => {
    expect(await ask('mailertable slow.test')).toBe('NOTFOUND '); // its MX answer takes 2 s
    await until(() => serve.lines.some((l) => l.evt === 'deadline' && l.domain === 'slow.test'), 5000, 'the deadline line');
    const decided = () => serve.lines.some((l) => l.evt === 'decision' && l.domain === 'slow.test');
    await client.until(decided, 5000);
    expect(await ask('mailertable slow.test')).toBe('OK esmtp:[192.0.2.20]');
    expect(serve.lines.filter((l) => l.evt === 'deadline' && l.domain === 'slow.test')).toHaveLength(1);
  });

  test('one info line per fresh decision; none for cache hits', async () => {
    await ask('mailertable cname-mx.test');
    await ask('mailertable cname-mx.test');
    expect(serve.lines.filter((l) => l.evt === 'decision' && l.domain === 'cname-mx.test')).toHaveLength(1);
  });

  test('the DNS traffic the caches promise: repeated lookups cost nothing', async () => {
    const before = dns.queries.length;
    for (let i = 0; i < 5; i++) await ask('mailertable no-aaaa.test');
    expect(dns.queries.length).toBe(before);
  });
});
