/**
 * `npm run bench`: mx4map side by side with a bare netstring server, driven by the same closed-loop
 * generator in its own process. Prints one table; `--quick` for a short run. No pass/fail: figures.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startDnsFixture } from '../../test/support/dns-fixture.js';
import { type Started, cpuSeconds, metric, rssMb, startProcess, startServe } from '../lib/process.js';
import { HOSTS, benchZone } from './zone.js';
import { dnsDecodeFigures } from './dns-decode.js';
import { ensureTestAddresses, testIpv6 } from '../../test/support/test-addresses.js';
import type { LoadJob, LoadResult } from './load.js';
import { redisMissing, startRedis } from '../../test/support/redis.js';
import { targetLines } from './targets.js';

const quick = process.argv.includes('--quick');
const ROOT = join(__dirname, '..', '..', '..');
const CLI = join(ROOT, 'dist', 'index.js');
const HIT_DOMAINS = 1000;
const COLD_DOMAINS = quick ? 5000 : 10_000;
/** Decisions a fresh server makes before scenario 3 is measured (see there); resolver-cost.ts warms up on as many. */
const WARM_DOMAINS = 10_000;
const RUN_MS = quick ? 1000 : 4000;
/** Back-to-back runs of the bare server and mx4map at 50 connections; the median pair is reported. */
const HEADLINE_PAIRS = quick ? 1 : 3;
/** Runs of each DNS client alone (scenario 3's anchor), alternated; the median is reported. */
const CLIENT_RUNS = quick ? 1 : 3;
/**
 * The rate both DNS clients are asked at: well under what the fixture answers (~7,000 a second here), so
 * the rate, and with it how many replies a wake-up reads, is the same for both.
 */
const CLIENT_RATE = 3000;
const WARMUP_MS = quick ? 200 : 500;

function startMx4map(dnsSpec: string, probePort: number, extra: string[] = []): Promise<Started> {
  return startServe(CLI, [
    '--listen',
    'inet:0@127.0.0.1',
    '--http',
    '127.0.0.1:0',
    '--dns',
    dnsSpec,
    '--probe-port',
    String(probePort),
    '--cache-size',
    '200000',
    '--max-in-flight',
    '1',
    ...extra,
  ]);
}

/** The bare netstring server (bare-server.ts); `extra` `['--cold', dnsSpec]` makes it the cold path's floor. */
function startBare(extra: string[] = []): Promise<Started> {
  return startProcess([join(__dirname, 'bare-server.js'), ...extra], (l) => (typeof l.port === 'number' ? { port: l.port } : undefined));
}

function load(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'load.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(JSON.stringify(job));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited with ${code}`))));
  });
}

/** CPU per query of a DNS client alone (resolver-cost.ts), in a child process. */
function resolverCost(client: 'c-ares' | 'mx4map', dnsSpec: string, count: number, rate: number): Promise<{ cpuUsPerQuery: number; perSecond: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'resolver-cost.js'), client, dnsSpec, String(count), String(rate)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`resolver-cost ${client} exited with ${code}`));
      resolve(JSON.parse(out) as { cpuUsPerQuery: number; perSecond: number });
    });
  });
}

/** The run with the median `by` (the upper middle of an even count). */
function median<T>(runs: readonly T[], by: (run: T) => number): T {
  return [...runs].sort((a, b) => by(a) - by(b))[Math.floor(runs.length / 2)];
}

/** Runs a load against one server and adds the server's CPU time per lookup to the result. */
async function measured(job: LoadJob, server: Started): Promise<LoadResult & { cpuUs: number }> {
  const before = cpuSeconds(server.child.pid);
  const result = await load(job);
  const cpu = cpuSeconds(server.child.pid) - before;
  // The CPU time covers warm-up too; so does the request count used here.
  return { ...result, cpuUs: (cpu * 1e6) / Math.max(1, result.requests * (1 + job.warmupMs / Math.max(1, job.durationMs))) };
}

/**
 * A fake SMTP server on [::]:P, reached by the probes at the IPv6 MX hosts' documentation addresses, put on
 * lo (mx4map never probes loopback or v4-mapped addresses, so the endpoints need addresses of their own).
 */
async function smtpFarm(): Promise<{ port: number; connections: () => number; close(): void }> {
  ensureTestAddresses(Array.from({ length: HOSTS }, (_, h) => testIpv6(h + 1)));
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.on('error', () => undefined);
    s.end('220 bench ESMTP\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '::', r));
  return { port: (server.address() as { port: number }).port, connections: () => connections, close: () => server.close() };
}

const rows: string[][] = [];
function row(...cells: Array<string | number>): void {
  rows.push(cells.map(String));
}
const ms = (v: number): string => (v < 1 ? v.toFixed(3) : v.toFixed(2));

async function main(): Promise<void> {
  const dns = await startDnsFixture(benchZone(HIT_DOMAINS, COLD_DOMAINS, WARM_DOMAINS));
  const smtp = await smtpFarm();
  const mx = await startMx4map(dns.spec, smtp.port);
  const bare = await startBare();
  const hitChains = Array.from({ length: HIT_DOMAINS }, (_, i) => [`mailertable hit${i}.test`]);

  // Warm the cache: every hit domain decided once.
  await load({ port: mx.port, connections: 10, durationMs: 0, chains: hitChains, warmupMs: 0 });

  let ratio50 = NaN;
  let cpuRatio50 = NaN;
  let hitsPerSecond50 = NaN;
  let cpuOurs50 = NaN;
  let p99At50 = NaN;
  let bareP99At50 = NaN;
  for (const connections of [1, 10, 50, 200]) {
    const job = { connections, durationMs: RUN_MS, chains: hitChains, warmupMs: WARMUP_MS };
    // At 50 connections (the headline and its targets) the pair runs HEADLINE_PAIRS times and the pair with
    // the median share is kept: on a shared machine one pair moved the share by ±0.1 from run to run.
    const pairs: Array<{ base: LoadResult & { cpuUs: number }; ours: LoadResult & { cpuUs: number } }> = [];
    for (let i = 0; i < (connections === 50 ? HEADLINE_PAIRS : 1); i++) {
      const base = await measured({ ...job, port: bare.port }, bare);
      pairs.push({ base, ours: await measured({ ...job, port: mx.port }, mx) });
    }
    const { base, ours } = median(pairs, (p) => p.ours.perSecond / p.base.perSecond);
    if (connections === 50) {
      ratio50 = ours.perSecond / base.perSecond;
      hitsPerSecond50 = ours.perSecond;
      cpuOurs50 = ours.cpuUs;
      const cpuPair = median(pairs, (p) => p.ours.cpuUs / p.base.cpuUs);
      cpuRatio50 = cpuPair.ours.cpuUs / cpuPair.base.cpuUs;
      p99At50 = ours.p99;
      bareP99At50 = base.p99;
    }
    row(
      '1. cache hits',
      connections,
      'mx4map',
      Math.round(ours.perSecond),
      ms(ours.p50),
      ms(ours.p99),
      ms(ours.max),
      ours.cpuUs.toFixed(1),
      rssMb(mx.child.pid).toFixed(0),
    );
    row(
      '',
      connections,
      'bare baseline',
      Math.round(base.perSecond),
      ms(base.p50),
      ms(base.p99),
      ms(base.max),
      base.cpuUs.toFixed(1),
      rssMb(bare.child.pid).toFixed(0),
    );
  }

  // 2. The sendmail mix: half forced (OK at the full name), half untouched (the full .parent walk).
  const mix = Array.from({ length: HIT_DOMAINS }, (_, i) =>
    i % 2 === 0 ? [`mailertable hit${i}.test`] : [`mailertable a.nx${i}.test`, 'mailertable .nx.test', 'mailertable .test', 'mailertable .'],
  );
  await load({ port: mx.port, connections: 10, durationMs: 0, chains: mix, warmupMs: 0 });
  const mixed = await measured({ port: mx.port, connections: 50, durationMs: RUN_MS, chains: mix, warmupMs: WARMUP_MS }, mx);
  row(
    '2. sendmail mix',
    50,
    'mx4map',
    Math.round(mixed.perSecond),
    ms(mixed.p50),
    ms(mixed.p99),
    ms(mixed.max),
    mixed.cpuUs.toFixed(1),
    rssMb(mx.child.pid).toFixed(0),
  );

  // 3. Cold decisions on a fresh server: distinct domains over 20 shared MX hosts. It first decides other
  // domains over the same hosts: a server that has run for a minute has compiled its hot code and knows its
  // providers' MX hosts; the first thousands of decisions of a new process measure V8's warm-up instead.
  const cold = await startMx4map(dns.spec, smtp.port);
  const probesBefore = smtp.connections();
  const warmChains = Array.from({ length: WARM_DOMAINS }, (_, i) => [`mailertable warm${i}.test`]);
  await load({ port: cold.port, connections: 50, durationMs: 0, chains: warmChains, warmupMs: 0 });
  const queriesBefore = dns.queries.length;
  const coldChains = Array.from({ length: COLD_DOMAINS }, (_, i) => [`mailertable cold${i}.test`]);
  const c = await measured({ port: cold.port, connections: 50, durationMs: 0, chains: coldChains, warmupMs: 0 }, cold);
  const queries = dns.queries.length - queriesBefore;
  // secure_domains: skip (the default) looks for MTA-STS before forcing: one more query, in one more round trip.
  const mtaSts = dns.queries.slice(queriesBefore).filter((q) => q.startsWith('_mta-sts.')).length;
  const probes = smtp.connections() - probesBefore;
  const deadlines = await metric(cold.http, 'mx4map_lookups_total', 'reason="deadline"');
  row('3. cold decisions', 50, 'mx4map', Math.round(c.perSecond), ms(c.p50), ms(c.p99), ms(c.max), c.cpuUs.toFixed(1), rssMb(cold.child.pid).toFixed(0));
  // The floor: a bare server sending the same queries through c-ares per request (warmed up the same way).
  const floor = await startBare(['--cold', dns.spec]);
  await load({ port: floor.port, connections: 50, durationMs: 0, chains: warmChains, warmupMs: 0 });
  const f = await measured({ port: floor.port, connections: 50, durationMs: 0, chains: coldChains, warmupMs: 0 }, floor);
  floor.child.kill('SIGTERM');
  row('   the same queries, no decision', 50, 'bare + c-ares', Math.round(f.perSecond), ms(f.p50), ms(f.p99), ms(f.max), f.cpuUs.toFixed(1), '-');
  // The anchor: the same MX queries through a DNS client alone, Node's own (c-ares) and mx4map's, at one
  // offered rate (resolver-cost.ts says why). Runs alternate (c-ares, ours, c-ares, …) and the median of
  // each is kept.
  const runs: Record<'c-ares' | 'mx4map', Array<{ cpuUsPerQuery: number; perSecond: number }>> = { 'c-ares': [], mx4map: [] };
  for (let i = 0; i < CLIENT_RUNS; i++)
    for (const client of ['c-ares', 'mx4map'] as const) runs[client].push(await resolverCost(client, dns.spec, COLD_DOMAINS, CLIENT_RATE));
  const clientCpu: Record<string, number> = {};
  for (const client of ['c-ares', 'mx4map'] as const) {
    const cost = median(runs[client], (r) => r.cpuUsPerQuery);
    clientCpu[client] = cost.cpuUsPerQuery;
    row(
      `   MX queries only, ${CLIENT_RATE}/s`,
      '-',
      client === 'c-ares' ? 'node:dns c-ares' : 'mx4map client',
      Math.round(cost.perSecond),
      '-',
      '-',
      '-',
      cost.cpuUsPerQuery.toFixed(1),
      '-',
    );
  }

  // 5. With a fleet's shared cache (a redis-server of the bench's own): hits must cost what they cost
  // without it, since they never reach Redis; a cold decision found in Redis vs one made from DNS.
  const sharedNotes: string[] = [];
  const missing = redisMissing();
  const sharedServers: Started[] = [];
  if (missing) sharedNotes.push(`shared cache: not measured (${missing})`);
  else {
    const redis = await startRedis();
    const keyFile = join(mkdtempSync(join(tmpdir(), 'mx4map-bench-')), 'fleet.key');
    writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    const withShared = (): Promise<Started> => startMx4map(dns.spec, smtp.port, ['--shared-cache', redis.spec, '--shared-cache-key-file', keyFile]);
    const first = await withShared();
    sharedServers.push(first);
    await load({ port: first.port, connections: 10, durationMs: 0, chains: hitChains, warmupMs: 0 });
    const hits = await measured({ port: first.port, connections: 50, durationMs: RUN_MS, chains: hitChains, warmupMs: WARMUP_MS }, first);
    row(
      '5. cache hits, shared_cache on',
      50,
      'mx4map',
      Math.round(hits.perSecond),
      ms(hits.p50),
      ms(hits.p99),
      ms(hits.max),
      hits.cpuUs.toFixed(1),
      rssMb(first.child.pid).toFixed(0),
    );
    // The first instance decides the warm-up and cold domains from DNS (writing them to Redis); the second,
    // warmed up on the same domains (all found in Redis), then asks the cold ones: every one a shared hit.
    await load({ port: first.port, connections: 50, durationMs: 0, chains: warmChains, warmupMs: 0 });
    const queriesBeforeShared = dns.queries.length;
    const miss = await measured({ port: first.port, connections: 50, durationMs: 0, chains: coldChains, warmupMs: 0 }, first);
    const missQueries = dns.queries.length - queriesBeforeShared;
    row(
      '   cold, from DNS',
      50,
      'mx4map + Redis',
      Math.round(miss.perSecond),
      ms(miss.p50),
      ms(miss.p99),
      ms(miss.max),
      miss.cpuUs.toFixed(1),
      rssMb(first.child.pid).toFixed(0),
    );
    const second = await withShared();
    sharedServers.push(second);
    await load({ port: second.port, connections: 50, durationMs: 0, chains: warmChains, warmupMs: 0 });
    const queriesBeforeHit = dns.queries.length;
    const hit = await measured({ port: second.port, connections: 50, durationMs: 0, chains: coldChains, warmupMs: 0 }, second);
    row(
      '   cold, found in Redis',
      50,
      'mx4map + Redis',
      Math.round(hit.perSecond),
      ms(hit.p50),
      ms(hit.p99),
      ms(hit.max),
      hit.cpuUs.toFixed(1),
      rssMb(second.child.pid).toFixed(0),
    );
    const hitQueries = dns.queries.length - queriesBeforeHit;
    const sharedHits = await metric(second.http, 'mx4map_shared_decision_reads_total', 'result="hit"');
    const overBudget = await metric(second.http, 'mx4map_shared_decision_reads_total', 'result="budget"');
    const hostHits = await metric(second.http, 'mx4map_shared_host_reads_total', 'result="hit"');
    sharedNotes.push(
      `shared cache: hits at 50 connections with shared_cache on = ${(100 * (hits.perSecond / Math.max(1, hitsPerSecond50))).toFixed(1)}% of the same server without it (${hits.cpuUs.toFixed(1)} vs ${cpuOurs50.toFixed(1)} µs CPU/lookup); cold: ${COLD_DOMAINS} domains decided from DNS took ${missQueries} queries, the same domains on a second instance ${hitQueries} (${sharedHits} decisions read from Redis, ${overBudget} reads past the read budget, ${hostHits} MX hosts' facts read from Redis)`,
    );
    for (const p of sharedServers) p.child.kill('SIGTERM');
    await redis.close();
  }

  // 6. Following a busy delivery log: 10,000 lines appended at once, 1% of them failures IPv4 cures
  // (each checked against DNS), 4% other failures, the rest deliveries. Server CPU from the first line to the last.
  const logNotes = await deliveryLogCost(dns.spec);

  // 4. Memory per cached decision (the real engine cache, filled through engine.decide()).
  const memCounts = quick ? [100_000] : [100_000, 1_000_000];
  const memory = await new Promise<Array<{ entries: number; heapPerEntry: number; rssPerEntry: number }>>((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', join(__dirname, 'memory.js'), ...memCounts.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`memory probe exited ${code}`))));
  });

  for (const p of [mx, bare, cold]) p.child.kill('SIGTERM');
  smtp.close();
  await dns.close();

  const header = ['scenario', 'conns', 'server', 'lookups/s', 'p50 ms', 'p99 ms', 'max ms', 'server CPU µs/lookup', 'RSS MB'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const out = [
    `mx4map benchmark${quick ? ' (--quick)' : ''}: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${new Date().toISOString().slice(0, 10)}`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `headline: cache hits at 50 connections = ${(100 * ratio50).toFixed(1)}% of the bare baseline's throughput, at ${cpuRatio50.toFixed(2)}× its server CPU per lookup (the median of ${HEADLINE_PAIRS} back-to-back pairs; the table shows the pair with the median share)`,
    '(the generator runs in its own process; on 2 cores it and the server share the machine, so the CPU column is the steadier measure of server cost)',
    `cold path: ${COLD_DOMAINS} domains over ${HOSTS} MX hosts, after ${WARM_DOMAINS} others: ${(queries / COLD_DOMAINS).toFixed(3)} DNS queries per decision (${(mtaSts / COLD_DOMAINS).toFixed(3)} of them _mta-sts TXT, asked for the forced half), ${probes} probes in all for ${HOSTS / 2} IPv6 addresses, ${deadlines} answers past the deadline`,
    `(the same queries, no decision: the bare server sending the MX query, and for every second request the _mta-sts TXT, through c-ares before answering NOTFOUND, the floor of any server that asks them; MX queries only: the same MX queries through a DNS client in a process of its own, asked at ${CLIENT_RATE} a second (the lookups/s column is the rate answered), CPU per query, the median of ${CLIENT_RUNS} alternated runs each; the fixture DNS is not counted)`,
    ...memory.map(
      (m) =>
        `memory: ${m.entries.toLocaleString('en')} cached decisions: ${m.heapPerEntry.toFixed(0)} bytes of heap (typed arrays included) and ${m.rssPerEntry.toFixed(0)} bytes of RSS per decision`,
    ),
    ...sharedNotes,
    logNotes,
    `start to listening: ${mx.startMs.toFixed(0)} ms (first server), ${cold.startMs.toFixed(0)} ms (second); the bare Node server: ${bare.startMs.toFixed(0)} ms`,
    ...dnsDecodeFigures(),
    '',
    ...targetLines({
      hitThroughputRatio: ratio50,
      hitCpuRatio: cpuRatio50,
      hitP99Ms: p99At50,
      bareP99Ms: bareP99At50,
      coldCpuUs: c.cpuUs,
      coldFloorCpuUs: f.cpuUs,
      dnsClientCpuRatio: clientCpu.mx4map / clientCpu['c-ares'],
      startMs: mx.startMs,
      bareStartMs: bare.startMs,
      heapPerDecision: memory.find((m) => m.entries === 100_000)?.heapPerEntry,
    }),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

async function deliveryLogCost(dnsSpec: string): Promise<string> {
  const LINES = 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'mx4map-bench-log-'));
  const path = join(dir, 'maillog');
  writeFileSync(path, '');
  const server = await startServe(CLI, ['--listen', 'inet:0@127.0.0.1', '--http', '127.0.0.1:0', '--dns', dnsSpec, '--no-probe', '--delivery-log', path]);
  try {
    const lines = Array.from({ length: LINES }, (_, i) => {
      const head = `Dec  4 10:00:00 mx postfix/smtp[${1000 + (i % 50)}]: 4Xk${i.toString(36).padStart(8, '0')}: to=<user${i}@dest${i % 500}.example>`;
      if (i % 100 === 0)
        return `${head}, relay=mx.dest${i % 500}.example[2001:db8::${(i % 500).toString(16)}]:25, delay=1, delays=0/0/0.5/0.5, dsn=4.7.25, status=deferred (host mx.dest${i % 500}.example[2001:db8::1] said: 450 4.7.25 Service unavailable, sending IPv6 address [2001:db8::25] must have reverse DNS record. (in reply to RCPT TO command))`;
      if (i % 25 === 0)
        return `${head}, relay=mx.dest${i % 500}.example[192.0.2.${i % 250}]:25, delay=1, delays=0/0/0.5/0.5, dsn=5.1.1, status=bounced (host mx.dest${i % 500}.example[192.0.2.1] said: 550 5.1.1 <user${i}@dest.example>: Recipient address rejected: User unknown in virtual mailbox table (in reply to RCPT TO command))`;
      return `${head}, relay=mx.dest${i % 500}.example[192.0.2.${i % 250}]:25, delay=0.4, delays=0.01/0/0.2/0.19, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4Xk2Lq1FZ9z9sT3)`;
    });
    await metric(server.http, 'mx4map_delivery_log_readable');
    const before = cpuSeconds(server.child.pid);
    const started = performance.now();
    appendFileSync(path, `${lines.join('\n')}\n`);
    while ((await metric(server.http, 'mx4map_delivery_log_lines{')) < LINES) await new Promise((r) => setTimeout(r, 50));
    const reports = async (): Promise<number> => metric(server.http, 'mx4map_delivery_reports_total');
    while ((await reports()) < LINES / 100) await new Promise((r) => setTimeout(r, 50));
    const cpuMs = (cpuSeconds(server.child.pid) - before) * 1000;
    const wallMs = performance.now() - started;
    const bytes = statSync(path).size;
    return `delivery log: ${LINES.toLocaleString('en')} lines (${(bytes / 2 ** 20).toFixed(1)} MiB, ${LINES / 100} failures IPv4 cures, each checked against DNS) cost ${cpuMs.toFixed(0)} ms of server CPU (${((cpuMs * 1000) / LINES).toFixed(1)} µs a line), read and checked within ${wallMs.toFixed(0)} ms (polled every 500 ms)`;
  } finally {
    server.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
