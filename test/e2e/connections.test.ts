/**
 * The connection model against the built serve, as a busy sendmail host uses it: thousands of processes
 * each holding one mostly idle connection. Idle connections never keep a new client out; descriptors are
 * shared out so that neither clients nor the ops listener can starve the other.
 */
import { type ServeProcess, startServe } from '../support/cli';
import { type DnsFixture, startDnsFixture } from '../support/dns-fixture';
import { ruleZone } from '../support/rule-zone';
import { WireClient, ns } from '../support/wire';
import { connect, type Socket } from 'node:net';
import { until } from '../support/until';

let dns: DnsFixture;
beforeAll(async () => {
  dns = await startDnsFixture(ruleZone());
});
afterAll(() => dns.close());

/** Every client opened, closed after each test whatever its outcome. */
const opened: WireClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.destroy();
});

/** Opens `n` connections at once; each sends one lookup and keeps the connection open. */
async function crowd(port: number, n: number): Promise<WireClient[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => WireClient.open({ port })));
  opened.push(...clients);
  for (const c of clients) c.send(ns('mailertable cname-mx.test'));
  await Promise.all(clients.map((c) => c.until(() => c.replies.length > 0 || c.closed, 15_000)));
  return clients;
}

const answered = (clients: WireClient[]): number => clients.filter((c) => c.replies[0] === 'OK esmtp:[192.0.2.10]').length;

async function serveWith(args: string[], fileLimit?: number): Promise<ServeProcess> {
  return startServe(['--listen', 'inet:0@127.0.0.1', '--dns', dns.spec, '--no-probe', '--log-level', 'info', ...args], {}, { fileLimit });
}

describe('3,000 sendmail processes, then 500 more', () => {
  test('default configuration: every connection is held and answered; none is evicted', async () => {
    const serve = await serveWith([]);
    try {
      const first = await crowd(serve.port, 3000);
      expect(answered(first)).toBe(3000);
      const later = await crowd(serve.port, 500);
      expect(answered(later)).toBe(500);
      expect(first.every((c) => !c.closed)).toBe(true);
      expect(serve.lines.filter((l) => l.evt === 'connection-evicted')).toEqual([]);
    } finally {
      await serve.stop();
    }
  }, 60_000);

  test('under an open-file limit of 1,024: the cap follows it, idle connections make room, and every new client is served', async () => {
    const serve = await serveWith(['--http', '127.0.0.1:0'], 1024);
    const closedBy = async (): Promise<{ evicted: number; refused: number }> => {
      const text = await (await fetch(`http://${serve.lines.find((l) => l.evt === 'listening')?.http as string}/metrics`)).text();
      const count = (reason: string) => Number(new RegExp(`^mx4map_connections_closed_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
      return { evicted: count('evicted'), refused: count('refused') };
    };
    try {
      expect(serve.lines.find((l) => l.evt === 'listening')).toMatchObject({ maxConnections: 624 });
      // The answer is cached first: this test is about idle connections, not about the window in which every
      // connection waits for DNS (then a newcomer is refused by design, see below).
      expect(answered(await crowd(serve.port, 1))).toBe(1);
      const first = await crowd(serve.port, 3000);
      // Each of the 3,000 was answered or, while idle, closed to make room: none waits unanswered.
      expect(first.every((c) => c.replies.length === 1 || c.closed)).toBe(true);
      const open = () => first.filter((c) => !c.closed).length;
      await first[0].until(() => open() <= 624, 5000); // the last closes may still be on their way
      expect(open()).toBeLessThanOrEqual(624);
      // Every close is the server's, and counted: evicted while idle, or refused in an instant when all 624 were
      // busy with a request (a slow machine answering the crowd can meet that, and it is the designed answer).
      const afterFirst = await closedBy();
      expect(afterFirst.evicted).toBeGreaterThan(0);
      expect(afterFirst.evicted + afterFirst.refused).toBeGreaterThanOrEqual(3000 + 1 - 624);
      // Each eviction is logged. Log lines travel through a pipe: wait for them rather than race them. A reader
      // that falls behind (this test process, busy with 3,000 clients) makes serve drop lines, and it says how many.
      const evictedLines = () => serve.lines.filter((l) => l.evt === 'connection-evicted').length;
      const dropped = () => Math.max(0, ...serve.lines.filter((l) => l.evt === 'log-dropped').map((l) => Number(l.total)));
      const logged = () => evictedLines() + dropped();
      await first[0].until(() => logged() >= afterFirst.evicted, 10_000);
      expect(logged()).toBeGreaterThanOrEqual(afterFirst.evicted);
      const later = await crowd(serve.port, 500);
      expect(answered(later)).toBe(500);
      // The 500 were admitted by closing connections idle longer, each logged, and none was refused.
      const afterLater = await closedBy();
      expect(afterLater.refused).toBe(afterFirst.refused);
      expect(afterLater.evicted - afterFirst.evicted).toBeGreaterThanOrEqual(500);
      await later[0].until(() => logged() >= afterLater.evicted, 10_000);
      expect(logged()).toBeGreaterThanOrEqual(afterLater.evicted);
    } finally {
      await serve.stop();
    }
  }, 60_000);
});

describe('the ops listener cannot starve socketmap clients', () => {
  test('2,000 slow HTTP clients on --http under an open-file limit of 1,024: socketmap clients are all served', async () => {
    const serve = await serveWith(['--http', '127.0.0.1:0'], 1024);
    const [host, port] = String(serve.lines.find((l) => l.evt === 'listening')?.http).split(':');
    const slow: Socket[] = [];
    try {
      // Each sends part of a request line and then nothing more, as a slowloris client does.
      let settled = 0;
      for (let i = 0; i < 2000; i++) {
        const s = connect({ host, port: Number(port) });
        s.on('error', () => settled++);
        s.on('connect', () => (settled++, s.write('GET /metrics HTTP/1.1\r\nHost: x\r\n')));
        slow.push(s);
      }
      await until(() => settled >= 2000, 20_000, 'every slow client connected or refused');
      const clients = await crowd(serve.port, 400);
      expect(answered(clients)).toBe(400);
    } finally {
      for (const s of slow) s.destroy();
      await serve.stop();
    }
  }, 60_000);
});
