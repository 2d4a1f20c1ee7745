/**
 * Builds the engine and its edges from the configuration: one place for `serve` and `lookup`, so both
 * decide the same way.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/options.js';
import { ConfigError } from '../errors.js';
import type { AnswerPolicy } from '../maps/format.js';
import { WireDnsClient, type QueryObserver } from '../dns/client.js';
import { systemDnsServers, trustAdWarning } from '../dns/servers.js';
import type { DnsServer } from '../dns/transport.js';
import { Prober } from '../probe/prober.js';
import { type SmtpProbe, probeSmtp } from '../probe/smtp-probe.js';
import { Engine } from '../engine/engine.js';
import { type EngineSettings, PROBES_PER_HOST } from '../engine/policy.js';
import { type DomainSet, buildDomainSet, buildDomainSetInSlices } from '../domain/domain-set.js';
import type { Overrides } from '../engine/overrides.js';
import { type Locality, buildLocality } from '../engine/locality.js';
import { type InterfaceRead, readHostNames, readInterfaceAddresses } from './host-addresses.js';
import { SenderIdentity } from '../identity/sender-identity.js';
import { discoverIpv6Source } from '../identity/source-address.js';

/** The engine's settings from a configuration and its strict_receivers patterns (read with the other lists). */
export function engineSettings(config: Config, strictReceivers: DomainSet): EngineSettings {
  return {
    triggers: new Set(config.triggers),
    probe: config.probe,
    deadlineMs: config.deadline,
    minTtlMs: config.minTtl,
    maxTtlMs: config.maxTtl,
    failureTtlMs: config.failureTtl,
    cacheSize: config.cacheSize,
    hostCacheSize: config.hostCacheSize,
    probesPerHost: PROBES_PER_HOST,
    maxProbes: config.maxProbes,
    maxMxHosts: config.maxMxHosts,
    maxAddresses: config.maxAddresses,
    staleTtlMs: config.staleTtl,
    refreshAhead: config.refreshAhead / 100,
    dryRun: config.dryRun,
    // Maps that keep the next hop keep the protection too: lookups only pay when a map routes to literals.
    secureDomains: config.maps.some((m) => m.nexthop === 'literal') ? config.secureDomains : 'force',
    dnssec: config.dnssec === 'trust-ad',
    sharedReadBudgetMs: config.sharedReadBudget,
    evidenceTtlMs: config.evidenceTtl,
    maxEvidence: config.maxEvidence,
    strictReceivers,
  };
}

export function answerPolicy(config: Config): AnswerPolicy {
  return {
    onDnsFailure: config.onDnsFailure,
    dryRun: config.dryRun,
    maxAddresses: config.maxAddresses,
    postfixSingleNexthop: config.postfixSingleNexthop,
    secureDomains: config.secureDomains,
  };
}

/** Every pattern list of a configuration (inline patterns and pattern files), read and checked together. */
export interface PatternLists {
  readonly overrides: Overrides;
  readonly localDomains: DomainSet;
  readonly strictReceivers: DomainSet;
}

/** Each list: its items in a configuration and the option name that messages use. */
function listSources(config: Config): Record<'never' | 'force' | 'localDomains' | 'strictReceivers', [readonly string[], string]> {
  return {
    never: [config.never, 'never'],
    force: [config.forceIpv4, 'force_ipv4'],
    localDomains: [config.localDomains, 'local_domains'],
    strictReceivers: [config.strictReceivers, 'strict_receivers'],
  };
}

/** At start: read now; throws ConfigError naming the bad pattern or file. */
export function loadPatternLists(config: Config): PatternLists {
  const l = listSources(config);
  return {
    overrides: { never: buildDomainSet(...l.never), force: buildDomainSet(...l.force) },
    localDomains: buildDomainSet(...l.localDomains),
    strictReceivers: buildDomainSet(...l.strictReceivers),
  };
}

/**
 * For a running server (reloads): the same lists, every one parsed in slices so that files of hundreds of
 * thousands of patterns never hold the event loop. Rejects with ConfigError before anything is applied.
 */
export async function loadPatternListsInSlices(config: Config): Promise<PatternLists> {
  const l = listSources(config);
  return {
    overrides: { never: await buildDomainSetInSlices(...l.never), force: await buildDomainSetInSlices(...l.force) },
    localDomains: await buildDomainSetInSlices(...l.localDomains),
    strictReceivers: await buildDomainSetInSlices(...l.strictReceivers),
  };
}

export interface HostView {
  readonly locality: Locality;
  /** The interface read; with a problem, the locality knows only local_addresses and the host name. */
  readonly interfaces: InterfaceRead;
}

/**
 * This host as the configuration and the machine describe it now: interfaces and host name are read at
 * each call; `domains` is the local_domains set, built once per configuration.
 */
export function currentHostView(config: Config, domains: DomainSet, readInterfaces: () => InterfaceRead = readInterfaceAddresses): HostView {
  const interfaces = readInterfaces();
  const locality = buildLocality({ domains, hostNames: readHostNames(), configured: config.localAddresses, interfaces: interfaces.addresses });
  return { locality, interfaces };
}

/** Logs a change in whether the interfaces can be read: one warning when they cannot, one line when they can again. */
export function reportInterfaces(before: InterfaceRead | undefined, now: InterfaceRead, log: Logger): void {
  const problem = 'problem' in now ? now.problem : undefined;
  const previous = before && 'problem' in before ? before.problem : undefined;
  if (problem === previous) return;
  if (problem !== undefined) {
    log.warn(
      { evt: 'interfaces-unreadable', error: problem },
      `cannot read this host's interface addresses (${problem}); our own addresses are known only from local_addresses and the host name until a later read works`,
    );
  } else if (before) {
    log.info({ evt: 'interfaces-readable' }, "this host's interface addresses can be read again");
  }
}

export interface EngineEdges {
  /** Replaces the real SMTP probe (tests map documentation addresses to fake endpoints). */
  readonly probe?: SmtpProbe;
  readonly observeQuery?: QueryObserver;
}

export interface AssembledEngine {
  readonly engine: Engine;
  /** The local_domains set the engine's locality was built with (kept for refreshes). */
  readonly localDomains: DomainSet;
  /** The strict_receivers set (the delivery-log follower suggests patterns for hosts outside it). */
  readonly strictReceivers: DomainSet;
  readonly dns: WireDnsClient;
  readonly prober: Prober;
  /** The first read of this host's interfaces (serve reads them again on a timer). */
  readonly interfaces: InterfaceRead;
}

/** The DNS servers a configuration asks: those given, else the system's (resolv.conf). */
export function dnsServersOf(config: Config): readonly DnsServer[] {
  return config.dns.length > 0 ? config.dns : systemDnsServers();
}

/** The warning for `dnssec: trust-ad` with a resolver off this host (dns/servers.ts), or undefined. */
export function trustAdProblem(config: Config): string | undefined {
  return config.dnssec === 'trust-ad' ? trustAdWarning(dnsServersOf(config)) : undefined;
}

export function assembleEngine(config: Config, log: Logger, edges: EngineEdges = {}): AssembledEngine {
  const servers = dnsServersOf(config);
  if (servers.length === 0) throw new ConfigError('no DNS servers: the system has none configured (resolv.conf); give --dns HOST:PORT');
  const dns = new WireDnsClient(
    { servers, timeoutMs: config.dnsTimeout, attempts: config.dnsAttempts, maxInFlight: config.dnsMaxInFlight, dnssec: config.dnssec === 'trust-ad' },
    edges.observeQuery,
  );
  const prober = new Prober(
    {
      port: config.probePort,
      timeoutMs: config.probeTimeout,
      okTtlMs: config.probeOkTtl,
      failTtlMs: config.probeFailTtl,
      concurrency: config.probeConcurrency,
      cacheSize: config.hostCacheSize,
    },
    edges.probe ?? probeSmtp,
  );
  const lists = loadPatternLists(config);
  const engine = new Engine(engineSettings(config, lists.strictReceivers), lists.overrides, dns, prober, log);
  const { localDomains } = lists;
  const host = currentHostView(config, localDomains);
  reportInterfaces(undefined, host.interfaces, log);
  engine.setLocality(host.locality);
  return { engine, dns, prober, localDomains, strictReceivers: lists.strictReceivers, interfaces: host.interfaces };
}

/**
 * The checker of our IPv6 sending identity, wired to the engine it tells (sender-ipv6-unready): for serve
 * (re-checked on its timer and reloads) and lookup (checked once). `configured`: ipv6_source as it is now.
 */
export function assembleSenderIdentity(configured: () => readonly string[], dns: WireDnsClient, engine: Engine, log: Logger): SenderIdentity {
  return new SenderIdentity({ configured, discover: discoverIpv6Source, dns, onChange: (state) => engine.setSenderUnready(state.unready) }, log);
}
