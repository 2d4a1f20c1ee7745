/**
 * `mx4map serve`: wires configuration, logger, map registry and server, and owns the process lifecycle:
 * SIGHUP reloads, SIGTERM/SIGINT drain and exit 0, a second signal exits at once.
 */
import { Config, OPTIONS, fileKey } from '../config/options.js';
import { RawValues, changedOptions, loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { MapRegistry } from '../maps/registry.js';
import { answerPolicy, assembleEngine, engineSettings, loadOverrides } from './assemble.js';
import { Overrides } from '../engine/overrides.js';
import { Metrics } from '../ops/metrics.js';
import { HttpEndpoint, OpsServer, parseHttpListen } from '../ops/http.js';
import { SocketmapServer } from '../server/server.js';
import { ConfigError, ListenError, Mx4mapError } from '../errors.js';
import { SnapshotKeeper } from '../snapshot/keeper.js';
import { directoryProblem } from '../snapshot/file.js';

export interface DaemonInput {
  readonly flags: RawValues;
  readonly configPath: string | undefined;
}

export async function runDaemon(input: DaemonInput): Promise<void> {
  let config = loadConfig(input.flags, input.configPath);
  const logging = createLogger(config.logLevel);
  const { log } = logging;
  // Created below when --http is on; the observers read it lazily.
  let metrics: Metrics | undefined;
  const { engine, prober } = assembleEngine(config, log, { observeQuery: (outcome, ms) => metrics?.dnsQuery(outcome, ms) });
  const registry = new MapRegistry(config.maps, engine, answerPolicy(config), log, (map, answer, reason) => metrics?.lookup(map, answer, reason));
  const server = new SocketmapServer({
    answer: registry.answer,
    limits: () => config,
    log,
    socketMode: config.socketMode,
    socketGroup: config.socketGroup,
  });
  if (config.http !== '') {
    metrics = new Metrics({
      connections: () => ({ open: server.connectionCount, waiting: server.waitingCount, protocolErrors: server.protocolErrors }),
      caches: () => engine.cacheStats,
      probes: () => prober.outcomes,
    });
  }

  let snapshots: SnapshotKeeper | undefined;
  if (config.cacheSnapshot !== '') {
    const problem = await directoryProblem(config.cacheSnapshot);
    if (problem) {
      logging.flush();
      throw new ConfigError(`cache_snapshot ${config.cacheSnapshot}: ${problem}`);
    }
    snapshots = new SnapshotKeeper(config.cacheSnapshot, engine, () => config.maxTtl, log);
    // Restored before listening, so the first lookups after a restart are already answered from memory.
    await snapshots.load();
    snapshots.start(config.cacheSnapshotInterval);
  }

  try {
    await server.listen(config.listen);
  } catch (err) {
    logging.flush();
    throw err;
  }
  let serving = true;
  const ops = metrics && new OpsServer({ metrics, healthy: () => serving, decisions: () => engine.forcedDecisions() });
  let httpBound: string | undefined;
  if (ops) {
    const endpoint = parseHttpListen(config.http) as HttpEndpoint;
    if (!/^(127\.|::1$|localhost$)/.test(endpoint.host)) log.warn({ evt: 'listen-exposed', http: config.http }, 'the operations listener is on a non-loopback address and has no authentication');
    try {
      httpBound = await ops.listen(endpoint);
    } catch (err) {
      await server.close(0);
      logging.flush();
      throw new ListenError(`cannot listen on --http ${config.http}: ${(err as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the address is already in use' : (err as Error).message}`);
    }
  }

  const reload = (): void => {
    let next: Config;
    let overrides: Overrides;
    try {
      next = loadConfig(input.flags, input.configPath);
      overrides = loadOverrides(next); // pattern files are re-read on every reload
    } catch (err) {
      const message = err instanceof Mx4mapError ? err.message : String(err);
      log.error({ evt: 'reload-failed', error: message }, 'configuration reload failed; keeping the running configuration');
      return;
    }
    const changed = changedOptions(config, next);
    const needRestart = changed.filter((n) => !OPTIONS[n].reloadable);
    const applied = changed.filter((n) => OPTIONS[n].reloadable);
    // Options that need a restart keep their running value, so the running state stays consistent.
    const merged: Record<string, unknown> = { ...next };
    for (const name of needRestart) merged[name] = config[name];
    config = Object.freeze(merged) as Config;
    registry.setMaps(config.maps);
    registry.setPolicy(answerPolicy(config));
    engine.reconfigure(engineSettings(config), overrides);
    log.level = config.logLevel;
    const appliedKeys = applied.map(fileKey);
    const restartKeys = needRestart.map(fileKey);
    log.info({ evt: 'reloaded', changed: appliedKeys, restartNeeded: restartKeys }, appliedKeys.length ? `configuration reloaded: ${appliedKeys.join(', ')} changed` : 'configuration reloaded: nothing changed');
    if (restartKeys.length) log.warn({ evt: 'reload-partial', keys: restartKeys }, `changes to ${restartKeys.join(', ')} take effect after a restart`);
  };

  // Signal handlers go in before the "listening" line: whoever acts on that line (systemd, a test) may
  // signal at once, and an unhandled SIGHUP would terminate the process.
  const stopped = new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn({ evt: 'shutdown-immediate', signal }, 'second signal; exiting at once');
        logging.flush();
        process.exit(1);
      }
      stopping = true;
      serving = false;
      log.info({ evt: 'shutting-down', signal, connections: server.connectionCount }, 'shutting down: answering requests in flight');
      void Promise.all([server.close(config.shutdownGrace), ops?.close()])
        .then(() => snapshots?.stop())
        .then(() => {
          log.info({ evt: 'stopped' }, 'stopped');
          resolve();
        });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', reload);
  });
  log.info({ evt: 'listening', listen: server.bound, http: httpBound, maps: registry.mapNames }, `mx4map listening on ${server.bound.join(', ')}`);
  await stopped;
  logging.flush();
}
