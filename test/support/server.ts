/** Starts an in-process SocketmapServer on port 0 (and optionally a UNIX socket) for integration tests. */
import { SocketmapServer, type ServerLimits } from '../../src/server/server.js';
import { MapRegistry } from '../../src/maps/registry.js';
import { DEFAULT_POLICY, type AnswerPolicy } from '../../src/maps/format.js';
import { type Decider, leaveEverything } from '../../src/engine/decision.js';
import { defaults } from '../../src/config/options.js';
import { parseEndpoint } from '../../src/protocol/endpoint.js';
import { logSink, type LogSink } from './log-sink.js';
import type { LoopClock } from '../../src/server/loop-watch.js';

export interface TestServer {
  readonly server: SocketmapServer;
  readonly registry: MapRegistry;
  readonly port: number;
  readonly sink: LogSink;
  limits: ServerLimits;
  close(graceMs?: number): Promise<void>;
}

export async function startServer(
  options: {
    decider?: Decider;
    limits?: Partial<ServerLimits>;
    policy?: Partial<AnswerPolicy>;
    unixPath?: string;
    socketMode?: number;
    clock?: LoopClock;
  } = {},
): Promise<TestServer> {
  const sink = logSink();
  const config = defaults();
  const registry = new MapRegistry(config.maps, options.decider ?? leaveEverything, { ...DEFAULT_POLICY, ...options.policy }, sink.log);
  const state = { limits: { ...config, maxConnections: 1000, ...options.limits } as ServerLimits };
  const server = new SocketmapServer({
    answer: registry.answer,
    limits: () => state.limits,
    log: sink.log,
    socketMode: options.socketMode ?? 0o660,
    socketGroup: '',
    clock: options.clock,
  });
  const endpoints = [parseEndpoint('inet:0@127.0.0.1')];
  if (options.unixPath) endpoints.push(parseEndpoint(`unix:${options.unixPath}`));
  await server.listen(endpoints);
  const port = Number(/^inet:(\d+)@/.exec(server.bound[0])?.[1]);
  return {
    server,
    registry,
    port,
    sink,
    get limits() {
      return state.limits;
    },
    set limits(value: ServerLimits) {
      state.limits = value;
    },
    close: (graceMs = 1000) => server.close(graceMs),
  };
}
