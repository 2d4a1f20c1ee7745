/**
 * `npm run fuzz -- --mode resp`: the shared-cache tier against a hostile Redis peer. A TCP server answers
 * every command with what an attacker might send (mutations of real replies, absurd headers, endless or
 * dribbled lines, random bytes, nested arrays) while lookups keep reading through the tier. Checked: no
 * exception escapes, every read settles within its budget, the event loop never stalls, memory stays
 * bounded. Seeded. Returns the violations found.
 */
import { type AddressInfo, type Socket, createServer } from 'node:net';
import pino from 'pino';
import { RedisTier } from '../../src/shared/redis-tier.js';
import { parseRedisSpec } from '../../src/shared/redis-spec.js';
import { ValueSeal } from '../../src/shared/value-seal.js';
import type { Inputs } from './inputs.js';

const REAL = ['+PONG\r\n', '+OK\r\n', '$-1\r\n', '$5\r\nhello\r\n', ':1\r\n', '-ERR no\r\n', '*2\r\n$1\r\na\r\n:2\r\n'];

function hostileReply(g: Inputs): Buffer {
  switch (g.int(8)) {
    case 0:
      return Buffer.from(g.pick(REAL));
    case 1: {
      const real = Buffer.from(g.pick(REAL));
      for (let i = 0; i < 1 + g.int(3); i++) real[g.int(real.length)] = g.int(256);
      return real;
    }
    case 2:
      return Buffer.from(`*${g.pick(['300000', '1000000', '99999999999', '-5', 'x'])}\r\n${':1\r\n'.repeat(g.int(1000))}`);
    case 3:
      return Buffer.from(`$${g.pick(['2000000000', '262145', '1048576', '-2'])}\r\n${'x'.repeat(g.int(70_000))}`);
    case 4:
      return Buffer.from(`+${'A'.repeat(g.int(200_000))}`);
    case 5:
      return Buffer.from(`${'*1\r\n'.repeat(1 + g.int(10))}:1\r\n`);
    case 6:
      return g.bytes(4096);
    default:
      return Buffer.from(`*3\r\n$200000\r\n${'x'.repeat(200_000)}\r\n$200000\r\n${'x'.repeat(200_000)}\r\n$200000\r\n`);
  }
}

export async function fuzzHostileResp(g: Inputs, seconds: number): Promise<{ violations: string[]; figures: string[] }> {
  const violations: string[] = [];
  const sockets = new Set<Socket>();
  let replies = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined).on('close', () => sockets.delete(socket));
    socket.on('data', () => {
      if (socket.destroyed) return;
      replies++;
      const reply = hostileReply(g);
      // Sometimes dribbled, a few bytes at a time.
      if (g.int(6) === 0) {
        let at = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || at >= reply.length) return clearInterval(timer);
          socket.write(reply.subarray(at, (at += 1 + g.int(8))));
        }, 20);
      } else socket.write(reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const spec = `redis://127.0.0.1:${(server.address() as AddressInfo).port}/0`;
  const escaped: unknown[] = [];
  const onError = (err: unknown): void => void escaped.push(err);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  // New tiers all the time: a tier that met garbage waits out its reconnection backoff, so fresh ones keep
  // the peer answering (each connection's PING and reads meet a new hostile reply).
  const seal = new ValueSeal(Buffer.from('fuzz-secret-0123456789abcdefghijklmnop'));
  const open = (): RedisTier => new RedisTier({ spec: parseRedisSpec(spec), commandTimeoutMs: 1000, shown: spec, seal }, pino({ level: 'silent' }));
  let tiers = [open(), open(), open(), open()];
  let opened = tiers.length;
  const rssStart = process.memoryUsage().rss;
  let rssPeak = rssStart;
  let maxGap = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 10);
  let reads = 0;
  let slowest = 0;
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    for (const tier of tiers) {
      const started = performance.now();
      await Promise.all([tier.readDecision('r', `d${reads}.example`, 50), tier.readHost(`mx${reads}.example`, 8, 50), tier.readProbe(25, '2001:db8::1', 50)]);
      tier.writeDecision('r', `d${reads}.example`, { action: 'leave', reason: 'ipv6-ok' }, 60_000, 0);
      slowest = Math.max(slowest, performance.now() - started);
      reads += 3;
    }
    await new Promise((r) => setTimeout(r, 5));
    if (reads % 150 === 0) {
      const old = tiers.shift();
      await old?.close();
      tiers.push(open());
      opened++;
    }
  }
  clearInterval(ticker);
  await Promise.all(tiers.map((t) => t.close()));
  tiers = [];
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => server.close(resolve));
  process.off('uncaughtException', onError);
  process.off('unhandledRejection', onError);
  const growthMb = (rssPeak - rssStart) / 2 ** 20;
  if (escaped.length > 0) violations.push(`resp: ${escaped.length} exception(s) escaped, first: ${String(escaped[0])}`);
  if (slowest > 500) violations.push(`resp: a read took ${slowest.toFixed(0)} ms (budget 50 ms)`);
  if (maxGap > 500) violations.push(`resp: the event loop stalled ${maxGap.toFixed(0)} ms`);
  if (growthMb > 200) violations.push(`resp: memory grew ${growthMb.toFixed(0)} MB`);
  return {
    violations,
    figures: [
      `hostile RESP         ${replies.toLocaleString('en')} hostile replies to ${opened} clients, ${reads.toLocaleString('en')} reads (slowest ${slowest.toFixed(1)} ms), loop stall max ${maxGap.toFixed(0)} ms, RSS +${growthMb.toFixed(0)} MB`,
    ],
  };
}
