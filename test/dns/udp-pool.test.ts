/** The shared UDP sockets of the DNS client, against a real UDP server on loopback. */
import { type RemoteInfo, type Socket, createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { encodeQuery } from '../../src/dns/message';
import { UdpPool, type UdpServer } from '../../src/dns/udp-pool';
import { TEST_IPV6, ensureTestAddresses } from '../support/test-addresses';

/** A UDP "DNS server" that records each query's source port and lets the test answer it (or not). */
async function udpServer(): Promise<{ server: UdpServer; queries: { id: number; from: RemoteInfo; bytes: Buffer }[]; socket: Socket; close(): void }> {
  const socket = createSocket('udp4');
  const queries: { id: number; from: RemoteInfo; bytes: Buffer }[] = [];
  socket.on('message', (bytes, from) => queries.push({ id: bytes.readUInt16BE(0), from, bytes }));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { server: { host: '127.0.0.1', port: (socket.address() as AddressInfo).port, family: 4 }, queries, socket, close: () => socket.close() };
}

/** The reply to a query: the same bytes with QR set (a header-and-question answer is enough for matching). */
const answerTo = (query: Buffer): Buffer => {
  const reply = Buffer.from(query);
  reply[2] |= 0x80;
  return reply;
};

const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setImmediate(r));
};

let ids = 0;
const pool = new UdpPool(() => (ids = (ids + 1) & 0xffff));
const ask = (server: UdpServer, name: string, timeoutMs = 2000) =>
  pool.exchange(
    server,
    (id) => encodeQuery(id, name, 'A'),
    (id) => ({ id, name, type: 1 }),
    timeoutMs,
  );

test('replies are matched to their query by ID on a shared socket, whatever order they come in', async () => {
  const dns = await udpServer();
  try {
    const first = ask(dns.server, 'one.example');
    const second = ask(dns.server, 'two.example');
    await until(() => dns.queries.length === 2);
    for (const q of [...dns.queries].reverse()) dns.socket.send(answerTo(q.bytes), q.from.port, q.from.address);
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok && a.bytes.includes(Buffer.from('one'))).toBe(true);
    expect(b.ok && b.bytes.includes(Buffer.from('two'))).toBe(true);
  } finally {
    dns.close();
  }
});

test('a reply from another address or port is ignored (spoofing): the query ends by its timeout', async () => {
  const dns = await udpServer();
  const impostor = createSocket('udp4');
  await new Promise<void>((resolve) => impostor.bind(0, '127.0.0.1', resolve));
  try {
    const pending = ask(dns.server, 'spoofed.example', 300);
    await until(() => dns.queries.length === 1);
    const q = dns.queries[0];
    impostor.send(answerTo(q.bytes), q.from.port, q.from.address); // right ID and question, wrong source port
    expect(await pending).toMatchObject({ ok: false, timeout: true });
  } finally {
    impostor.close();
    dns.close();
  }
});

test('a reply whose question differs from the one asked is ignored', async () => {
  const dns = await udpServer();
  try {
    const pending = ask(dns.server, 'asked.example', 300);
    await until(() => dns.queries.length === 1);
    const q = dns.queries[0];
    const other = answerTo(encodeQuery(q.id, 'other.example', 'A'));
    dns.socket.send(other, q.from.port, q.from.address);
    expect(await pending).toMatchObject({ ok: false, timeout: true });
  } finally {
    dns.close();
  }
});

test('a socket is retired after 128 queries: later queries leave from other ports', async () => {
  const dns = await udpServer();
  // Answer everything at once, so the pool's sockets are reused as fast as possible.
  dns.socket.on('message', (bytes, from) => dns.socket.send(answerTo(bytes), from.port, from.address));
  try {
    for (let i = 0; i < 600; i++) expect((await ask(dns.server, `q${i}.example`)).ok).toBe(true);
    const perPort = new Map<number, number>();
    for (const q of dns.queries) perPort.set(q.from.port, (perPort.get(q.from.port) ?? 0) + 1);
    expect(Math.max(...perPort.values())).toBeLessThanOrEqual(128);
    expect(perPort.size).toBeGreaterThanOrEqual(Math.ceil(600 / 128));
  } finally {
    dns.close();
  }
});

test('a late reply after the timeout is dropped, and the next query on the socket is answered normally', async () => {
  const dns = await udpServer();
  try {
    const timedOut = ask(dns.server, 'late.example', 100);
    await until(() => dns.queries.length === 1);
    expect(await timedOut).toMatchObject({ ok: false, timeout: true });
    const late = dns.queries[0];
    dns.socket.send(answerTo(late.bytes), late.from.port, late.from.address);
    const next = ask(dns.server, 'next.example');
    await until(() => dns.queries.length === 2);
    const q = dns.queries[1];
    dns.socket.send(answerTo(q.bytes), q.from.port, q.from.address);
    const reply = await next;
    expect(reply.ok && reply.bytes.includes(Buffer.from('next'))).toBe(true);
  } finally {
    dns.close();
  }
});

test('a server on loopback that refuses (ICMP port unreachable) fails the query at once, not at its timeout', async () => {
  const dns = await udpServer();
  const server = dns.server;
  dns.close(); // nothing listens on that port any more: the kernel answers port unreachable
  const outcome = await ask(server, 'refused.example', 60_000);
  expect(outcome).toMatchObject({ ok: false, detail: expect.stringContaining('ECONNREFUSED') });
  expect(outcome).not.toHaveProperty('timeout');
});

test('a refusal for a server off loopback is not believed (anyone can forge one): queries wait for their reply', async () => {
  ensureTestAddresses();
  const listen = async (port: number): Promise<Socket> => {
    const socket = createSocket('udp6');
    await new Promise<void>((resolve) => socket.bind(port, TEST_IPV6, resolve));
    return socket;
  };
  let socket = await listen(0);
  const server: UdpServer = { host: TEST_IPV6, port: (socket.address() as AddressInfo).port, family: 6 };
  const queries: { from: RemoteInfo; bytes: Buffer }[] = [];
  socket.on('message', (bytes, from) => queries.push({ from, bytes }));
  // Four queries wait, one on each of the server's sockets (the pool keeps four per server).
  const waiting = [0, 1, 2, 3].map((i) => ask(server, `first${i}.example`, 60_000));
  await until(() => queries.length === 4);
  socket.close();
  // Sent while nothing listens, one more per socket: each socket gets the kernel's ICMP port unreachable.
  const refused = await Promise.all([0, 1, 2, 3].map((i) => ask(server, `second${i}.example`, 300)));
  for (const outcome of refused) expect(outcome).toMatchObject({ ok: false, timeout: true });
  socket = await listen(server.port);
  try {
    for (const q of queries) socket.send(answerTo(q.bytes), q.from.port, q.from.address);
    const answered = await Promise.all(waiting);
    expect(answered.map((outcome) => outcome.ok && outcome.bytes.toString('latin1').match(/first\d/)?.[0])).toEqual(['first0', 'first1', 'first2', 'first3']);
  } finally {
    socket.close();
  }
});
