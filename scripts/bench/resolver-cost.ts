/**
 * The anchor beside the cold path: CPU per MX query of a DNS client, in a process of its own (the fixture
 * DNS runs in the bench process, so its cost is not counted here). `c-ares` is Node's own resolver
 * (`node:dns` Resolver); `mx4map` is the client mx4map decides with (wire format, ID/question/source
 * checks, the socket pool). Both ask the same fixture for the same distinct names, 50 at a time after a
 * warm-up on other names, and print {client, queries, cpuUsPerQuery, perSecond} as JSON.
 *
 *   node resolver-cost.js <c-ares|mx4map> <host:port> <count>
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

async function run(ask: Ask, names: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) await ask(names[next++]);
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function main(): Promise<void> {
  const [kind, spec, countText] = process.argv.slice(2);
  const count = Number(countText);
  const ask = client(kind, spec);
  await run(
    ask,
    Array.from({ length: WARMUP }, (_, i) => `warm${i}.test`),
  );
  const before = process.cpuUsage();
  const started = performance.now();
  await run(
    ask,
    Array.from({ length: count }, (_, i) => `cold${i}.test`),
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
