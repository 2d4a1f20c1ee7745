/**
 * The closed-loop load generator, run as its own process: N connections, each with one request in flight
 * (as sendmail processes do), for a fixed time or a fixed list of keys. Prints one JSON result line.
 */
import { connect, type Socket } from 'node:net';
import { NetstringDecoder } from '../../src/protocol/netstring.js';
import { encodeRequest } from '../../src/protocol/socketmap.js';
import { LatencyRecorder } from '../../src/replay/stats.js';

export interface LoadJob {
  readonly port: number;
  readonly connections: number;
  /** Run for this long (ms), cycling through `requests`; or, when 0, send each request once. */
  readonly durationMs: number;
  /** Request payloads as "map key"; a chain (sendmail's walk) is sent in order on one connection. */
  readonly chains: readonly (readonly string[])[];
  /** Only count latencies after this long (ms), to skip warm-up. */
  readonly warmupMs: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly replies: Record<string, number>;
}

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const sockets = await Promise.all(Array.from({ length: job.connections }, () => open(job.port)));
  const latency = new LatencyRecorder();
  const replies: Record<string, number> = {};
  const encoded = job.chains.map((chain) => chain.map((r) => encodeRequest(r.slice(0, r.indexOf(' ')), r.slice(r.indexOf(' ') + 1))));
  let next = 0;
  let counted = 0;
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const deadline = job.durationMs > 0 ? start + job.warmupMs + job.durationMs : Infinity;
  let measuredStart = job.warmupMs > 0 ? 0 : start;
  let lastEnd = start;

  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise<void>((resolve) => {
          const decoder = new NetstringDecoder(1_000_000);
          let chain: Buffer[] = [];
          let step = 0;
          let sentAt = 0;
          const send = (): void => {
            const now = performance.now();
            if (step >= chain.length) {
              if (now >= deadline || (job.durationMs === 0 && next >= encoded.length)) {
                socket.end();
                return resolve();
              }
              chain = encoded[next++ % encoded.length];
              step = 0;
            }
            sentAt = now;
            socket.write(chain[step]);
          };
          socket.on('data', (chunk: Buffer) => {
            decoder.push(chunk, (payload) => {
              const now = performance.now();
              lastEnd = now;
              if (now >= measureFrom) {
                if (measuredStart === 0) measuredStart = now;
                latency.add(now - sentAt);
                counted++;
                const status = payload.toString('latin1', 0, Math.max(0, payload.indexOf(0x20)) || payload.length);
                replies[status] = (replies[status] ?? 0) + 1;
              }
              // A chain stops at its first OK, as sendmail's walk does.
              step = payload[0] === 0x4f /* O */ ? chain.length : step + 1;
              send();
            });
          });
          socket.on('error', () => resolve());
          send();
        }),
    ),
  );
  const seconds = (lastEnd - (measuredStart || start)) / 1000;
  const l = latency.summary();
  return { requests: counted, seconds, perSecond: counted / Math.max(seconds, 1e-9), p50: l.p50, p99: l.p99, max: l.max, replies };
}

if (require.main === module) {
  // The job comes on stdin: the key lists are too long for a command line.
  let input = '';
  process.stdin.on('data', (d: Buffer) => (input += d.toString()));
  process.stdin.on('end', () => void runLoad(JSON.parse(input) as LoadJob).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`)));
}
