/**
 * `mx4map replay`: the harness that replays recorded lookups against a running server, each connection
 * with one request in flight as sendmail does, and reports what came back and how fast.
 */
import { openInput } from './input-file.js';
import { pacer } from '../replay/pacer.js';
import { createInterface } from 'node:readline';
import type { CommandModule } from 'yargs';
import { parseEndpoint, type Endpoint } from '../protocol/endpoint.js';
import { SocketmapClient } from '../client/socketmap-client.js';
import { ClientError, ConfigError } from '../errors.js';
import { type LookupChain, parseReplayLine } from '../replay/input.js';
import { LatencyRecorder, type ServerFigures, figuresDelta, serverFigures } from '../replay/stats.js';
import { DEFAULT_CONNECT, showReply } from './query.js';
import { NO_OPS_LISTENER_HINT, httpBaseUrl } from '../ops/http.js';

async function readChains(file: string, defaultMap: string): Promise<{ chains: LookupChain[]; skipped: number }> {
  const stream = openInput(file, 'replay input');
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('error', (err: NodeJS.ErrnoException) => reject(new ConfigError(`cannot read ${file}: ${err.code ?? err.message}`)));
    if (file === '-') resolve();
    else stream.once('open', () => resolve());
  });
  await opened;
  const chains: LookupChain[] = [];
  let skipped = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    const parsed = parseReplayLine(line, defaultMap);
    if (parsed.kind === 'skipped') skipped++;
    else chains.push(...parsed.chains);
  }
  return { chains, skipped };
}

async function scrape(url: string | undefined): Promise<ServerFigures | undefined> {
  if (!url) return undefined;
  try {
    const r = await fetch(`${httpBaseUrl(url)}/metrics`, { signal: AbortSignal.timeout(5000) });
    return r.ok ? serverFigures(await r.text()) : undefined;
  } catch {
    throw new ClientError(`cannot read ${httpBaseUrl(url)}/metrics (${NO_OPS_LISTENER_HINT})`);
  }
}

interface Tally {
  lookups: number;
  byStatus: Record<string, number>;
  latency: LatencyRecorder;
}

function progress(done: number, total: number): void {
  const width = 30;
  const filled = Math.round((done / Math.max(1, total)) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} chains`);
}

async function worker(endpoint: Endpoint, queue: LookupChain[], tally: Tally, pace: () => Promise<void>, verbose: boolean, onChain: () => void): Promise<void> {
  const client = await SocketmapClient.connect(endpoint, 10_000);
  try {
    for (let chain = queue.shift(); chain; chain = queue.shift()) {
      for (const key of chain.keys) {
        await pace();
        const started = performance.now();
        const reply = await client.request(chain.map, key);
        const ms = performance.now() - started;
        tally.lookups++;
        tally.latency.add(ms);
        tally.byStatus[reply.status] = (tally.byStatus[reply.status] ?? 0) + 1;
        if (verbose) process.stdout.write(`${chain.map} ${key}\t${showReply(reply)}\t${ms.toFixed(2)} ms\n`);
        if (reply.status === 'OK') break; // sendmail stops its walk at the first hit
      }
      onChain();
    }
  } finally {
    client.close();
  }
}

const fmt = (ms: number): string => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(1)} ms`;

export const replayCommand: CommandModule = {
  command: 'replay <file>',
  describe: 'Replay recorded lookups (keys, or sendmail/Postfix log lines) against a running server',
  builder: (yargs) =>
    yargs
      .positional('file', { type: 'string', describe: 'input file, or - for stdin' })
      .option('connect', { type: 'string', default: DEFAULT_CONNECT, requiresArg: true, describe: 'server socket, in listen syntax' })
      .option('map', { type: 'string', default: 'mailertable', requiresArg: true, describe: 'map for lines that name none' })
      .option('concurrency', {
        type: 'number',
        default: 4,
        requiresArg: true,
        describe: 'connections, each with one request in flight (as sendmail processes)',
      })
      .option('rate', { type: 'number', default: 0, requiresArg: true, describe: 'most requests per second in all (0 = as fast as answered)' })
      .option('http', {
        type: 'string',
        requiresArg: true,
        describe: "the server's --http (HOST:PORT or URL), for cache hit ratio, DNS queries per lookup and reasons",
      })
      .option('verbose', { type: 'boolean', default: false, describe: 'print every key with its reply and latency' }),
  handler: async (argv) => {
    const concurrency = argv.concurrency as number;
    const rate = argv.rate as number;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000)
      throw new ConfigError('--concurrency must be a whole number from 1 to 10000');
    if (!Number.isFinite(rate) || rate < 0) throw new ConfigError('--rate must be a number of requests per second, 0 for unpaced');
    const endpoint = parseEndpoint(argv.connect as string);
    // yargs hands a lone "-" over as an empty string.
    const file = argv.file === '' ? '-' : (argv.file as string);
    const { chains, skipped } = await readChains(file, argv.map as string);
    const total = chains.length;
    const before = await scrape(argv.http as string | undefined);
    const tally: Tally = { lookups: 0, byStatus: {}, latency: new LatencyRecorder() };
    const showProgress = process.stderr.isTTY && !argv.verbose;
    let done = 0;
    const started = performance.now();
    const queue = [...chains];
    const pace = pacer(rate);
    await Promise.all(
      Array.from({ length: Math.min(concurrency, Math.max(1, total)) }, () =>
        worker(endpoint, queue, tally, pace, argv.verbose as boolean, () => {
          done++;
          if (showProgress && (done % 100 === 0 || done === total)) progress(done, total);
        }),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    if (showProgress) process.stderr.write('\n');
    const after = await scrape(argv.http as string | undefined);
    const l = tally.latency.summary();
    const out = [
      `replayed  ${tally.lookups} lookups (${total} chains) in ${seconds.toFixed(2)} s: ${Math.round(tally.lookups / Math.max(seconds, 1e-9))} lookups/s over ${concurrency} connections`,
      `replies   ${['OK', 'NOTFOUND', 'TEMP', 'TIMEOUT', 'PERM'].map((s) => `${s} ${tally.byStatus[s] ?? 0}`).join(', ')}`,
      `latency   p50 ${fmt(l.p50)}, p95 ${fmt(l.p95)}, p99 ${fmt(l.p99)}, max ${fmt(l.max)}`,
    ];
    if (skipped) out.push(`skipped   ${skipped} log lines without a recipient (connections, senders, daemon messages)`);
    if (before && after) {
      const d = figuresDelta(before, after);
      const decided = d.decisionHits + d.decisionMisses;
      out.push(
        `reasons   ${
          Object.entries(d.byReason)
            .sort((x, y) => y[1] - x[1])
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '(none)'
        }`,
      );
      out.push(
        `server    cache hit ratio ${decided ? ((100 * d.decisionHits) / decided).toFixed(1) : '-'}% of ${decided} decisions asked; ${d.lookups ? (d.dnsQueries / d.lookups).toFixed(2) : '-'} DNS queries per lookup`,
      );
    }
    process.stdout.write(`${out.join('\n')}\n`);
  },
};
