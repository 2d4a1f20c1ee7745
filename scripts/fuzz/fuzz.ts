/**
 * `npm run fuzz`: drives the built `mx4map serve` with well-formed, mutated and random netstrings over many
 * connections, and checks what a client can see: the server stays up; every well-formed request on a
 * healthy connection gets one well-formed reply, the same one each time for the same domain; hostile bytes
 * end, at worst, in one complete PERM and a close, never a half-written reply; a canary client keeps being
 * answered; memory stays bounded. The DNS side is fuzzed too: lookups of domains whose answers are
 * mutated at random (scripts/fuzz/dns.ts) must each be answered, well-formed, within the deadline.
 * Prints its figures; exits 1 on any violation.
 *
 *   npm run fuzz [-- --inputs 1000000] [--seconds S] [--connections 16] [--seed N] [--max-rss-mb 400]
 *   npm run fuzz -- --mode resp|log-lines|all [--seconds S]   (a hostile Redis peer; hostile log lines; everything)
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { encodeNetstring } from '../../src/protocol/netstring.js';
import { startDnsFixture } from '../../test/support/dns-fixture.js';
import { cliZone } from '../../test/support/cli-zone.js';
import { Inputs, random } from './inputs.js';
import { metric, peakRssMb, rssMb, startServe } from '../lib/process.js';
import { ScriptClient, quantile } from '../lib/client.js';
import { FUZZ_DOMAINS, startDnsFuzz } from './dns.js';
import { fuzzHostileResp } from './hostile-resp.js';
import { fuzzLogLines } from './log-lines.js';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'index.js');
const MAX_REQUEST_BYTES = 2000;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`fuzz: --${name} needs a non-negative number, got ${process.argv[i + 1] ?? 'nothing'}`);
    process.exit(2);
  }
  return value;
}

const TARGET = flag('inputs', 1_000_000);
const SECONDS = flag('seconds', 0);
const CONNECTIONS = flag('connections', 16);
const SEED = flag('seed', Date.now() % 2 ** 31);
const MAX_RSS_MB = flag('max-rss-mb', 400);

const MODES = ['server', 'resp', 'log-lines', 'all'] as const;
const MODE = (() => {
  const i = process.argv.indexOf('--mode');
  const value = i < 0 ? 'server' : process.argv[i + 1];
  if (!(MODES as readonly string[]).includes(value)) {
    console.error(`fuzz: --mode needs one of ${MODES.join(', ')}, got ${value ?? 'nothing'}`);
    process.exit(2);
  }
  return value as (typeof MODES)[number];
})();

const REPLY = /^(OK \S.*|NOTFOUND |TEMP .*|TIMEOUT .*|PERM .*)$/s;
const ENDING = /^PERM (malformed netstring|request not completed)/;

const stats = { inputs: 0, wellFormed: 0, hostile: 0, replies: 0, connections: 0, clientSawProtocolErrors: 0 };
const violations: string[] = [];
const consistent = new Map<string, string>();
let stopping = false;

function violation(text: string): void {
  if (violations.length < 20) violations.push(text);
  else if (violations.length === 20) violations.push('… (more)');
}

function checkReply(reply: string, request: { payload: Buffer; known?: string }): void {
  stats.replies++;
  if (!REPLY.test(reply)) return violation(`malformed reply ${JSON.stringify(reply.slice(0, 80))}`);
  const map = request.payload.toString('latin1', 0, request.payload.indexOf(0x20));
  if (!['mailertable', 'transport'].includes(map) && reply !== `PERM unknown map ${map}`) violation(`unknown map ${map} answered ${JSON.stringify(reply)}`);
  if (request.known && !reply.startsWith('TEMP') && !reply.startsWith('TIMEOUT')) {
    // Postfix answers hand out equally preferred hosts in turns: the same answer is the same set of hops.
    const same =
      map === 'transport' ? reply.replace(/^(OK \S+?:)(.*)$/s, (_m, head: string, hops: string) => `${head}${hops.split(', ').sort().join(', ')}`) : reply;
    const seen = consistent.get(request.known);
    if (seen === undefined) consistent.set(request.known, same);
    else if (seen !== same) violation(`${request.known} answered ${JSON.stringify(reply)}, earlier ${JSON.stringify(seen)}`);
  }
}

/** Writes bytes in a few random pieces, as TCP may deliver them. */
function writeInPieces(socket: Socket, bytes: Buffer, g: Inputs): void {
  let at = 0;
  while (at < bytes.length) {
    const n = g.int(4) === 0 ? 1 + g.int(bytes.length - at) : bytes.length - at;
    socket.write(bytes.subarray(at, at + n));
    at += n;
  }
}

async function worker(id: number, port: number, g: Inputs): Promise<void> {
  let sentinel = 0;
  while (!stopping) {
    const conn = await ScriptClient.open(port, { keep: true, onMalformed: violation });
    stats.connections++;
    const cleanBatches = g.int(3);
    try {
      for (let b = 0; b <= cleanBatches && !stopping; b++) {
        const hostile = b === cleanBatches;
        const requests = Array.from({ length: 1 + g.int(10) }, () => g.request());
        const owed = conn.replies + requests.length;
        const parts = requests.map((r) => encodeNetstring(r.payload));
        let sentinelName = '';
        const hostileInputs = hostile ? 1 + g.int(3) : 0;
        for (let h = 0; h < hostileInputs; h++) parts.push(g.hostile(MAX_REQUEST_BYTES));
        if (hostile) {
          sentinelName = `sentinel-${id}-${sentinel++}`;
          parts.push(encodeNetstring(`${sentinelName} x`));
          stats.hostile += hostileInputs;
        }
        writeInPieces(conn.socket, Buffer.concat(parts), g);
        stats.inputs += requests.length + hostileInputs;
        stats.wellFormed += requests.length;
        if (hostile) conn.socket.end();
        await conn.until(() => conn.replies >= owed || conn.closed, 10_000);
        if (conn.replies < owed) {
          violation(`a healthy connection closed with ${owed - conn.replies} well-formed requests unanswered`);
          break;
        }
        const start = owed - requests.length;
        requests.forEach((r, i) => checkReply(conn.kept[start + i], r));
        if (!hostile) continue;
        await conn.until(() => conn.closed, 10_000);
        if (conn.partialAtClose) violation('connection closed in the middle of a reply');
        const after = conn.kept.slice(owed);
        after.forEach((reply, i) => {
          stats.replies++;
          if (!REPLY.test(reply)) violation(`malformed reply ${JSON.stringify(reply.slice(0, 80))}`);
          if (ENDING.test(reply)) {
            stats.clientSawProtocolErrors++;
            if (i !== after.length - 1) violation('replies after the PERM that ends a connection');
          }
        });
        const sentinelAnswered = after.includes(`PERM unknown map ${sentinelName}`);
        if (sentinelAnswered && ENDING.test(after.at(-1) ?? '')) violation('the sentinel was answered, yet the connection ended with a protocol error');
      }
    } catch (err) {
      violation(`worker ${id}: ${(err as Error).message} (server stalled?)`);
    } finally {
      conn.socket.destroy();
    }
    if (stats.inputs >= TARGET) stopping = true;
  }
}

/** A well-behaved client asking all along: its latency shows whether hostile clients stall others. */
async function canary(port: number): Promise<number[]> {
  const latencies: number[] = [];
  const conn = await ScriptClient.open(port, { onMalformed: violation });
  const request = encodeNetstring('mailertable cname-mx.test');
  while (!stopping) {
    const t0 = performance.now();
    const owed = conn.replies + 1;
    conn.socket.write(request);
    try {
      await conn.until(() => conn.replies >= owed || conn.closed, 10_000);
    } catch {
      violation('the canary client got no answer within 10 s');
      break;
    }
    if (conn.closed) {
      violation('the canary connection was closed');
      break;
    }
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
  }
  conn.socket.destroy();
  return latencies;
}

/** The deadline serve runs with here; a lookup of a mutated-DNS domain must be answered within it (+ slack). */
const DEADLINE_MS = 5000;

/** Looks up fuzzed-DNS domains one at a time, as sendmail would, timing each answer. */
async function dnsFuzzer(port: number, g: Inputs): Promise<number[]> {
  const latencies: number[] = [];
  while (!stopping) {
    const conn = await ScriptClient.open(port, { keep: true, onMalformed: violation });
    for (let i = 0; i < 50 && !stopping; i++) {
      const domain = `fz${g.int(FUZZ_DOMAINS)}.test`;
      const owed = conn.replies + 1;
      const t0 = performance.now();
      conn.socket.write(encodeNetstring(`${g.pick(['mailertable', 'transport'])} ${domain}`));
      try {
        await conn.until(() => conn.replies >= owed || conn.closed, DEADLINE_MS + 5000);
      } catch {
        violation(`${domain}: no answer within ${DEADLINE_MS + 5000} ms`);
        break;
      }
      if (conn.replies < owed) {
        violation(`${domain}: the connection closed unanswered`);
        break;
      }
      const ms = performance.now() - t0;
      latencies.push(ms);
      const reply = conn.kept[owed - 1];
      stats.replies++;
      if (!REPLY.test(reply)) violation(`${domain}: malformed reply ${JSON.stringify(reply.slice(0, 80))}`);
      if (ms > DEADLINE_MS + 1000) violation(`${domain}: answered after ${ms.toFixed(0)} ms, past the ${DEADLINE_MS} ms deadline`);
    }
    conn.socket.destroy();
  }
  return latencies;
}

/** The in-process modes: a hostile Redis peer, hostile log lines. */
async function otherModes(): Promise<void> {
  const master = random(SEED);
  const seconds = SECONDS > 0 ? SECONDS : 10;
  const found: string[] = [];
  console.log(`mx4map fuzz --mode ${MODE}: Node ${process.version}, seed ${SEED}, ${seconds} s each, ${new Date().toISOString().slice(0, 10)}`);
  if (MODE === 'resp' || MODE === 'all') {
    const r = await fuzzHostileResp(new Inputs(random(Math.floor(master() * 2 ** 31)), []), seconds);
    r.figures.forEach((f) => console.log(f));
    found.push(...r.violations);
  }
  if (MODE === 'log-lines' || MODE === 'all') {
    const r = fuzzLogLines(new Inputs(random(Math.floor(master() * 2 ** 31)), []), seconds);
    r.figures.forEach((f) => console.log(f));
    found.push(...r.violations);
  }
  console.log(`violations            ${found.length}`);
  for (const v of found) console.log(`  - ${v}`);
  if (found.length) process.exitCode = 1;
}

async function main(): Promise<void> {
  if (MODE !== 'server') {
    await otherModes();
    if (MODE !== 'all') return;
  }
  const zone = cliZone();
  const fixture = await startDnsFixture(zone);
  const master = random(SEED);
  const dns = await startDnsFuzz(fixture.server, new Inputs(random(Math.floor(master() * 2 ** 31)), []));
  // Names whose DNS never answers or answers late would be answered at the deadline first and decided later.
  const known = Object.keys(zone.records).filter((d) => !Object.values(zone.behaviours?.[d] ?? {}).some((b) => b === 'silent' || b === 'slow'));
  const server = await startServe(CLI, [
    '--listen',
    'inet:0@127.0.0.1',
    '--http',
    '127.0.0.1:0',
    '--dns',
    dns.server.spec,
    '--probe',
    'false',
    '--max-request-bytes',
    String(MAX_REQUEST_BYTES),
    '--request-timeout',
    '2s',
    '--deadline',
    `${DEADLINE_MS}ms`,
    '--reply-max-age',
    '10s',
    '--dns-timeout',
    '250ms',
    '--dns-attempts',
    '1',
  ]);
  let crashed: string | undefined;
  server.child.once('exit', (code, signal) => {
    crashed = `server exited (code ${code}, signal ${signal})`;
    stopping = true;
  });
  const pid = server.child.pid;
  const started = performance.now();
  const rssAtStart = rssMb(pid);
  let rssLast = rssAtStart;
  const sampler = setInterval(() => {
    if (!crashed) rssLast = rssMb(pid);
    const elapsed = (performance.now() - started) / 1000;
    if (process.stderr.isTTY)
      process.stderr.write(`\r${stats.inputs.toLocaleString('en')} inputs, ${elapsed.toFixed(0)} s, server RSS ${rssLast.toFixed(0)} MB   `);
  }, 1000);
  const timer = SECONDS > 0 ? setTimeout(() => (stopping = true), SECONDS * 1000) : undefined;

  const canaryLatencies = canary(server.port);
  const dnsLatencies = Promise.all(Array.from({ length: 32 }, () => dnsFuzzer(server.port, new Inputs(random(Math.floor(master() * 2 ** 31)), known)))).then(
    (all) => all.flat(),
  );
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => worker(i, server.port, new Inputs(random(Math.floor(master() * 2 ** 31)), known))));
  stopping = true;
  const latencies = await canaryLatencies;
  const fuzzedLookups = await dnsLatencies;
  clearInterval(sampler);
  if (timer) clearTimeout(timer);
  const seconds = (performance.now() - started) / 1000;
  if (process.stderr.isTTY) process.stderr.write('\n');

  const protocolErrors = crashed ? NaN : await metric(server.http, 'mx4map_protocol_errors_total');
  const peak = crashed ? NaN : peakRssMb(pid);
  const rssAtEnd = crashed ? NaN : rssMb(pid);
  if (!crashed && peak > MAX_RSS_MB) violation(`server peak RSS ${peak.toFixed(0)} MB is over --max-rss-mb ${MAX_RSS_MB}`);
  server.child.removeAllListeners('exit');
  server.child.kill('SIGTERM');
  await dns.close();
  await fixture.close();

  const n = (x: number): string => x.toLocaleString('en');
  console.log(`mx4map fuzz: Node ${process.version}, seed ${SEED}, ${CONNECTIONS} connections, ${new Date().toISOString().slice(0, 10)}`);
  console.log(
    `inputs tried          ${n(stats.inputs)} (${n(stats.wellFormed)} well-formed requests, ${n(stats.hostile)} hostile inputs) in ${seconds.toFixed(1)} s, ${n(Math.round(stats.inputs / seconds))}/s`,
  );
  console.log(`replies checked       ${n(stats.replies)} over ${n(stats.connections)} connections`);
  console.log(`protocol errors       ${n(protocolErrors)} counted by the server (${n(stats.clientSawProtocolErrors)} PERM-and-close seen by clients)`);
  console.log(
    `DNS answers mutated   ${n(dns.mutated())}; ${n(fuzzedLookups.length)} lookups of those domains answered, p99 ${quantile(fuzzedLookups, 0.99).toFixed(1)} ms, max ${quantile(fuzzedLookups, 1).toFixed(1)} ms (deadline ${DEADLINE_MS} ms)`,
  );
  console.log(
    `canary latency        p50 ${quantile(latencies, 0.5).toFixed(2)} ms, p99 ${quantile(latencies, 0.99).toFixed(2)} ms, max ${quantile(latencies, 1).toFixed(2)} ms over ${n(latencies.length)} lookups`,
  );
  console.log(`server RSS            ${rssAtStart.toFixed(0)} MB at start, ${rssAtEnd.toFixed(0)} MB at end, peak ${peak.toFixed(0)} MB`);
  console.log(`crashes               ${crashed ? `1 (${crashed})` : 0}`);
  console.log(`violations            ${violations.length}`);
  for (const v of violations) console.log(`  - ${v}`);
  if (crashed || violations.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
