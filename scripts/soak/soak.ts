/**
 * `npm run soak`: the load and resource figures of the built `mx4map serve`. Three phases, each printed:
 *  1. many concurrent connections held open and all answered (default 10,000), with the default
 *     configuration; then new connections, each of which must be answered too;
 *  2. slow-drip clients (default 1,000) against a normal client's p99, compared with its unloaded p99;
 *  3. many distinct random domains (default 10,000,000), each a real decision (one DNS exchange), while
 *     the server's RSS is sampled: it must level off at what the cache caps allow.
 * Figures, not timed assertions; exits 1 only when something breaks (a lost reply, a crash, unbounded RSS).
 *
 *   npm run soak [-- --connections 10000] [--drips 1000] [--keys 10000000] [--phase 1,2,3]
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { encodeNetstring } from '../../src/protocol/netstring.js';
import { type Started, metric, peakRssMb, rssMb, startProcess, startServe } from '../lib/process.js';
import { startNxdomainDns } from './nxdomain-dns.js';
import { ScriptClient, quantile } from '../lib/client.js';

const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'index.js');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`soak: --${name} needs a positive whole number, got ${process.argv[i + 1] ?? 'nothing'}`);
    process.exit(2);
  }
  return value;
}

const CONNECTIONS = flag('connections', 10_000);
const DRIPS = flag('drips', 1000);
const KEYS = flag('keys', 10_000_000);
const phaseAt = process.argv.indexOf('--phase');
const PHASES = phaseAt >= 0 ? (process.argv[phaseAt + 1] ?? '').split(',') : ['1', '2', '3'];
const CACHE_SIZE = 100_000;
const failures: string[] = [];
const n = (x: number): string => Math.round(x).toLocaleString('en');

/** Open files this process may have; one connection is one descriptor on each side. */
function fileLimit(kind: 'soft' | 'hard'): number {
  const out = execFileSync('sh', ['-c', kind === 'soft' ? 'ulimit -n' : 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return out === 'unlimited' ? Infinity : Number(out);
}

/** Re-runs this script under a raised soft file limit when the connections would not fit (the hard limit allows raising it without privileges). */
function ensureFileLimit(): boolean {
  const needed = CONNECTIONS + DRIPS + 1000;
  if (fileLimit('soft') >= needed) return true;
  const hard = fileLimit('hard');
  if (hard < needed || process.env.MX4MAP_SOAK_RAISED) {
    console.error(
      `soak: ${n(CONNECTIONS)} connections need ${n(needed)} open files, and the hard limit is ${n(hard)}. Raise it (as root: ulimit -Hn ${needed}, or LimitNOFILE= in systemd) or pass --connections.`,
    );
    process.exit(2);
  }
  const raised = spawn('sh', ['-c', `ulimit -n ${Math.min(hard, 1 << 20)} && exec "$0" "$@"`, process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, MX4MAP_SOAK_RAISED: '1' },
  });
  raised.on('exit', (code) => process.exit(code ?? 1));
  return false;
}

/** Sends one request and resolves with the round trip in ms. */
async function ask(client: ScriptClient, request: Buffer, timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  const owed = client.replies + 1;
  client.socket.write(request);
  await repliesReach(client, owed, timeoutMs);
  return performance.now() - t0;
}

/** Resolves once `count` replies have arrived; throws if the connection closes or time runs out first. */
async function repliesReach(client: ScriptClient, count: number, timeoutMs = 30_000): Promise<void> {
  try {
    await client.until(() => client.replies >= count || client.closed, timeoutMs);
  } catch {
    throw new Error('no reply');
  }
  if (client.replies < count) throw new Error('connection closed');
}

async function serve(dnsSpec: string, extra: string[] = []): Promise<Started> {
  return startServe(CLI, ['--listen', 'inet:0@127.0.0.1', '--dns', dnsSpec, '--probe', 'false', '--cache-size', String(CACHE_SIZE), ...extra]);
}

async function phaseConnections(dnsSpec: string): Promise<void> {
  // The default configuration: the connection cap is derived from the open-file limit.
  const server = await serve(dnsSpec, ['--http', '127.0.0.1:0']);
  const pid = server.child.pid;
  const rssIdle = rssMb(pid);
  const request = encodeNetstring('mailertable held.soak');
  const t0 = performance.now();
  const clients: ScriptClient[] = [];
  for (let i = 0; i < CONNECTIONS; i += 500) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(500, CONNECTIONS - i) }, () => ScriptClient.open(server.port)))));
  }
  const openedMs = performance.now() - t0;
  const t1 = performance.now();
  await Promise.all(clients.map((c) => ask(c, request)));
  const roundMs = performance.now() - t1;
  await new Promise((r) => setTimeout(r, 5000)); // held, idle
  await Promise.all(clients.map((c) => ask(c, request)));
  const lost = clients.filter((c) => c.replies !== 2 || c.closed).length;
  const rssHeld = rssMb(pid);
  if (lost) failures.push(`${lost} of ${CONNECTIONS} held connections lost a reply or were closed`);
  // New clients arriving while all those are held: each must be answered.
  const NEW = 500;
  const newcomers = await Promise.all(Array.from({ length: NEW }, () => ScriptClient.open(server.port)));
  const unanswered = (
    await Promise.all(
      newcomers.map((c) =>
        ask(c, request).then(
          () => 0,
          () => 1,
        ),
      ),
    )
  ).reduce((a: number, b) => a + b, 0);
  const evicted = await metric(server.http, 'mx4map_connections_closed_total', 'reason="evicted"');
  if (unanswered) failures.push(`${unanswered} of ${NEW} new connections were not answered while ${CONNECTIONS} were held`);
  console.log(
    `1. connections held   ${n(CONNECTIONS)} open at once (opened in ${(openedMs / 1000).toFixed(1)} s), default configuration (cap ${n(server.maxConnections ?? NaN)}); every one answered twice, 5 s apart: ${lost === 0 ? 'yes' : `no (${lost} failed)`}`,
  );
  console.log(
    `                      then ${NEW} new connections: ${unanswered === 0 ? 'every one answered' : `${unanswered} unanswered`}; connections evicted: ${n(evicted)}`,
  );
  console.log(
    `                      one request on each: ${n(roundMs)} ms for all; server RSS ${rssIdle.toFixed(0)} MB idle, ${rssHeld.toFixed(0)} MB holding them (${(((rssHeld - rssIdle) * 1024) / CONNECTIONS).toFixed(1)} KB per connection)`,
  );
  for (const c of [...clients, ...newcomers]) c.socket.destroy();
  server.child.kill('SIGTERM');
}

async function steadyLatencies(port: number, ms: number): Promise<number[]> {
  const client = await ScriptClient.open(port);
  const request = encodeNetstring('mailertable steady.soak');
  await ask(client, request); // decided once, then a cache hit
  const out: number[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    out.push(await ask(client, request));
    await new Promise((r) => setTimeout(r, 2));
  }
  client.socket.destroy();
  return out;
}

/**
 * The drip clients, in a process of their own so their timers do not slow the normal client's measurement:
 * each sends a request one byte every 100 ms (within request_timeout), over and over, until stdin closes.
 * Prints what it did as JSON at the end.
 */
async function dripChild(port: number, count: number): Promise<void> {
  const drips = await Promise.all(Array.from({ length: count }, () => ScriptClient.open(port)));
  let dripping = true;
  let bytes = 0;
  process.stdin.on('end', () => (dripping = false)).resume();
  process.stdout.write('ready\n');
  await Promise.all(
    drips.map(async (c, i) => {
      const request = encodeNetstring(`mailertable drip${i}.soak`);
      await new Promise((r) => setTimeout(r, Math.random() * 100));
      while (dripping && !c.closed) {
        for (let b = 0; b < request.length && dripping; b++) {
          c.socket.write(request.subarray(b, b + 1));
          bytes++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }),
  );
  const replies = drips.reduce((sum, c) => sum + c.replies, 0);
  const closed = drips.filter((c) => c.closed).length;
  process.stdout.write(`${JSON.stringify({ bytes, replies, closed })}\n`);
  for (const c of drips) c.socket.destroy();
}

/** The normal client's latencies alone, then beside the drip clients (in their own process). */
async function dripRun(port: number): Promise<{ unloaded: number[]; loaded: number[]; bytes: number; replies: number; closed: number }> {
  const unloaded = await steadyLatencies(port, 8000);
  const child = spawn(process.execPath, [__filename, '--drip-child', String(port), String(DRIPS)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`drip clients exited (code ${code}, signal ${signal})`)));
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && resolve())));
  const early = await Promise.race([ready.then(() => undefined), exited]);
  if (early) throw new Error(`${early} before they were ready`);
  await new Promise((r) => setTimeout(r, 1000));
  const loaded = await steadyLatencies(port, 8000);
  child.stdin.end();
  await exited;
  return { unloaded, loaded, ...(JSON.parse(out.split('\n')[1]) as { bytes: number; replies: number; closed: number }) };
}

async function phaseDrips(dnsSpec: string): Promise<void> {
  const server = await serve(dnsSpec, ['--max-connections', String(DRIPS + 100)]);
  const run = await dripRun(server.port);
  server.child.kill('SIGTERM');
  // The same against the bare netstring server of the benchmark: what the machine and the event loop cost.
  const bare = await startProcess([join(__dirname, '..', 'bench', 'bare-server.js')], (l) => (typeof l.port === 'number' ? { port: l.port } : undefined));
  const reference = await dripRun(bare.port);
  bare.child.kill('SIGTERM');
  const ratio = (r: { unloaded: number[]; loaded: number[] }): string =>
    `p99 ${quantile(r.unloaded, 0.99).toFixed(3)} ms unloaded, ${quantile(r.loaded, 0.99).toFixed(3)} ms beside them (${(quantile(r.loaded, 0.99) / quantile(r.unloaded, 0.99)).toFixed(2)}×); p50 ${quantile(r.unloaded, 0.5).toFixed(3)} → ${quantile(r.loaded, 0.5).toFixed(3)} ms`;
  console.log(
    `2. slow-drip clients  ${n(DRIPS)} clients sending 1 byte per 100 ms (${n(run.bytes)} bytes, ${n(run.replies)} requests completed and answered, ${run.closed} closed)`,
  );
  console.log(`                      normal client, mx4map:        ${ratio(run)}`);
  console.log(`                      normal client, bare baseline: ${ratio(reference)}`);
  if (run.closed > 0) failures.push(`${run.closed} drip clients were closed although each request completed within request_timeout`);
}

async function phaseKeys(dnsSpec: string, dnsQueries: () => number): Promise<void> {
  const server = await serve(dnsSpec, ['--max-in-flight', '64']);
  const pid = server.child.pid;
  const connections = 8;
  const perConnection = Math.ceil(KEYS / connections);
  const prefix = Math.random().toString(36).slice(2, 8);
  const samples: Array<[number, number]> = [];
  let sent = 0;
  let answered = 0;
  const t0 = performance.now();
  const sampler = setInterval(() => {
    samples.push([answered, rssMb(pid)]);
    if (process.stderr.isTTY) process.stderr.write(`\r   ${n(answered)} keys, RSS ${samples.at(-1)?.[1].toFixed(0)} MB   `);
  }, 1000);
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      const client = await ScriptClient.open(server.port);
      const window = 64;
      let next = 0;
      // Keeps `window` requests in flight: distinct names, so every one is a fresh decision.
      while (next < perConnection && sent < KEYS) {
        const batch: Buffer[] = [];
        while (batch.length < window && next < perConnection && sent < KEYS) {
          batch.push(encodeNetstring(`mailertable k${(c * perConnection + next).toString(36)}-${prefix}.soak`));
          next++;
          sent++;
        }
        const owed = client.replies + batch.length;
        client.socket.write(Buffer.concat(batch));
        await repliesReach(client, owed);
        answered += batch.length;
      }
      client.socket.destroy();
    }),
  );
  clearInterval(sampler);
  if (process.stderr.isTTY) process.stderr.write('\n');
  const seconds = (performance.now() - t0) / 1000;
  const rssEnd = rssMb(pid);
  // After the cache has filled (CACHE_SIZE decisions), RSS should level off: compare the last samples with
  // the first one taken after 20 % of the keys.
  const settled = samples.find(([done]) => done >= KEYS * 0.2)?.[1] ?? rssEnd;
  const peak = peakRssMb(pid);
  console.log(
    `3. distinct keys      ${n(answered)} random domains in ${seconds.toFixed(0)} s (${n(answered / seconds)}/s, ${n(dnsQueries())} DNS queries), cache capped at ${n(CACHE_SIZE)} decisions`,
  );
  console.log(
    `                      server RSS ${settled.toFixed(0)} MB after 20 % of the keys, ${rssEnd.toFixed(0)} MB at the end, peak ${peak.toFixed(0)} MB`,
  );
  if (answered < KEYS) failures.push(`only ${answered} of ${KEYS} keys answered`);
  if (rssEnd > settled * 1.5 + 50) failures.push(`RSS kept growing after the cache filled: ${settled.toFixed(0)} → ${rssEnd.toFixed(0)} MB`);
  server.child.kill('SIGTERM');
}

async function main(): Promise<void> {
  const child = process.argv.indexOf('--drip-child');
  if (child >= 0) return dripChild(Number(process.argv[child + 1]), Number(process.argv[child + 2]));
  if (!ensureFileLimit()) return;
  const dns = await startNxdomainDns();
  console.log(`mx4map soak: Node ${process.version}, open-file limit ${n(fileLimit('soft'))}, ${new Date().toISOString().slice(0, 10)}`);
  if (PHASES.includes('1')) await phaseConnections(dns.spec);
  if (PHASES.includes('2')) await phaseDrips(dns.spec);
  if (PHASES.includes('3')) await phaseKeys(dns.spec, dns.queries);
  dns.close();
  console.log(failures.length ? `FAILED:\n  - ${failures.join('\n  - ')}` : 'nothing lost, nothing crashed');
  process.exitCode = failures.length ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
