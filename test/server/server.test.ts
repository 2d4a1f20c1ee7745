import { lstatSync, mkdtempSync, readdirSync, statSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import { type Socket, connect, createServer } from 'node:net';
import { LoopWatch } from '../../src/server/loop-watch';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../support/server';
import { WireClient, ns } from '../support/wire';
import { heldDecider, force } from '../support/deferred-decider';
import { loopTurns, until } from '../support/until';
import type { Decider } from '../../src/engine/decision';
import { ListenError } from '../../src/errors';

const NOTFOUND = 'NOTFOUND ';
let t: TestServer | undefined;
const clients: WireClient[] = [];

async function client(target?: { path: string }): Promise<WireClient> {
  const c = await WireClient.open(target ?? { port: (t as TestServer).port });
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await t?.close(100);
  t = undefined;
});

describe('requests and replies', () => {
  test('pipelined requests in one write are answered in request order, even when finished out of order', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const c = await client();
    c.send(ns('mailertable a.example') + ns('mailertable b.example') + ns('mailertable c.example'));
    await c.until(() => held.waiting === 3, 2000);
    held.release('c.example', force('192.0.2.3'));
    held.release('b.example', force('192.0.2.2'));
    expect(c.replies).toEqual([]);
    held.release('a.example', force('192.0.2.1'));
    expect(await c.replyCount(3)).toEqual(['OK esmtp:[192.0.2.1]', 'OK esmtp:[192.0.2.2]', 'OK esmtp:[192.0.2.3]']);
  });

  test('a request arriving byte by byte is answered once, completely', async () => {
    t = await startServer();
    const c = await client();
    for (const byte of Buffer.from(ns('mailertable example.com'))) {
      c.send(Buffer.from([byte]));
      await new Promise((r) => setImmediate(r));
    }
    expect(await c.replyCount(1)).toEqual([NOTFOUND]);
    expect(c.raw.toString()).toBe('9:NOTFOUND ,');
  });

  test('netcat style: CR/LF between netstrings is skipped', async () => {
    t = await startServer();
    const c = await client();
    c.send(`${ns('mailertable example.com')}\r\n${ns('transport user@example.com')}\n`);
    expect(await c.replyCount(2)).toEqual([NOTFOUND, NOTFOUND]);
  });

  test('sendmail and Postfix replies go to the right map format', async () => {
    const decider: Decider = { decide: () => force('192.0.2.1', '192.0.2.2') };
    t = await startServer({ decider });
    const c = await client();
    c.send(ns('mailertable example.com') + ns('transport user@example.com'));
    expect(await c.replyCount(2)).toEqual(['OK esmtp:[192.0.2.1],[192.0.2.2]', 'OK smtp:[192.0.2.1], [192.0.2.2]']);
  });

  test('an unknown map gets PERM naming it, is logged, and the connection stays usable', async () => {
    t = await startServer();
    const c = await client();
    c.send(ns('virtuser example.com') + ns('mailertable example.com'));
    expect(await c.replyCount(2)).toEqual(['PERM unknown map virtuser', NOTFOUND]);
    expect(c.closed).toBe(false);
    expect(t.sink.events('unknown-map')).toEqual([expect.objectContaining({ map: 'virtuser', conn: 1 })]);
  });

  test('a request without a space gets PERM and the connection stays usable', async () => {
    t = await startServer();
    const c = await client();
    c.send(ns('mailertable') + ns('mailertable example.com'));
    expect(await c.replyCount(2)).toEqual(['PERM malformed request: expected "<mapname> <key>"', NOTFOUND]);
  });

  test('keys that are never decided get NOTFOUND with no decision asked', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const c = await client();
    const keys = ['.example.com', '.', '*', '', '[192.0.2.1]', 'under_score.example', 'x'.repeat(300), '192.0.2.1'];
    c.send(keys.map((k) => ns(`mailertable ${k}`)).join(''));
    expect(await c.replyCount(keys.length)).toEqual(keys.map(() => NOTFOUND));
    expect(held.asked).toEqual([]);
  });

  test('keys are normalised before the decision', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const c = await client();
    c.send(ns('mailertable Example.COM.') + ns('transport Someone@Bücher.example'));
    await c.until(() => held.waiting === 2, 2000);
    expect(held.asked).toEqual(['example.com', 'xn--bcher-kva.example']);
    held.releaseAll({ action: 'leave', reason: 'ipv6-ok' });
    await c.replyCount(2);
  });

  test('a decider that throws or rejects fails open: NOTFOUND, logged', async () => {
    let n = 0;
    const decider: Decider = {
      decide: () => {
        n++;
        if (n === 1) throw new Error('boom');
        return Promise.reject(new Error('async boom'));
      },
    };
    t = await startServer({ decider });
    const c = await client();
    c.send(ns('mailertable a.example') + ns('mailertable b.example'));
    expect(await c.replyCount(2)).toEqual([NOTFOUND, NOTFOUND]);
    expect(t.sink.events('answer-failed')).toHaveLength(2);
  });
});

describe('malformed input', () => {
  test.each([
    ['non-digit length', 'ab:hello,', 'PERM malformed netstring: netstring length has a non-digit byte 0x61'],
    ['leading zero', '023:mailertable example.com,', 'PERM malformed netstring: netstring length has a leading zero'],
    ['missing comma', '23:mailertable example.comX', "PERM malformed netstring: netstring of 23 bytes is not followed by ','"],
    ["a length past sendmail's own limit", '1000001:', 'PERM malformed netstring: netstring length exceeds the limit of 1000000 bytes'],
  ])('%s: one complete PERM, then the connection closes; others keep being served', async (_name, input, reply) => {
    t = await startServer();
    const bad = await client();
    const good = await client();
    bad.send(input);
    await bad.closedByServer();
    expect(bad.replies).toEqual([reply]);
    expect(bad.raw.toString()).toBe(ns(reply));
    good.send(ns('mailertable example.com'));
    expect(await good.replyCount(1)).toEqual([NOTFOUND]);
    expect(t.sink.events('protocol-error')).toHaveLength(1);
    expect(t.server.counters.protocolErrors).toBe(1);
  });

  test('a request longer than max_request_bytes is read past, answered NOTFOUND, and the connection goes on', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider, limits: { maxRequestBytes: 100 } });
    const c = await client();
    c.send(ns(`mailertable ${'a'.repeat(10_240)}.example`) + ns('mailertable .example'));
    expect(await c.replyCount(2)).toEqual([NOTFOUND, NOTFOUND]);
    expect(held.asked).toEqual([]);
    expect(t.sink.events('oversized-request')).toHaveLength(1);
    expect(c.closed).toBe(false);
  });

  test('requests before the bad bytes are answered first, in order', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const c = await client();
    c.send(`${ns('mailertable a.example')}xx`);
    await c.until(() => held.waiting === 1, 2000);
    expect(c.replies).toEqual([]);
    held.release('a.example', force('192.0.2.1'));
    await c.closedByServer();
    expect(c.replies).toEqual(['OK esmtp:[192.0.2.1]', 'PERM malformed netstring: netstring length has a non-digit byte 0x78']);
  });
});

describe('connection limits', () => {
  test('work in flight per connection is bounded; reading resumes as replies go out', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider, limits: { maxInFlight: 2 } });
    const c = await client();
    c.send(['a', 'b', 'c', 'd', 'e'].map((d) => ns(`mailertable ${d}.example`)).join(''));
    await c.until(() => held.waiting === 2, 2000);
    await loopTurns(20); // give the server every chance to over-read what is already in its socket
    expect(held.asked).toEqual(['a.example', 'b.example']);
    held.release('a.example', force('192.0.2.1'));
    await c.until(() => held.asked.length === 3, 2000);
    expect(held.asked).toEqual(['a.example', 'b.example', 'c.example']);
    held.releaseAll(force('192.0.2.9'));
    await c.until(() => held.waiting === 2 || held.asked.length === 5, 2000);
    held.releaseAll(force('192.0.2.9'));
    expect(await c.replyCount(5)).toHaveLength(5);
    expect(c.replies[0]).toBe('OK esmtp:[192.0.2.1]');
  });

  test('more synchronous answers (cache hits) than max_in_flight in one write are all answered', async () => {
    t = await startServer({ decider: { decide: () => force('192.0.2.1') }, limits: { maxInFlight: 4 } });
    const c = await client();
    c.send(ns('mailertable a.example').repeat(100));
    expect(await c.replyCount(100)).toEqual(Array.from({ length: 100 }, () => 'OK esmtp:[192.0.2.1]'));
  });

  test('a client that pipelines past max_in_flight and half-closes still gets every reply, then the close', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider, limits: { maxInFlight: 2 } });
    const c = await client();
    c.socket.end(['a', 'b', 'c', 'd', 'e'].map((d) => ns(`mailertable ${d}.example`)).join(''));
    for (let answered = 0; answered < 5; answered++) {
      await c.until(() => held.waiting > 0, 2000);
      held.releaseAll(force('192.0.2.7'));
    }
    expect(await c.replyCount(5)).toHaveLength(5);
    await c.closedByServer();
    expect(held.asked).toEqual(['a.example', 'b.example', 'c.example', 'd.example', 'e.example']);
  });

  test('at the connection cap, the connection idle longest is closed to admit a new one, and that is logged', async () => {
    t = await startServer({ limits: { maxConnections: 2 } });
    const a = await client();
    const b = await client();
    a.send(ns('mailertable a.example'));
    await a.replyCount(1); // a was active last: b is now the one idle longest
    const c = await client();
    c.send(ns('mailertable c.example'));
    expect(await c.replyCount(1)).toEqual([NOTFOUND]);
    await b.closedByServer();
    expect(a.closed).toBe(false);
    expect(t.sink.events('connection-evicted')).toEqual([expect.objectContaining({ conn: 2, idleMs: expect.any(Number) })]);
    expect(t.server.counters.evicted).toBe(1);
  });

  test('busy connections are never evicted; when every one is busy, a new connection is closed at once, not held unread', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider, limits: { maxConnections: 1 } });
    const busy = await client();
    busy.send(ns('mailertable a.example'));
    await busy.until(() => held.waiting === 1, 2000);
    const late = await client();
    late.send(ns('mailertable b.example'));
    await late.closedByServer();
    expect(late.replies).toEqual([]);
    held.release('a.example', force('192.0.2.1'));
    expect(await busy.replyCount(1)).toEqual(['OK esmtp:[192.0.2.1]']);
    expect(held.asked).toEqual(['a.example']);
    expect(t.sink.events('connection-refused')).toEqual([expect.objectContaining({ refused: 1 })]);
    expect(t.server.counters.refused).toBe(1);
  });

  test('a request that starts arriving must complete within the request timeout', async () => {
    t = await startServer({ limits: { requestTimeout: 150 } });
    const drip = await client();
    const idle = await client();
    drip.send('23:mailertable');
    await drip.closedByServer(3000);
    expect(drip.replies).toEqual(['PERM request not completed within 150ms']);
    expect(idle.closed).toBe(false); // a connection with no partial request is never timed out
    idle.send(ns('mailertable example.com'));
    expect(await idle.replyCount(1)).toEqual([NOTFOUND]);
    expect(t.sink.events('protocol-error')[0]).toMatchObject({ kind: 'request-timeout' });
  });

  test('the request timer restarts for each new request', async () => {
    t = await startServer({ limits: { requestTimeout: 300 } });
    const c = await client();
    // Each request completes well inside the timeout, but the series takes longer than it.
    for (let i = 0; i < 4; i++) {
      c.send('23:mailertable');
      await new Promise((r) => setTimeout(r, 100));
      c.send(' example.com,');
    }
    expect(await c.replyCount(4)).toHaveLength(4);
    expect(c.closed).toBe(false);
  });

  test('idle connections are kept by default and closed when idle_timeout is set', async () => {
    t = await startServer({ limits: { idleTimeout: 100 } });
    const c = await client();
    await c.closedByServer(3000);
    expect(c.replies).toEqual([]);
  });

  test('a half-closed client still gets its replies', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const c = await client();
    c.send(ns('mailertable a.example'));
    c.socket.end();
    await c.until(() => held.waiting === 1, 2000);
    held.release('a.example', force('192.0.2.1'));
    await c.closedByServer();
    expect(c.replies).toEqual(['OK esmtp:[192.0.2.1]']);
  });

  test('a client that leaves mid-lookup causes no error; the decision still completes', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const c = await client();
    c.send(ns('mailertable a.example'));
    await c.until(() => held.waiting === 1, 2000);
    c.destroy();
    await loopTurns(); // the server reads the client's leaving
    held.release('a.example', force('192.0.2.1'));
    // The decision completes, its reply finds the peer gone, and the connection is let go.
    await until(() => t?.server.connectionCount === 0, 2000, 'the connection to be let go');
    expect(t.sink.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(t.server.connectionCount).toBe(0);
  });
});

describe('never a stale reply', () => {
  /** A loop watch driven by hand: `at` is the clock; `tick` runs the watch's timer; `run` passes time on a healthy loop. */
  function handClock(): { clock: LoopWatch; at: { now: number }; run(ms: number): void } {
    const at = { now: 0 };
    const clock = new LoopWatch(() => at.now, 50, 50);
    const run = (ms: number): void => {
      for (const end = at.now + ms; at.now < end; ) {
        at.now = Math.min(end, at.now + 50);
        clock.tick();
      }
    };
    return { clock, at, run };
  }

  test('a reply ready after reply_max_age is never written: the connection closes, and the next one is served', async () => {
    const held = heldDecider();
    const { clock, run } = handClock();
    t = await startServer({ decider: held.decider, clock, limits: { replyMaxAge: 4000 } });
    const c = await client();
    c.send(ns('mailertable late.example'));
    await c.until(() => held.waiting === 1, 2000);
    run(4001); // the client gave up (sendmail -d4) …
    held.release('late.example', force('192.0.2.80')); // … and then the answer is ready
    await c.closedByServer();
    expect(c.raw.length).toBe(0);
    expect(t.sink.events('stale-reply')).toEqual([expect.objectContaining({ ageMs: 4001, replyMaxAgeMs: 4000 })]);
    expect(t.server.counters.staleReplies).toBe(1);
    const next = await client();
    next.send(ns('mailertable good.example'));
    await next.until(() => held.waiting === 1, 2000);
    held.release('good.example', force('192.0.2.81'));
    expect(await next.replyCount(1)).toEqual(['OK esmtp:[192.0.2.81]']);
  });

  test('requests read right after an event-loop stall count the stall: a cache hit is not written for a request older than reply_max_age', async () => {
    const { clock, at } = handClock();
    t = await startServer({ decider: { decide: () => force('192.0.2.80') }, clock, limits: { replyMaxAge: 4000 } });
    const c = await client();
    at.now = 6000; // the process stood still for six seconds (SIGSTOP, a long task): the tick comes late
    clock.tick();
    c.send(ns('mailertable cname6.example'));
    await c.closedByServer();
    expect(c.raw.length).toBe(0);
    expect(t.sink.events('stale-reply')[0]).toMatchObject({ ageMs: 6000 });
  });

  test('the same requests a moment later, after an on-time tick, are answered', async () => {
    const { clock, at } = handClock();
    t = await startServer({ decider: { decide: () => force('192.0.2.80') }, clock, limits: { replyMaxAge: 4000 } });
    at.now = 6000;
    clock.tick();
    at.now = 6050;
    clock.tick(); // on time again: the stall is over
    const c = await client();
    c.send(ns('mailertable cname6.example'));
    expect(await c.replyCount(1)).toEqual(['OK esmtp:[192.0.2.80]']);
  });

  test('pipelined: replies still young are written, the connection closes before the first stale one', async () => {
    const held = heldDecider();
    const { clock, run } = handClock();
    t = await startServer({ decider: held.decider, clock, limits: { replyMaxAge: 4000 } });
    const c = await client();
    c.send(ns('mailertable a.example'));
    await c.until(() => held.waiting === 1, 2000);
    run(3000);
    c.send(ns('mailertable b.example'));
    await c.until(() => held.waiting === 2, 2000);
    held.release('a.example', force('192.0.2.1')); // age 3000: written
    expect(await c.replyCount(1)).toEqual(['OK esmtp:[192.0.2.1]']);
    run(4500);
    held.release('b.example', force('192.0.2.2')); // age 4500: not written
    await c.closedByServer();
    expect(c.replies).toEqual(['OK esmtp:[192.0.2.1]']);
  });

  test('a request still unanswered at reply_max_age closes its connection then, without waiting for the answer', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider, limits: { replyMaxAge: 150 } });
    const c = await client();
    c.send(ns('mailertable slow.example'));
    await c.closedByServer(3000);
    expect(held.waiting).toBe(1); // nothing answered it: the timer closed the connection
    held.releaseAll(force('192.0.2.1'));
    await new Promise((r) => setImmediate(r));
    expect(c.raw.length).toBe(0);
  });
});

describe('shutdown', () => {
  test('close() answers requests in flight, then closes every connection', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const busy = await client();
    const idle = await client();
    busy.send(ns('mailertable a.example'));
    await busy.until(() => held.waiting === 1, 2000);
    let closed = false;
    const closing = t.close(5000).then(() => (closed = true));
    await loopTurns();
    // close() waits for the request in flight: nothing answered, nothing closed yet.
    expect({ closed, replies: busy.replies }).toEqual({ closed: false, replies: [] });
    held.release('a.example', force('192.0.2.1'));
    await closing;
    t = undefined;
    expect(busy.replies).toEqual(['OK esmtp:[192.0.2.1]']);
    await busy.closedByServer();
    await idle.closedByServer();
  });

  test('after the grace period, connections still busy are closed', async () => {
    const held = heldDecider();
    t = await startServer({ decider: held.decider });
    const busy = await client();
    busy.send(ns('mailertable a.example'));
    await busy.until(() => held.waiting === 1, 2000);
    await t.close(100);
    t = undefined;
    await busy.closedByServer();
    expect(busy.replies).toEqual([]);
  });
});

describe('UNIX sockets', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'mx4map-sock-'));

  test('served like TCP, created with the configured mode', async () => {
    const path = join(dir(), 'mx4map.sock');
    t = await startServer({ unixPath: path, socketMode: 0o640 });
    expect(statSync(path).mode & 0o777).toBe(0o640);
    const c = await client({ path });
    c.send(ns('mailertable example.com') + ns('nomap x'));
    expect(await c.replyCount(2)).toEqual([NOTFOUND, 'PERM unknown map nomap']);
  });

  test('a stale socket file from a crashed run is replaced', async () => {
    const path = join(dir(), 'mx4map.sock');
    // A process killed with SIGKILL leaves its socket file behind.
    const crashed = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await new Promise((r) => crashed.stdout.once('data', r));
    crashed.kill('SIGKILL');
    await new Promise((r) => crashed.once('exit', r));
    expect(lstatSync(path).isSocket()).toBe(true);
    t = await startServer({ unixPath: path });
    const c = await client({ path });
    c.send(ns('mailertable example.com'));
    expect(await c.replyCount(1)).toEqual([NOTFOUND]);
  });

  test('a live socket is refused with a clear error', async () => {
    const path = join(dir(), 'mx4map.sock');
    t = await startServer({ unixPath: path });
    await expect(startServer({ unixPath: path })).rejects.toThrow(new ListenError(`${path} is in use by a running server (is mx4map already running?)`));
  });

  test('a live server whose backlog is full is not taken for stale: its path is left alone', async () => {
    const path = join(dir(), 'mx4map.sock');
    // A server that never accepts, with a backlog of one: further connects get EAGAIN.
    const busy = spawn('python3', [
      '-c',
      `import socket,sys,time\ns=socket.socket(socket.AF_UNIX)\ns.bind(${JSON.stringify(path)})\ns.listen(0)\nprint('up',flush=True)\ntime.sleep(60)`,
    ]);
    try {
      await new Promise((r) => busy.stdout.once('data', r));
      const fillers = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<Socket>((resolve) => {
              const s = connect({ path });
              s.on('error', () => undefined);
              setTimeout(() => resolve(s), 50);
            }),
        ),
      );
      await expect(startServer({ unixPath: path })).rejects.toThrow(/is in use by a running server/);
      expect(lstatSync(path).isSocket()).toBe(true);
      for (const s of fillers) s.destroy();
    } finally {
      busy.kill('SIGKILL');
    }
  });

  test('at exit the socket file is removed only if it is still ours: a path since taken by another server is left to it', async () => {
    const path = join(dir(), 'mx4map.sock');
    const first = await startServer({ unixPath: path });
    // Another server takes the path (as after a takeover of what looked stale).
    unlinkSync(path);
    const other = createServer((s) => s.end(ns('NOTFOUND '))).listen(path);
    await new Promise((r) => other.once('listening', r));
    await first.close(100);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(first.sink.events('socket-replaced')).toHaveLength(1);
    const c = await client({ path });
    expect(await c.replyCount(1)).toEqual([NOTFOUND]);
    await new Promise((r) => other.close(r));
  });

  test('at exit our own socket file is removed', async () => {
    const path = join(dir(), 'mx4map.sock');
    const s = await startServer({ unixPath: path });
    await s.close(100);
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });

  test('the socket never appears at its path with the wrong mode: it is bound under another name and renamed into place', async () => {
    const d = dir();
    const path = join(d, 'mx4map.sock');
    const seen: string[] = [];
    const watcher = watch(d, (_event, name) => name && seen.push(String(name)));
    t = await startServer({ unixPath: path, socketMode: 0o600 });
    watcher.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(seen.some((name) => name !== 'mx4map.sock')).toBe(true);
    expect(readdirSync(d)).toEqual(['mx4map.sock']);
  });

  test('a path holding something else is refused, not removed', async () => {
    const path = join(dir(), 'not-a-socket');
    writeFileSync(path, 'data');
    await expect(startServer({ unixPath: path })).rejects.toThrow(/exists and is not a socket/);
  });
});
