/**
 * `mx4map serve`: wires configuration, logger, map registry and server, and owns the process lifecycle:
 * SIGHUP reloads (one at a time, coalesced), SIGTERM/SIGINT drain and exit 0, a second signal exits at once.
 */
import { DeliveryLogs } from './delivery-logs.js';
import { describeDeliveryLogs } from '../ops/delivery-log-health.js';
import { type Config, OPTIONS, fileKey } from '../config/options.js';
import { type RawValues, changedOptions, configFileRead, loadConfig } from '../config/load.js';
import { formatDnsServer } from '../dns/servers.js';
import { VERSION } from '../version.js';
import { createLogger } from '../log.js';
import { MapRegistry } from '../maps/registry.js';
import {
  answerPolicy,
  assembleEngine,
  assembleSenderIdentity,
  currentHostView,
  dnsServersOf,
  engineSettings,
  loadPatternListsInSlices,
  reportInterfaces,
  trustAdProblem,
  type PatternLists,
} from './assemble.js';
import type { CountedFigures, Metrics, ReloadStatus } from '../ops/metrics.js';
import { DnsCounts } from '../ops/dns-counts.js';
import { AnswerCounts } from '../ops/answer-counts.js';
import { OpsServer } from '../ops/http.js';
import { DecisionsView } from '../ops/decisions-view.js';
import { isLoopbackHost } from '../net/loopback.js';
import { selinuxEnforcing, selinuxSocketWarning } from './selinux.js';
import { domainReport } from './domain-report.js';
import { type ServerLimits, SocketmapServer } from '../server/server.js';
import { LoopWatch } from '../server/loop-watch.js';
import { ConfigError, ListenError, Mx4mapError } from '../errors.js';
import { SnapshotKeeper } from '../snapshot/keeper.js';
import { connectionCap, describeCap, openFileLimit } from './descriptors.js';
import { coalesced } from '../limits/coalesced.js';
import { passedSockets } from './activation.js';
import { notifySystemd } from './notify.js';
import { preflight, systemProblems } from './preflight.js';
import { openSharedTier } from './open-shared-tier.js';
import { fleetOf } from '../shared/fleet-shelves.js';
import { describeIdentity } from '../identity/sender-identity.js';
import type { DomainSet } from '../domain/domain-set.js';
import type { SmtpProbe } from '../probe/smtp-probe.js';

/** How often this host's interface addresses are read again (they also are on every reload). */
const LOCALITY_REFRESH_MS = 60_000;
/** Longest wait at start for the first check of our IPv6 identity. */
const IDENTITY_WAIT_MS = 2000;

export interface DaemonInput {
  readonly flags: RawValues;
  readonly configPath: string | undefined;
  /** Called once the listeners are open (with their bound specs), after the `listening` line. */
  readonly onListening?: (bound: readonly string[]) => void;
  /** Stands in for the SMTP probe (the demo's greeters); the real probe when absent. */
  readonly probe?: SmtpProbe;
}

/** The server's limits from a configuration: the connection cap resolved against the open-file limit. */
function serverLimits(config: Config): ServerLimits {
  return { ...config, maxConnections: connectionCap(config, openFileLimit()).cap };
}

export async function runDaemon(input: DaemonInput): Promise<void> {
  // Read (and removed from the environment) first, before any child process could inherit them.
  const activated = passedSockets();
  let config = loadConfig(input.flags, input.configPath);
  // What check-config checks, checked the same way: one line per problem, before anything is opened.
  const problems = await preflight(config, { activated: activated !== undefined });
  if (problems.length > 1) for (const problem of problems.slice(1)) process.stderr.write(`mx4map: ${problem}\n`);
  if (problems.length > 0) throw new ConfigError(problems[0]);
  const logging = createLogger(config.logLevel, { format: config.logFormat });
  const { log } = logging;
  const fail = async (err: unknown): Promise<never> => {
    await logging.close();
    throw err;
  };
  // Counted from the start whether or not /metrics is served: an increment is cheaper than asking, and the
  // Prometheus registry that reads them is built only after listening (metricsOnce).
  const counted: CountedFigures = { answers: new AnswerCounts(config.deadline), dns: new DnsCounts() };
  /** The outcome of the last reload (the start counts as one): /healthz and /metrics say when one failed. */
  let reloadStatus: ReloadStatus = { successful: true, attemptedAt: Date.now(), succeededAt: Date.now(), succeeded: 0, failed: 0 };
  const assembled = assembleEngine(config, log, { observeQuery: counted.dns.observe, probe: input.probe });
  const { engine, prober, dns } = assembled;
  const trustAd = trustAdProblem(config);
  if (trustAd) log.warn({ evt: 'dnssec-remote-resolver' }, trustAd);
  const shared = openSharedTier(config, log);
  engine.useShared(shared && fleetOf(shared));
  // Our IPv6 sending identity, for sender-ipv6-unready: checked before listening (for at most
  // IDENTITY_WAIT_MS: a dead resolver must not hold the start), then on a timer and on every reload.
  const identity = assembleSenderIdentity(() => config.ipv6Source, dns, engine, log);
  const checkIdentity = (): Promise<unknown> => {
    if (config.triggers.includes('sender-ipv6-unready')) return identity.check();
    identity.stop();
    return Promise.resolve();
  };
  await Promise.race([checkIdentity(), new Promise((resolve) => setTimeout(resolve, IDENTITY_WAIT_MS).unref())]);
  let localDomains: DomainSet = assembled.localDomains;
  let interfaces = assembled.interfaces;
  const refreshLocality = (): void => {
    const { locality, interfaces: read } = currentHostView(config, localDomains);
    reportInterfaces(interfaces, read, log);
    interfaces = read;
    if (engine.setLocality(locality))
      log.info({ evt: 'locality', addresses: locality.addresses }, "this host's names or addresses changed; domains routed to them are decided again");
  };
  const localityTimer = setInterval(refreshLocality, LOCALITY_REFRESH_MS).unref();
  // The MTA's own delivery log (ipv6-delivery-failed): followed from its end, re-read on every reload.
  let strictReceivers: DomainSet = assembled.strictReceivers;
  const deliveryLogs = new DeliveryLogs(engine, log, () => strictReceivers);
  deliveryLogs.configure(config.deliveryLog);
  const registry = new MapRegistry(config.maps, engine, answerPolicy(config), log, counted.answers);
  let limits = serverLimits(config);
  const loop = new LoopWatch().start();
  const server = new SocketmapServer({
    answer: registry.answer,
    limits: () => limits,
    log,
    socketMode: config.socketMode,
    socketGroup: config.socketGroup,
    clock: loop,
  });
  // prom-client and its default metrics take ~30 ms to load: built after listening (or at a first scrape
  // that comes sooner), since nothing before it needs them.
  let metrics: Promise<Metrics> | undefined;
  const metricsOnce = (): Promise<Metrics> =>
    (metrics ??= import('../ops/metrics.js').then(
      ({ Metrics }) =>
        new Metrics(
          {
            connections: () => ({ open: server.connectionCount, idle: server.idleCount, ...server.counters }),
            caches: () => engine.cacheStats,
            probes: () => prober.outcomes,
            logDropped: () => logging.dropped(),
            loopStalls: () => ({ stalls: loop.stalls, seconds: loop.stalledMs / 1000 }),
            budgetRefused: () => ({ dns: dns.refused, probes: prober.refused }),
            freshness: () => ({
              stale: engine.counters.staleAnswers,
              refreshes: { started: engine.counters.refreshesAhead, skipped: engine.counters.refreshesSkipped },
            }),
            shared: shared && (() => ({ ...shared.counters, up: shared.up })),
            identity: () => identity.current,
            interfacesReadable: () => !('problem' in interfaces),
            deliveryLogs: () => ({ ...deliveryLogs.counts, logs: deliveryLogs.states, evidence: engine.evidence.size }),
            reload: () => reloadStatus,
          },
          counted,
        ),
    ));

  let snapshots: SnapshotKeeper | undefined;
  if (config.cacheSnapshot !== '') {
    snapshots = new SnapshotKeeper(
      config.cacheSnapshot,
      engine,
      () => ({ maxTtlMs: config.maxTtl, cacheSize: config.cacheSize, maxEvidence: config.maxEvidence }),
      log,
    );
    // Restored before listening, so the first lookups after a restart are already answered from memory.
    await snapshots.load();
    snapshots.start(config.cacheSnapshotInterval);
  }

  const cap = connectionCap(config, openFileLimit());
  if (cap.warning) log.warn({ evt: 'connection-cap', maxConnections: cap.cap }, cap.warning);
  try {
    if (activated) {
      await server.listenOn(activated);
      log.info(
        { evt: 'socket-activation', sockets: activated.map((s) => s.name) },
        `serving ${activated.length} listening socket(s) passed by systemd; the listen option is not used`,
      );
    } else {
      await server.listen(config.listen);
    }
  } catch (err) {
    await fail(err);
  }
  let serving = true;
  // What /healthz adds after its status: information, never a failure.
  const healthDetails = (): string[] => [
    ...(reloadStatus.successful
      ? []
      : [`last reload failed at ${new Date(reloadStatus.attemptedAt).toISOString()}: ${reloadStatus.error}; serving the configuration loaded before`]),
    ...('problem' in interfaces ? [`interfaces unreadable: ${interfaces.problem}; own addresses from local_addresses and the host name only`] : []),
    ...(config.triggers.includes('sender-ipv6-unready') ? describeIdentity(identity.current) : []),
    ...describeDeliveryLogs(deliveryLogs.states, engine.evidence.size),
  ];
  const ops =
    config.http === undefined
      ? undefined
      : new OpsServer({
          metrics: metricsOnce,
          healthy: () => serving,
          details: healthDetails,
          decisions: new DecisionsView(() => engine.forcedDecisions()),
          domain: (name) =>
            domainReport(name, {
              engine,
              maps: () => config.maps,
              policy: () => answerPolicy(config),
              deadlineMs: () => config.deadline,
              identity: () => (config.triggers.includes('sender-ipv6-unready') ? identity.current : undefined),
            }),
          domainsExposed: isLoopbackHost(config.http.host) || config.httpExposeDomains,
        });
  let httpBound: string | undefined;
  const endpoint = config.http;
  if (ops && endpoint) {
    if (!isLoopbackHost(endpoint.host))
      log.warn(
        { evt: 'listen-exposed', http: endpoint.spec, served: config.httpExposeDomains ? 'all' : 'metrics,healthz' },
        config.httpExposeDomains
          ? 'the operations listener is on a non-loopback address and has no authentication; it serves /metrics, /healthz, and /decisions and /domain (they name recipient domains: http_expose_domains)'
          : 'the operations listener is on a non-loopback address and has no authentication; it serves /metrics and /healthz only (/decisions and /domain name recipient domains: http_expose_domains: true serves them)',
      );
    try {
      httpBound = await ops.listen(endpoint);
    } catch (err) {
      await server.close(0);
      await fail(
        new ListenError(
          `cannot listen on --http ${endpoint.spec}: ${(err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the address is already in use' : (err as Error).message}`,
        ),
      );
    }
  }

  /**
   * Reads the configuration and the override files without holding the event loop, then applies all of it
   * in one synchronous step, so no lookup sees half of a reload.
   */
  const reload = coalesced(async () => {
    let next: Config;
    let lists: PatternLists;
    try {
      next = loadConfig(input.flags, input.configPath);
      // What would stop the next start stops this reload too: the running configuration stays.
      const problems = await systemProblems(next, { activated: activated !== undefined });
      if (problems.length > 0) throw new ConfigError(problems.join('; '));
      // Every list, strict_receivers included, read and checked before anything is applied.
      lists = await loadPatternListsInSlices(next);
    } catch (err) {
      const message = err instanceof Mx4mapError ? err.message : String(err);
      log.error({ evt: 'reload-failed', error: message }, 'configuration reload failed; keeping the running configuration');
      reloadStatus = { ...reloadStatus, successful: false, attemptedAt: Date.now(), error: message, failed: reloadStatus.failed + 1 };
      return;
    }
    reloadStatus = { successful: true, attemptedAt: Date.now(), succeededAt: Date.now(), succeeded: reloadStatus.succeeded + 1, failed: reloadStatus.failed };
    const changed = changedOptions(config, next);
    const needRestart = changed.filter((n) => !OPTIONS[n].reloadable);
    const applied = changed.filter((n) => OPTIONS[n].reloadable);
    // Options that need a restart keep their running value, so the running state stays consistent.
    const merged: Record<string, unknown> = { ...next };
    for (const name of needRestart) merged[name] = config[name];
    config = Object.freeze(merged) as Config;
    limits = serverLimits(config);
    registry.reconfigure(config.maps, answerPolicy(config));
    const effect = engine.reconfigure(engineSettings(config, lists.strictReceivers), lists.overrides);
    localDomains = lists.localDomains;
    strictReceivers = lists.strictReceivers;
    deliveryLogs.configure(config.deliveryLog);
    refreshLocality();
    void checkIdentity();
    log.level = config.logLevel;
    const appliedKeys = applied.map(fileKey);
    const restartKeys = needRestart.map(fileKey);
    const kept = !effect.rule && !effect.overrides;
    log.info(
      { evt: 'reloaded', changed: appliedKeys, restartNeeded: restartKeys, ruleChanged: effect.rule, overridesChanged: effect.overrides },
      `configuration reloaded: ${appliedKeys.length ? `${appliedKeys.join(', ')} changed` : 'nothing changed'}; ${kept ? 'cached decisions kept' : 'cached decisions that depend on what changed are re-checked on their next lookup'}`,
    );
    if (restartKeys.length) log.warn({ evt: 'reload-partial', keys: restartKeys }, `changes to ${restartKeys.join(', ')} take effect after a restart`);
    logging.flush();
  });

  // Signal handlers go in before the "listening" line: whoever acts on that line (systemd, a test) may
  // signal at once, and an unhandled SIGHUP would terminate the process.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ evt: 'shutdown-immediate', signal }, 'second signal; exiting at once');
        void logging.close(200).then(() => process.exit(1));
        return;
      }
      stopping = true;
      serving = false;
      clearInterval(localityTimer);
      identity.stop();
      void deliveryLogs.close();
      void notifySystemd('STOPPING=1', log);
      log.info({ evt: 'shutting-down', signal, connections: server.connectionCount }, 'shutting down: answering requests in flight');
      logging.flush();
      void Promise.all([server.close(config.shutdownGrace), ops?.close()])
        .then(() => snapshots?.stop())
        .then(() => shared?.close())
        .then(() => {
          loop.stop();
          log.info({ evt: 'stopped' }, 'stopped');
          resolve();
        });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => void reload());
  });
  const selinux = selinuxSocketWarning(
    server.bound.filter((b) => b.startsWith('unix:')).map((b) => b.slice('unix:'.length)),
    selinuxEnforcing(),
  );
  if (selinux) log.warn({ evt: 'selinux-unix-socket' }, selinux);
  const configFile = configFileRead(input.configPath);
  const dnsShown = dnsServersOf(config).map(formatDnsServer);
  log.info(
    {
      evt: 'listening',
      version: VERSION,
      config: configFile ?? null,
      listen: server.bound,
      http: httpBound,
      maps: registry.mapNames,
      dns: dnsShown,
      dryRun: config.dryRun || undefined,
      maxConnections: cap.cap,
    },
    `mx4map ${VERSION} listening on ${server.bound.join(', ')}; configuration ${configFile ?? '(none: defaults and flags)'}; DNS ${dnsShown.join(', ') || '(none found)'}; ${describeCap(cap)}${config.dryRun ? '; DRY RUN: every answer is NOTFOUND' : ''}`,
  );
  logging.flush();
  input.onListening?.(server.bound);
  void notifySystemd('READY=1', log);
  if (ops) void metricsOnce();
  await stopped;
  await logging.close();
}
