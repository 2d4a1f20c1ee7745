/**
 * Memory per cached decision: fills the real engine's decision cache through engine.decide() with an
 * in-memory DNS (no network), then reads heap (with typed arrays' memory) and RSS after a full GC. Run with
 * --expose-gc.
 */
import pino from 'pino';
import { Engine } from '../../src/engine/engine.js';
import type { DnsClient, QueryOutcome } from '../../src/dns/client.js';
import { type DnsRecord, RCODE } from '../../src/dns/message.js';
import { Prober } from '../../src/probe/prober.js';
import { DomainSet } from '../../src/domain/domain-set.js';
import { ALL_TRIGGERS } from '../../src/config/options.js';

/** Half the domains do not exist; the rest have MX on one of 20 shared hosts, half of them aliases. */
const dns: DnsClient = {
  async query(name, type): Promise<QueryOutcome> {
    const answers: DnsRecord[] = [];
    let rcode: number = RCODE.NOERROR;
    const host = /^mx(\d+)\.provider\.test$/.exec(name);
    if (host) {
      const n = Number(host[1]);
      if (n % 2 === 0) answers.push({ name, type: 'CNAME', ttl: 3600, target: `edge${n}.provider.test` });
      if (type === 'A') answers.push({ name: n % 2 === 0 ? `edge${n}.provider.test` : name, type: 'A', ttl: 3600, address: `192.0.2.${n + 1}` });
    } else if (/^d\d+\.test$/.test(name) && type === 'MX') {
      const i = Number(name.slice(1, -5));
      if (i % 2 === 0) rcode = RCODE.NXDOMAIN;
      else answers.push({ name, type: 'MX', ttl: 3600, exchange: `mx${i % 20}.provider.test`, priority: 10 });
    }
    return {
      kind: 'response',
      response: {
        id: 0,
        rcode,
        truncated: false,
        authenticated: false,
        question: { name, type: 0 },
        answers,
        authorities: [{ name: 'test', type: 'SOA', ttl: 3600, minimum: 3600 }],
        answersDropped: 0,
      },
    };
  },
};

async function main(): Promise<void> {
  const counts = process.argv.slice(2).map(Number);
  const max = Math.max(...counts);
  const prober = new Prober({ port: 25, timeoutMs: 100, okTtlMs: 3_600_000, failTtlMs: 600_000, concurrency: 4, cacheSize: 100 }, async () => ({
    ok: true,
    outcome: 'ok' as const,
    detail: 'greeting',
    ms: 0,
  }));
  const engine = new Engine(
    {
      triggers: new Set(ALL_TRIGGERS),
      probe: false,
      deadlineMs: 60_000,
      minTtlMs: 3_600_000,
      maxTtlMs: 3_600_000,
      failureTtlMs: 5000,
      cacheSize: max,
      hostCacheSize: 100,
      probesPerHost: 2,
      maxProbes: 6,
      maxMxHosts: 10,
      maxAddresses: 10,
      staleTtlMs: 86_400_000,
      refreshAhead: 0.1,
      dryRun: false,
      secureDomains: 'force',
      dnssec: false,
      sharedReadBudgetMs: 50,
      evidenceTtlMs: 7 * 86_400_000,
      maxEvidence: 1000,
    },
    { never: new DomainSet(), force: new DomainSet() },
    dns,
    prober,
    pino({ level: 'silent' }),
  );
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  // Heap counts typed arrays' memory too (the cache keeps entry times in them, outside V8's heap proper).
  const heldBytes = (m: NodeJS.MemoryUsage): number => m.heapUsed + m.arrayBuffers;
  const baseHeap = heldBytes(process.memoryUsage());
  const baseRss = process.memoryUsage().rss;
  const results: Array<{ entries: number; heapPerEntry: number; rssPerEntry: number; heapMb: number; rssMb: number }> = [];
  let filled = 0;
  for (const target of counts.sort((a, b) => a - b)) {
    const batch: Array<Promise<unknown>> = [];
    for (; filled < target; filled++) {
      const d = engine.decide(`d${filled}.test`);
      if (d instanceof Promise) batch.push(d);
      if (batch.length >= 1000) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    gc();
    const m = process.memoryUsage();
    results.push({
      entries: target,
      heapPerEntry: (heldBytes(m) - baseHeap) / target,
      rssPerEntry: (m.rss - baseRss) / target,
      heapMb: m.heapUsed / 2 ** 20,
      rssMb: m.rss / 2 ** 20,
    });
  }
  if (engine.cacheStats.decisions.size !== max) throw new Error(`cache holds ${engine.cacheStats.decisions.size}, expected ${max}`);
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

void main();
