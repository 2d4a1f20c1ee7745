/** Clients that misbehave on purpose: they must cost the server bounded memory and never another client's service. */
import { readFileSync } from 'node:fs';
import { startServer, type TestServer } from '../support/server';
import { WireClient, ns } from '../support/wire';
import { heldDecider, force } from '../support/deferred-decider';
import { activeResources, expectNothingLeftSince } from '../support/handles';
import type { Decider } from '../../src/engine/decision';

let t: TestServer | undefined;
const clients: WireClient[] = [];

async function client(): Promise<WireClient> {
  const c = await WireClient.open({ port: (t as TestServer).port });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await t?.close(100);
  t = undefined;
});

/** The most a loopback connection's socket buffers can hold: the largest send plus the largest receive buffer. */
function kernelBufferCeiling(): number {
  const max = (file: string): number => Number(readFileSync(file, 'utf8').trim().split(/\s+/)[2]);
  return max('/proc/sys/net/ipv4/tcp_wmem') + max('/proc/sys/net/ipv4/tcp_rmem');
}

/** Waits until `read()` has not changed for `quietMs`. */
async function settled(read: () => number, quietMs = 300, maxMs = 10_000): Promise<number> {
  const until = Date.now() + maxMs;
  let last = read();
  let since = Date.now();
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) break;
  }
  return last;
}

describe('a client that never reads its replies', () => {
  test('the server stops reading from it, holds a bounded amount for it, and keeps serving others; nothing is lost when it reads again', async () => {
    // Ten addresses make every reply ~170 bytes for a ~24-byte request, so unread replies fill the socket buffers fast.
    const addresses = Array.from({ length: 10 }, (_, i) => `192.0.2.${i + 1}`);
    let answered = 0;
    const decider: Decider = {
      decide: () => {
        answered++;
        return force(...addresses);
      },
    };
    t = await startServer({ decider });
    const hog = await client();
    hog.socket.pause(); // never reads
    const total = 400_000;
    const request = ns('mailertable a.example');
    hog.send(request.repeat(total));

    const plateau = await settled(() => answered);
    expect(plateau).toBeGreaterThan(0);
    expect(plateau).toBeLessThan(total / 2);
    const replyBytes = `${ns(`OK esmtp:${addresses.map((a) => `[${a}]`).join(',')}`)}`.length;
    // What the server answered but the client has not taken fits in the kernel's socket buffers (their
    // largest sizes, both ends) plus a small allowance for what the server holds before it stops reading.
    expect(plateau * replyBytes).toBeLessThan(kernelBufferCeiling() + 1024 * 1024);

    const other = await client();
    other.send(ns('mailertable b.example'));
    expect(await other.replyCount(1)).toEqual([`OK esmtp:${addresses.map((a) => `[${a}]`).join(',')}`]);

    hog.socket.resume();
    await hog.replyCount(total, 30_000);
    expect(new Set(hog.replies).size).toBe(1);
    expect(answered).toBe(total + 1);
  }, 60_000);
});

describe('hostile keys', () => {
  test('control characters, NUL, invalid UTF-8 and a 10 KB label: NOTFOUND, no decision asked, logged escaped', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider, limits: { maxRequestBytes: 20_000 } });
    const c = await client();
    const keys: Array<[Buffer, string]> = [
      [Buffer.from('evil.example\n{"level":60,"msg":"forged"}'), 'evil.example\\x0a{"level":60,"msg":"forged"}'],
      [Buffer.from('nul\u0000.example\r'), 'nul\\x00.example\\x0d'],
      [Buffer.from([0x61, 0xff, 0xfe, 0x2e, 0x63, 0x6f, 0x6d]), 'a\\xff\\xfe.com'],
      [Buffer.from(`${'x'.repeat(10_240)}.example`), `${'x'.repeat(120)}...`],
    ];
    for (const [key] of keys) c.send(Buffer.concat([Buffer.from(`${key.length + 12}:mailertable `), key, Buffer.from(',')]));
    expect(await c.replyCount(keys.length)).toEqual(keys.map(() => 'NOTFOUND '));
    expect(held.asked).toEqual([]);
    const logged = t.sink.events('invalid-key').map((e) => e.key);
    expect(logged).toEqual(keys.map(([, escaped]) => escaped));
    for (const key of logged) expect(key).toMatch(/^[\x20-\x7e]*$/);
  });
});

describe('nothing left behind', () => {
  test('after malformed input, a timed-out slow drip, a client leaving mid-lookup and a shutdown, no socket or timer remains', async () => {
    const resources = activeResources();
    const held = heldDecider();
    t = await startServer({ decider: held.decider, limits: { requestTimeout: 200 } });
    const bad = await client();
    bad.send('12x');
    const drip = await client();
    drip.send('30:mailertable ');
    const leaver = await client();
    leaver.send(ns('mailertable gone.example'));
    await leaver.until(() => held.waiting === 1, 2000);
    leaver.destroy();
    await bad.closedByServer();
    await drip.closedByServer();
    held.release('gone.example', force('192.0.2.1'));
    const idle = await client();
    idle.send(ns('mailertable .example'));
    await idle.replyCount(1);
    await t.close(500);
    t = undefined;
    for (const c of clients.splice(0)) c.destroy();
    await expectNothingLeftSince(resources);
  });
});
