/** An Engine wired to the fixture DNS and to fake SMTP endpoints standing in for documentation addresses. */
import { Engine } from '../../src/engine/engine.js';
import type { EngineSettings } from '../../src/engine/policy.js';
import { WireDnsClient } from '../../src/dns/client.js';
import { Prober } from '../../src/probe/prober.js';
import { type SmtpProbe, probeSmtp } from '../../src/probe/smtp-probe.js';
import { ALL_TRIGGERS } from '../../src/config/options.js';
import { DomainSet } from '../../src/domain/domain-set.js';
import type { Overrides } from '../../src/engine/overrides.js';
import { type DnsFixture, type Zone, startDnsFixture } from './dns-fixture.js';
import { type SmtpFixture, refusingPort, startSmtpFixture } from './smtp-fixture.js';
import { V6_GREETS, V6_REFUSES, V6_SILENT, V6_TEMPFAIL, ruleZone } from './rule-zone.js';
import { logSink, type LogSink } from './log-sink.js';

export const TEST_SETTINGS: EngineSettings = {
  triggers: new Set(ALL_TRIGGERS),
  probe: true,
  deadlineMs: 2000,
  minTtlMs: 1000,
  maxTtlMs: 3_600_000,
  failureTtlMs: 5000,
  cacheSize: 1000,
  hostCacheSize: 1000,
  probesPerHost: 2,
  maxProbes: 6,
  maxMxHosts: 10,
  maxAddresses: 10,
  staleTtlMs: 86_400_000,
  refreshAhead: 0.1,
  dryRun: false,
  secureDomains: 'skip',
  dnssec: false,
  sharedReadBudgetMs: 50,
  evidenceTtlMs: 7 * 86_400_000,
  maxEvidence: 1000,
};

export interface EngineRig {
  readonly dns: DnsFixture;
  readonly engine: Engine;
  readonly prober: Prober;
  readonly sink: LogSink;
  readonly smtp: SmtpFixture[];
  /** Probes actually sent, by address. */
  readonly probed: string[];
  close(): Promise<void>;
}

export function noOverrides(): Overrides {
  return { never: new DomainSet(), force: new DomainSet() };
}

export async function startEngineRig(
  options: { settings?: Partial<EngineSettings>; overrides?: Overrides; zone?: Zone; probeTimeoutMs?: number; dnsTimeoutMs?: number; now?: () => number } = {},
): Promise<EngineRig> {
  const dns = await startDnsFixture(options.zone ?? ruleZone());
  const greet = await startSmtpFixture('greet');
  const silent = await startSmtpFixture('silent');
  const tempfail = await startSmtpFixture('tempfail');
  const ports: Record<string, number> = {
    [V6_GREETS]: greet.port,
    [V6_REFUSES]: await refusingPort(),
    [V6_SILENT]: silent.port,
    [V6_TEMPFAIL]: tempfail.port,
  };
  const probed: string[] = [];
  // The real probe, aimed at [::1] on the port standing in for each documentation address.
  const probe: SmtpProbe = (address, _port, timeoutMs) => {
    probed.push(address);
    return probeSmtp('::1', ports[address] ?? 1, timeoutMs);
  };
  const sink = logSink();
  const client = new WireDnsClient({ servers: [dns.server], timeoutMs: options.dnsTimeoutMs ?? 300, attempts: 1 });
  const prober = new Prober(
    { port: 25, timeoutMs: options.probeTimeoutMs ?? 300, okTtlMs: 3_600_000, failTtlMs: 600_000, concurrency: 8, cacheSize: 100 },
    probe,
  );
  const engine = new Engine({ ...TEST_SETTINGS, ...options.settings }, options.overrides ?? noOverrides(), client, prober, sink.log, options.now);
  const smtp = [greet, silent, tempfail];
  return {
    dns,
    engine,
    prober,
    sink,
    smtp,
    probed,
    async close() {
      await dns.close();
      await Promise.all(smtp.map((s) => s.close()));
    },
  };
}
