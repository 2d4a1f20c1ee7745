/** SIGTERM while 50 clients keep the built `mx4map serve` busy, some of them waiting on DNS at that moment. */
import { type ServeRig, startServeRig } from '../support/serve-rig';
import { WireClient, ns } from '../support/wire';
import { until } from '../support/until';
import { encodeNetstring } from '../../src/protocol/netstring';

const GRACE_MS = 4000;
// blackhole.test never gets a DNS answer: whoever asks it waits for the deadline, so some requests are
// always in flight when the signal comes.
const DOMAINS = ['cname-mx.test', 'ipv6-ok.test', 'no-aaaa.test', 'absent-1.test', 'blackhole.test', 'servfail.test', 'absent-2.test'];

let rig: ServeRig | undefined;
afterEach(async () => rig?.close());

/** Asks one request after another until the server closes the connection; counts what it sent. */
function closedLoop(client: WireClient, offset: number): { sent: () => number; lastSentAt: () => number; done: Promise<void> } {
  let sent = 0;
  let lastSentAt = 0;
  const next = (): void => {
    if (client.closed || client.socket.destroyed) return;
    client.socket.write(ns(`mailertable ${DOMAINS[(offset + sent) % DOMAINS.length]}`));
    sent++;
    lastSentAt = performance.now();
  };
  client.socket.on('data', () => {
    if (client.replies.length === sent) next();
  });
  next();
  return { sent: () => sent, lastSentAt: () => lastSentAt, done: client.closedByServer(GRACE_MS + 5000) };
}

test('in-flight requests are answered or their connections closed cleanly, and the process exits 0 within the grace period', async () => {
  rig = await startServeRig(['--deadline', '1500ms', '--dns-timeout', '3s', '--shutdown-grace', `${GRACE_MS}ms`]);
  const clients = await Promise.all(Array.from({ length: 50 }, () => WireClient.open({ port: (rig as ServeRig).serve.port })));
  const loops = clients.map((c, i) => closedLoop(c, i));
  await until(() => clients.reduce((n, c) => n + c.replies.length, 0) > 100, 10_000, '100 answers under load');
  // …and some lookups waiting on slow DNS, sent long enough ago to have been read by the server.
  const waitingLong = (): boolean => loops.some((l, i) => l.sent() > clients[i].replies.length && performance.now() - l.lastSentAt() > 100);
  await until(waitingLong, 10_000, 'lookups in flight');
  const answeredBefore = clients.reduce((n, c) => n + c.replies.length, 0);
  expect(answeredBefore).toBeGreaterThan(100);

  const signalled = performance.now();
  // Requests sent 100 ms or more before the signal have surely been read by the server: they are in flight.
  const inFlight = loops.map((l, i) => (l.sent() > clients[i].replies.length && signalled - l.lastSentAt() > 100 ? l.sent() : 0));
  expect(inFlight.filter((n) => n > 0).length).toBeGreaterThan(0);
  rig.serve.child.kill('SIGTERM');
  const { code } = await rig.serve.exited();
  const tookMs = performance.now() - signalled;
  await Promise.all(loops.map((l) => l.done));

  expect(code).toBe(0);
  expect(tookMs).toBeLessThan(GRACE_MS + 1000);
  for (const c of clients) {
    // Every byte received forms whole replies: no half-written reply, whatever moment the close came.
    expect(Buffer.concat(c.replies.map((r) => encodeNetstring(r))).equals(c.raw)).toBe(true);
    for (const reply of c.replies) expect(reply).toMatch(/^(OK esmtp:\[[0-9.\],[:]+|NOTFOUND )$/);
  }
  // Requests in flight at the signal were answered; otherwise at most the one sent last is unanswered.
  for (const [i, c] of clients.entries()) {
    if (inFlight[i] > 0) expect(c.replies.length).toBeGreaterThanOrEqual(inFlight[i]);
    expect(loops[i].sent() - c.replies.length).toBeLessThanOrEqual(1);
  }
  const events = rig.serve.lines.map((l) => l.evt);
  expect(events.at(-1)).toBe('stopped');
  expect(events).not.toContain('shutdown-forced');
}, 30_000);
