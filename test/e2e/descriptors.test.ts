/**
 * Descriptors: probes and DNS sockets never take what client connections need. The built serve runs under
 * an open-file limit of 1,024 while hostile domains ask for hundreds of probes to addresses that accept
 * and never greet, and hundreds of DNS queries that are answered late; meanwhile new clients keep arriving.
 */
import { type ServeProcess, startServe } from '../support/cli';
import { type DnsFixture, type Zone, startDnsFixture } from '../support/dns-fixture';
import { type SmtpFixture, startSmtpFixture } from '../support/smtp-fixture';
import { ensureTestAddresses, testIpv6 } from '../support/test-addresses';
import { WireClient, ns } from '../support/wire';
import { until } from '../support/until';

const ADDRESSES = Array.from({ length: 64 }, (_, i) => testIpv6(i + 1));

function zone(): Zone {
  const records: Zone['records'] = {
    'cached.test': [{ type: 'MX', exchange: 'mail.cached.test', priority: 10 }],
    'mail.cached.test': [{ type: 'CNAME', target: 'real.cached.test' }],
    'real.cached.test': [{ type: 'A', address: '192.0.2.10' }],
  };
  const behaviours: Zone['behaviours'] = {};
  for (let i = 0; i < 100; i++) {
    records[`flood${i}.test`] = Array.from({ length: 10 }, (_, j) => ({ type: 'MX' as const, exchange: `h${j}.flood${i}.test`, priority: 10 + j }));
    for (let j = 0; j < 10; j++) {
      records[`h${j}.flood${i}.test`] = [
        { type: 'A', address: '192.0.2.70' },
        { type: 'AAAA', address: ADDRESSES[(i * 10 + j) % ADDRESSES.length] },
        { type: 'AAAA', address: ADDRESSES[(i * 10 + j + 1) % ADDRESSES.length] },
      ];
    }
  }
  for (let i = 0; i < 300; i++) {
    records[`late${i}.test`] = [{ type: 'MX', exchange: 'mail.cached.test', priority: 10 }];
    behaviours[`late${i}.test`] = { MX: 'slow' };
  }
  return { records, behaviours, slowMs: 2500 };
}

let dns: DnsFixture;
let silent: SmtpFixture;
let serve: ServeProcess;
const clients: WireClient[] = [];

beforeAll(async () => {
  ensureTestAddresses(ADDRESSES);
  dns = await startDnsFixture(zone());
  silent = await startSmtpFixture('silent', '::'); // every test address: accepts, never greets
  serve = await startServe(
    [
      '--listen',
      'inet:0@127.0.0.1',
      '--dns',
      dns.spec,
      '--probe-port',
      String(silent.port),
      '--probe-timeout',
      '3s',
      '--deadline',
      '3500ms',
      '--reply-max-age',
      '5s',
      '--log-level',
      'info',
    ],
    {},
    { fileLimit: 1024 },
  );
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await serve.stop();
  await silent.close();
  await dns.close();
});

test('hundreds of probes that hang and DNS answers that come late: every new client is still served', async () => {
  // The flood: 100 domains of 10 MX hosts each (up to 6 probes each), 300 domains answered 2.5 s late.
  const hostile = Array.from({ length: 16 }, () => WireClient.open({ port: serve.port }));
  const flooders = await Promise.all(hostile);
  clients.push(...flooders);
  const names = [...Array.from({ length: 100 }, (_, i) => `flood${i}.test`), ...Array.from({ length: 300 }, (_, i) => `late${i}.test`)];
  names.forEach((name, i) => flooders[i % flooders.length].send(ns(`mailertable ${name}`)));
  // The flood is under way once its late answers have been asked for and its MX hosts are being resolved
  // (probes follow them): the new clients arrive in the middle of it.
  const asked = (prefix: string): number => dns.queries.filter((q) => q.startsWith(prefix)).length;
  await until(() => asked('late') >= 100 && asked('h') >= 500, 10_000, 'the flood to reach DNS');
  // Meanwhile 500 clients arrive, each asking once.
  const arriving = await Promise.all(Array.from({ length: 500 }, () => WireClient.open({ port: serve.port })));
  clients.push(...arriving);
  for (const c of arriving) c.send(ns('mailertable cached.test'));
  await Promise.all(arriving.map((c) => c.until(() => c.replies.length > 0 || c.closed, 15_000)));
  expect(arriving.filter((c) => c.replies[0] === 'OK esmtp:[192.0.2.10]').length).toBe(500);
  // The flood itself is answered too (fail open where time ran out), and nothing ran out of descriptors.
  await Promise.all(flooders.map((c, i) => c.replyCount(names.filter((_, n) => n % flooders.length === i).length, 20_000)));
  expect(flooders.every((c) => !c.closed)).toBe(true);
  expect(JSON.stringify(serve.lines) + serve.stderr()).not.toMatch(/EMFILE|ENFILE|too many open files/i);
  expect(serve.lines.filter((l) => l.evt === 'connection-refused' || l.evt === 'connection-evicted')).toEqual([]);
}, 60_000);
