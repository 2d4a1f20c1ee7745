/**
 * One connection's state machine (open → half-closed | draining → closing → closed), driven directly over a
 * loopback socket pair: the server side is a Connection with a decider the test controls, the client side a
 * plain socket. The server's own behaviour with many connections is in server.test.ts.
 */
import { type Server, type Socket, connect, createServer } from 'node:net';
import pino from 'pino';
import { Connection, type ConnectionLimits } from '../../src/server/connection';
import type { LoopClock } from '../../src/server/loop-watch';
import { encodeNetstring } from '../../src/protocol/netstring';
import { loopTurns, until } from '../support/until';

const LIMITS: ConnectionLimits = { maxInFlight: 4, maxRequestBytes: 1024, requestTimeout: 10_000, idleTimeout: 0, replyMaxAge: 60_000 };
const reply = (text: string): Buffer => encodeNetstring(Buffer.from(text));
const ns = (text: string): string => `${Buffer.byteLength(text)}:${text},`;

interface Pair {
  readonly connection: Connection;
  readonly client: Socket;
  /** What the client has received. */
  received(): string;
  /** Whether the client saw the server close. */
  closed(): boolean;
  /** Requests the connection handed to the answer function, each with what releases it. */
  readonly asked: { text: string; answer(text: string): void }[];
  readonly events: string[];
}

let server: Server | undefined;
const pairs: Pair[] = [];
afterEach(async () => {
  for (const p of pairs.splice(0)) {
    p.client.destroy();
    p.connection.destroy();
  }
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

async function pair(limits: Partial<ConnectionLimits> = {}, clock?: LoopClock): Promise<Pair> {
  const asked: Pair['asked'] = [];
  const events: string[] = [];
  let connection: Connection | undefined;
  server = createServer({ allowHalfOpen: true }, (socket) => {
    connection = new Connection(
      socket,
      (payload) => new Promise<Buffer>((resolve) => asked.push({ text: payload.toString(), answer: (text) => resolve(reply(text)) })),
      () => ({ ...LIMITS, ...limits }),
      pino({ level: 'silent' }),
      {
        onProtocolError: (kind) => events.push(`protocol-error:${kind}`),
        onStaleReply: () => events.push('stale-reply'),
      },
      clock,
    );
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect({ port, host: '127.0.0.1' });
  let data = '';
  let closed = false;
  client.on('data', (d) => (data += d.toString()));
  client.on('close', () => (closed = true));
  client.on('error', () => undefined);
  await until(() => connection !== undefined, 2000, 'the connection');
  const p: Pair = { connection: connection as Connection, client, received: () => data, closed: () => closed, asked, events };
  pairs.push(p);
  return p;
}

test('open: requests are answered in request order, whatever order their answers come in', async () => {
  const p = await pair();
  p.client.write(ns('m a.example') + ns('m b.example'));
  await until(() => p.asked.length === 2, 2000, 'both requests');
  p.asked[1].answer('OK b');
  await loopTurns();
  expect(p.received()).toBe(''); // b is ready, but a is owed first
  p.asked[0].answer('OK a');
  await until(() => p.received() === '4:OK a,4:OK b,', 2000, 'both replies in order');
  expect(p.connection.current).toBe('open');
});

test('half-closed: a client that ends after its request still gets the reply, then the connection closes', async () => {
  const p = await pair();
  p.client.end(ns('m a.example'));
  await until(() => p.asked.length === 1, 2000, 'the request');
  await until(() => p.connection.current === 'half-closed', 2000, 'half-closed');
  p.asked[0].answer('OK a');
  await until(() => p.closed(), 2000, 'the close');
  expect(p.received()).toBe('4:OK a,');
  expect(p.connection.current).toBe('closed');
});

test('draining (shutdown): the request in flight is answered, nothing more is read, then the connection closes', async () => {
  const p = await pair();
  p.client.write(ns('m a.example'));
  await until(() => p.asked.length === 1, 2000, 'the request');
  p.connection.drain();
  expect(p.connection.current).toBe('draining');
  p.client.write(ns('m b.example'));
  await loopTurns();
  p.asked[0].answer('OK a');
  await until(() => p.closed(), 2000, 'the close');
  expect({ received: p.received(), asked: p.asked.map((a) => a.text) }).toEqual({ received: '4:OK a,', asked: ['m a.example'] });
});

test('draining an idle connection with a last call: a request already on its way is still answered', async () => {
  const p = await pair();
  p.connection.drain(5000);
  expect(p.connection.current).toBe('open'); // waiting for a last request
  p.client.write(ns('m late.example'));
  await until(() => p.asked.length === 1, 2000, 'the last request');
  expect(p.connection.current).toBe('draining');
  p.asked[0].answer('OK late');
  await until(() => p.closed(), 2000, 'the close');
  expect(p.received()).toBe('7:OK late,');
});

test('a malformed netstring: the replies owed, one complete PERM reply, then closing', async () => {
  const p = await pair();
  p.client.write(`${ns('m a.example')}x:oops`);
  await until(() => p.events.some((e) => e.startsWith('protocol-error')), 2000, 'the protocol error');
  expect(p.connection.current).toBe('draining');
  p.asked[0].answer('OK a');
  await until(() => p.closed(), 2000, 'the close');
  expect(p.received()).toMatch(/^4:OK a,\d+:PERM malformed netstring: [^,]*,$/);
});

test('evict: an idle open connection goes to closing at once; any other state ignores it', async () => {
  const p = await pair();
  p.connection.evict(10);
  expect(p.connection.current).toBe('closing');
  await until(() => p.closed(), 2000, 'the close');
  expect(p.connection.current).toBe('closed');
  p.connection.evict(10); // closed: a no-op, no throw
  expect(p.connection.current).toBe('closed');
});

test('idle: nothing in flight and nothing unread; idle since the last reply was written', async () => {
  let now = 1000;
  const clock: LoopClock = { now: () => now, arrival: (at) => at };
  const p = await pair({}, clock);
  expect(p.connection.idle).toBe(true);
  p.client.write(ns('m a.example'));
  await until(() => p.asked.length === 1, 2000, 'the request');
  expect({ idle: p.connection.idle, lastActive: p.connection.lastActive }).toEqual({ idle: false, lastActive: 1000 });
  now = 1700;
  p.asked[0].answer('OK a');
  await until(() => p.received() === '4:OK a,', 2000, 'the reply');
  expect({ idle: p.connection.idle, lastActive: p.connection.lastActive }).toEqual({ idle: true, lastActive: 1700 });
  p.client.write('4:m b.'); // half a request: not idle
  await until(() => !p.connection.idle, 2000, 'the partial request read');
  expect(p.asked).toHaveLength(1);
});

test('a reply older than reply_max_age (on the injected clock) is never written: the connection closes instead', async () => {
  let now = 1000;
  const clock: LoopClock = { now: () => now, arrival: (at) => at };
  const p = await pair({ replyMaxAge: 5000 }, clock);
  p.client.write(ns('m slow.example'));
  await until(() => p.asked.length === 1, 2000, 'the request');
  now += 5001; // the client gave up on it long ago
  p.asked[0].answer('OK slow');
  await until(() => p.closed(), 2000, 'the close');
  expect({ received: p.received(), events: p.events.filter((e) => e === 'stale-reply') }).toEqual({ received: '', events: ['stale-reply'] });
});
