import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { WireDnsClient } from '../../src/dns/client';
import { resolveRRset } from '../../src/dns/rrset';
import { MalformedResponse, decodeResponse } from '../../src/dns/message';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { parseDnsServer } from '../../src/dns/servers';
import { Packet } from 'dns2';
import { A, parseQuery, response } from '../support/dns-packets';

let dns: DnsFixture;
let open: DnsFixture | undefined;
beforeEach(() => (open = undefined));
afterEach(async () => {
  await open?.close();
});
async function fixture(zone: Parameters<typeof startDnsFixture>[0]): Promise<DnsFixture> {
  open = await startDnsFixture(zone);
  return open;
}

describe('WireDnsClient against the fixture', () => {
  test('rcode, records with TTLs, CNAME chain and the SOA of negative answers', async () => {
    dns = await fixture({
      negativeTtl: 42,
      records: { 'alias.test': [{ type: 'CNAME', target: 'host.test', ttl: 30 }], 'host.test': [{ type: 'A', address: '192.0.2.1', ttl: 90 }] },
    });
    const client = new WireDnsClient({ servers: [dns.server], timeoutMs: 500, attempts: 1 });
    const a = await client.query('alias.test', 'A');
    expect(a.kind === 'response' && a.response.answers).toEqual([
      { name: 'alias.test', type: 'CNAME', ttl: 30, target: 'host.test' },
      { name: 'host.test', type: 'A', ttl: 90, address: '192.0.2.1' },
    ]);
    const nx = await client.query('missing.test', 'A');
    expect(nx.kind === 'response' && nx.response.rcode).toBe(3);
    expect(nx.kind === 'response' && nx.response.authorities[0]).toMatchObject({ type: 'SOA', minimum: 42 });
    expect(client.stats.byOutcome).toEqual({ NOERROR: 1, NXDOMAIN: 1 });
  });

  test('a pooled socket waiting for its next query does not keep the process alive (a lookup exits at once)', async () => {
    dns = await fixture({ records: { 'host.test': [{ type: 'A', address: '192.0.2.1' }] } });
    const client = new WireDnsClient({ servers: [dns.server], timeoutMs: 500, attempts: 1 });
    const udpHandles = (): number => process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap').length;
    const before = udpHandles();
    await client.query('host.test', 'A');
    // None more than before (earlier tests' idle sockets may close meanwhile; none is added).
    expect(udpHandles()).toBeLessThanOrEqual(before);
    expect((await client.query('host.test', 'A')).kind).toBe('response'); // and reused after
  });

  test('a truncated UDP answer is asked again over TCP', async () => {
    const many = Array.from({ length: 100 }, (_, i) => ({ type: 'A' as const, address: `192.0.2.${i + 1}` }));
    dns = await fixture({ records: { 'big.test': many } });
    const client = new WireDnsClient({ servers: [dns.server], timeoutMs: 500, attempts: 1 });
    const r = await resolveRRset(client, 'big.test', 'A');
    expect(r.kind === 'records' && r.records.length).toBe(100);
    expect(dns.count('big.test', 'A')).toBe(2); // UDP (truncated), then TCP
  });

  test('SERVFAIL from the first server: the next one is asked', async () => {
    dns = await fixture({ records: { 'x.test': [{ type: 'A', address: '192.0.2.1' }] } });
    const failing = await startDnsFixture({ records: {}, behaviours: { 'x.test': { '*': 'servfail' } } });
    try {
      const client = new WireDnsClient({ servers: [failing.server, dns.server], timeoutMs: 500, attempts: 1 });
      const r = await client.query('x.test', 'A');
      expect(r.kind).toBe('response');
      expect(failing.count('x.test', 'A')).toBe(1);
    } finally {
      await failing.close();
    }
  });

  test('every server down: a failure after the timeouts, never a hang', async () => {
    dns = await fixture({ records: {}, behaviours: { 'x.test': { '*': 'silent' } } });
    const client = new WireDnsClient({ servers: [dns.server, { host: '127.0.0.1', port: 9, family: 4 }], timeoutMs: 100, attempts: 2 });
    // Each server asked `attempts` times, each attempt ended by its timeout: then the failure, never a hang.
    const r = await client.query('x.test', 'A');
    expect(r).toMatchObject({ kind: 'failure' });
    expect(dns.count('x.test', 'A')).toBe(2);
  });
});

describe('answers that must be ignored', () => {
  let fake: UdpSocket;
  afterEach(() => fake.close());

  /** A UDP server that first sends a reply with the wrong ID, then one for another name, then the right one. */
  async function trickster(): Promise<number> {
    fake = createSocket('udp4');
    fake.on('message', (msg, from) => {
      const q = Packet.parse(msg) as unknown as { header: { id: number }; questions: Array<{ name: string; type: number }> };
      const reply = (id: number, name: string, address: string) => {
        const p = new Packet() as unknown as { header: Record<string, number>; questions: unknown[]; answers: unknown[]; toBuffer(): Buffer };
        p.header = { id, qr: 1, rd: 1, ra: 1, rcode: 0 } as never;
        p.questions.push({ name, type: q.questions[0].type, class: 1 });
        p.answers.push({ name, type: 1, class: 1, ttl: 60, address });
        fake.send(p.toBuffer(), from.port, from.address);
      };
      reply((q.header.id + 1) & 0xffff, q.questions[0].name, '198.51.100.66'); // wrong ID
      reply(q.header.id, 'other.test', '198.51.100.67'); // wrong question
      setTimeout(() => reply(q.header.id, q.questions[0].name, '192.0.2.1'), 20);
    });
    await new Promise<void>((r) => fake.bind(0, '127.0.0.1', r));
    return fake.address().port;
  }

  test('wrong ID and wrong question are dropped; the real answer is taken', async () => {
    const port = await trickster();
    const client = new WireDnsClient({ servers: [{ host: '127.0.0.1', port, family: 4 }], timeoutMs: 500, attempts: 1 });
    const r = await client.query('x.test', 'A');
    expect(r.kind === 'response' && r.response.answers.map((a) => (a.type === 'A' ? a.address : ''))).toEqual(['192.0.2.1']);
  });

  test('a reply from another source address or port is dropped', async () => {
    dns = await fixture({ records: { 'x.test': [{ type: 'A', address: '192.0.2.1' }] } });
    const port = await trickster(); // answers, but the client asks the fixture: the trickster must not be heard
    const client = new WireDnsClient({ servers: [dns.server], timeoutMs: 500, attempts: 1 });
    expect(port).not.toBe(dns.server.port);
    const r = await client.query('x.test', 'A');
    expect(r.kind === 'response' && r.response.answers).toHaveLength(1);
  });
});

test('decodeResponse rejects what is not a DNS response', () => {
  expect(() => decodeResponse(Buffer.from('hello'))).toThrow(MalformedResponse);
  expect(() => decodeResponse(Buffer.alloc(12))).toThrow('not a response'); // a query (QR=0)
});

test('DNS server specs', () => {
  expect(parseDnsServer('192.0.2.53')).toEqual({ host: '192.0.2.53', port: 53, family: 4 });
  expect(parseDnsServer('127.0.0.1:5353')).toEqual({ host: '127.0.0.1', port: 5353, family: 4 });
  expect(parseDnsServer('[2001:db8::53]:5353')).toEqual({ host: '2001:db8::53', port: 5353, family: 6 });
  expect(parseDnsServer('2001:db8::53')).toEqual({ host: '2001:db8::53', port: 53, family: 6 });
  expect(parseDnsServer('ns.example.com')).toHaveProperty('problem');
  // Written any way, an IPv6 server is kept in the form node reports a reply's source in.
  expect(parseDnsServer('[0:0:0:0:0:0:0:1]:53')).toEqual({ host: '::1', port: 53, family: 6 });
  expect(parseDnsServer('[::0001]:5353')).toEqual({ host: '::1', port: 5353, family: 6 });
  expect(parseDnsServer('2001:DB8:0::53')).toEqual({ host: '2001:db8::53', port: 53, family: 6 });
  expect(parseDnsServer('127.0.0.1:0')).toHaveProperty('problem');
});

test('an IPv6 server written non-canonically (--dns [0:0:0:0:0:0:0:1]:PORT) is still heard: its replies are not taken for another source', async () => {
  const server = createSocket('udp6');
  server.on('message', (msg, from) => {
    const q = parseQuery(msg);
    if (q) server.send(response(q.id, q.name, q.type, [A('192.0.2.1')]), from.port, from.address);
  });
  await new Promise<void>((r) => server.bind(0, '::1', r));
  try {
    const spec = parseDnsServer(`[0:0:0:0:0:0:0:1]:${server.address().port}`);
    if ('problem' in spec) throw new Error(spec.problem);
    const client = new WireDnsClient({ servers: [spec], timeoutMs: 500, attempts: 1 });
    const r = await client.query('x.test', 'A');
    expect(r.kind === 'response' && r.response.answers).toEqual([{ name: 'x.test', type: 'A', ttl: 300, address: '192.0.2.1' }]);
  } finally {
    server.close();
  }
});

test('rcodes outside the common set are counted as "other": a server cannot grow the metric labels', async () => {
  const server = createSocket('udp4');
  let rcode = 6;
  server.on('message', (msg, from) => {
    const q = parseQuery(msg);
    if (q) server.send(response(q.id, q.name, q.type, [], rcode++ & 0x0f), from.port, from.address);
  });
  await new Promise<void>((r) => server.bind(0, '127.0.0.1', r));
  try {
    const client = new WireDnsClient({ servers: [{ host: '127.0.0.1', port: server.address().port, family: 4 }], timeoutMs: 500, attempts: 1 });
    for (let i = 0; i < 10; i++) await client.query(`x${i}.test`, 'A');
    expect(Object.keys(client.stats.byOutcome)).toEqual(['other']);
  } finally {
    server.close();
  }
});
