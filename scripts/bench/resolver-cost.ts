/**
 * The anchor beside the cold path: CPU per MX query of a DNS client, in a process of its own (the fixture
 * DNS runs in the bench process, so its cost is not counted here). `c-ares` is Node's own resolver
 * (`node:dns` Resolver); `mx4map` is the client mx4map decides with (wire format, ID/question/source
 * checks, the socket pool). Both warm up on other names, 50 at a time, then ask the same fixture for the
 * same distinct names at one offered rate, and print {client, queries, cpuUsPerQuery, perSecond} as JSON.
 *
 * The measured names are asked at a fixed rate (open loop), not 50 at a time: in a closed loop the rate is
 * whatever the fixture allows at that moment, and the CPU a query costs follows the rate (how many replies
 * one wake-up reads), so two clients measured a minute apart were compared at different rates: the ratio
 * swung 0.7-1.9x. At one offered rate both see the same arrivals.
 *
 *   node resolver-cost.js <c-ares|mx4map> <host:port> <count> <queries per second>
 */
import { Resolver } from 'node:dns/promises';
import { WireDnsClient } from '../../src/dns/client.js';
import { parseDnsServer } from '../../src/dns/servers.js';

const CONCURRENCY = 50;
const WARMUP = 10_000;

type Ask = (name: string) => Promise<unknown>;

function client(kind: string, spec: string): Ask {
  const server = parseDnsServer(spec);
  if ('problem' in server) throw new Error(server.problem);
  if (kind === 'c-ares') {
    // One try, the same timeout as mx4map's default: a fair comparison of the work per answered query.
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([spec]);
    return (name) => resolver.resolveMx(name).catch(() => undefined);
  }
  const wire = new WireDnsClient({ servers: [server], timeoutMs: 2000, attempts: 1, maxInFlight: 256 });
  return (name) => wire.query(name, 'MX', Infinity);
}

/** Asks 50 at a time, each worker its next name as soon as its last one is answered. */
async function closedLoop(ask: Ask, names: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) await ask(names[next++]);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** Asks `rate` names a second whatever the answers do (checked every millisecond); done when all are answered. */
function openLoop(ask: Ask, names: readonly string[], rate: number): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    let asked = 0;
    let answered = 0;
    const answeredOne = (): void => {
      if (++answered < names.length) return;
      clearInterval(timer);
      resolve();
    };
    const timer = setInterval(() => {
      const due = Math.min(names.length, Math.floor(((performance.now() - started) * rate) / 1000));
      while (asked < due) ask(names[asked++]).then(answeredOne, answeredOne);
    }, 1);
  });
}

async function main(): Promise<void> {
  const [kind, spec, countText, rateText] = process.argv.slice(2);
  const count = Number(countText);
  const rate = Number(rateText);
  if (!(count > 0 && rate > 0)) throw new Error('usage: resolver-cost <c-ares|mx4map> <host:port> <count> <queries per second>');
  const ask = client(kind, spec);
  await closedLoop(
    ask,
    Array.from({ length: WARMUP }, (_, i) => `warm${i}.test`),
  );
  const before = process.cpuUsage();
  const started = performance.now();
  await openLoop(
    ask,
    Array.from({ length: count }, (_, i) => `cold${i}.test`),
    rate,
  );
  const used = process.cpuUsage(before);
  const perSecond = (count * 1000) / (performance.now() - started);
  process.stdout.write(`${JSON.stringify({ client: kind, queries: count, cpuUsPerQuery: (used.user + used.system) / count, perSecond })}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`resolver-cost failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
