/**
 * The socketmap server: its listeners, the set of live connections, the connection cap and shutdown.
 *
 * sendmail keeps one connection per process for the life of the process, mostly idle, and Postfix one per
 * process for up to 100 s: idle connections are the normal case and must never keep a new client out. At
 * the cap, the connection idle longest is closed to admit the new one (an idle sendmail process pays at
 * most one fail-open lookup; the new connection is a process with mail to route now). Busy connections
 * are never evicted; when every connection is busy the new one is closed at once — never held unread,
 * since a request read late would be answered after its client gave up.
 */
import { createServer, type Server, type Socket, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { type Endpoint, formatEndpoint, isLoopback } from '../protocol/endpoint.js';
import { ListenError } from '../errors.js';
import { type Answer, Connection, type ConnectionLimits } from './connection.js';
import { type LoopClock, plainClock } from './loop-watch.js';
import { type UnixListener, bindUnixSocket, passedSocketListening, passedSocketPath, removeOwnSocket } from './unix-socket.js';

export interface ServerLimits extends ConnectionLimits {
  readonly maxConnections: number;
}

export interface ServerOptions {
  readonly answer: Answer;
  /** Read on every use, so a reload applies without a restart. */
  readonly limits: () => ServerLimits;
  readonly log: Logger;
  readonly socketMode: number;
  readonly socketGroup: string;
  /** Dates requests back across event-loop stalls (LoopWatch); a plain clock by default. */
  readonly clock?: LoopClock;
}

/** Kernel accept backlog per listener. */
const BACKLOG = 511;
/**
 * At shutdown, how long an idle connection may still deliver a request it had already sent. Under socket
 * activation the next process takes the connections still in the kernel's queue; those this one had
 * accepted are its to answer.
 */
const LAST_CALL_MS = 250;

/** Figures for /metrics, monotonic. */
export interface ServerCounters {
  protocolErrors: number;
  staleReplies: number;
  evicted: number;
  refused: number;
}

export class SocketmapServer {
  private readonly listeners: Server[] = [];
  private readonly unixSockets: UnixListener[] = [];
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  private stopping = false;
  private onEmpty: (() => void) | undefined;
  private readonly clock: LoopClock;
  private lastRefusalLog = -Infinity;
  private refusedSinceLog = 0;
  /** Bound addresses in socket-spec syntax, for logs and tests. */
  readonly bound: string[] = [];
  readonly counters: ServerCounters = { protocolErrors: 0, staleReplies: 0, evicted: 0, refused: 0 };

  constructor(private readonly options: ServerOptions) {
    this.clock = options.clock ?? plainClock;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Counted when asked (metrics): tracking idleness on every request would cost every request. */
  get idleCount(): number {
    let idle = 0;
    for (const connection of this.connections) if (connection.idle) idle++;
    return idle;
  }

  /** Opens every listener, or none: on failure those already open are closed again. */
  async listen(endpoints: readonly Endpoint[]): Promise<void> {
    try {
      for (const endpoint of endpoints) this.bound.push(await this.listenOne(endpoint));
    } catch (err) {
      await this.close(0);
      throw err;
    }
  }

  /**
   * Serves listening sockets someone else opened (systemd socket activation). They stay theirs: a UNIX
   * socket file is not removed at exit.
   */
  async listenOn(descriptors: readonly { readonly fd: number; readonly name: string }[]): Promise<void> {
    try {
      for (const { fd, name } of descriptors) {
        const what = `passed socket ${fd} (${name})`;
        if (passedSocketListening(fd) === false)
          throw new ListenError(`${what} is not a listening socket bound to an address: check ListenStream= in the socket unit`);
        const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.onSocket(socket));
        this.listeners.push(server);
        await listenOn(server, { fd }, what);
        const address = server.address();
        if (typeof address === 'string') this.bound.push(`unix:${address}`);
        else if (address) {
          const endpoint: Endpoint = { kind: 'inet', family: address.family === 'IPv6' ? 6 : 4, host: address.address, port: address.port, spec: what };
          const spec = formatEndpoint(endpoint);
          this.bound.push(spec);
          if (!isLoopback(endpoint))
            this.options.log.warn(
              { evt: 'listen-exposed', listen: spec, passed: name },
              'a passed socket listens on a non-loopback address: the socketmap protocol has no authentication',
            );
        } else {
          const path = passedSocketPath(fd);
          this.bound.push(path ? `unix:${path}` : `fd:${fd}`);
        }
      }
    } catch (err) {
      await this.close(0);
      throw err;
    }
  }

  private async listenOne(endpoint: Endpoint): Promise<string> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.onSocket(socket));
    this.listeners.push(server);
    if (endpoint.kind === 'unix') {
      const { socketMode, socketGroup } = this.options;
      this.unixSockets.push(
        await bindUnixSocket(endpoint, { mode: socketMode, group: socketGroup }, (path) => listenOn(server, { path, backlog: BACKLOG }, endpoint.spec)),
      );
      return formatEndpoint(endpoint);
    }
    await listenOn(server, { host: endpoint.host, port: endpoint.port, backlog: BACKLOG, ipv6Only: endpoint.family === 6 }, endpoint.spec);
    if (!isLoopback(endpoint)) {
      this.options.log.warn(
        { evt: 'listen-exposed', listen: endpoint.spec },
        'listening on a non-loopback address: the socketmap protocol has no authentication',
      );
    }
    return formatEndpoint(endpoint, (server.address() as AddressInfo).port);
  }

  private onSocket(socket: Socket): void {
    if (this.stopping) {
      // Accepted as the listener closed: the client has sent (or is sending) a request; answer it.
      this.serve(socket).drain(LAST_CALL_MS);
      return;
    }
    if (this.connections.size >= this.options.limits().maxConnections && !this.evictIdlest()) {
      this.refuse(socket);
      return;
    }
    this.serve(socket);
  }

  /**
   * Closes the connection idle longest; false when every connection is busy. A scan, only at the cap: the
   * connections are not kept in order of idleness, which would cost every request a reordering.
   */
  private evictIdlest(): boolean {
    let victim: Connection | undefined;
    for (const connection of this.connections) {
      if (connection.idle && (victim === undefined || connection.lastActive < victim.lastActive)) victim = connection;
    }
    if (!victim) return false;
    this.counters.evicted++;
    victim.evict(this.connections.size);
    // Its descriptor is released now; the set forgets it on its close event.
    return true;
  }

  /** Every connection is busy: the new one is closed at once. Logged at most once a second, with a count. */
  private refuse(socket: Socket): void {
    socket.destroy();
    this.counters.refused++;
    this.refusedSinceLog++;
    const now = this.clock.now();
    if (now - this.lastRefusalLog < 1000) return;
    this.options.log.warn(
      { evt: 'connection-refused', refused: this.refusedSinceLog, connections: this.connections.size },
      'connection cap reached and every connection is busy; closing new connections',
    );
    this.lastRefusalLog = now;
    this.refusedSinceLog = 0;
  }

  private serve(socket: Socket): Connection {
    const id = this.nextId++;
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    const log = this.options.log.child({ conn: id, peer });
    const connection = new Connection(
      socket,
      this.options.answer,
      this.options.limits,
      log,
      {
        onProtocolError: () => this.counters.protocolErrors++,
        onStaleReply: () => this.counters.staleReplies++,
      },
      this.clock,
    );
    this.connections.add(connection);
    log.debug({ evt: 'connect' }, 'connection opened');
    socket.once('close', () => {
      this.connections.delete(connection);
      log.debug({ evt: 'disconnect' }, 'connection closed');
      if (this.connections.size === 0) this.onEmpty?.();
    });
    socket.resume();
    return connection;
  }

  /**
   * Stops accepting, lets every connection answer what it has in flight, and closes them; whatever is still
   * open after `graceMs` is destroyed. Resolves when every socket is closed and our socket files are gone.
   */
  async close(graceMs: number): Promise<void> {
    this.stopping = true;
    const closed = Promise.all(this.listeners.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const connection of this.connections) connection.drain(Math.min(LAST_CALL_MS, graceMs));
    const allClosed = this.connections.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.onEmpty = resolve));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace'>((resolve) => {
      timer = setTimeout(() => resolve('grace'), graceMs);
    });
    const outcome = await Promise.race([allClosed.then(() => 'done' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'grace') {
      this.options.log.warn({ evt: 'shutdown-forced', connections: this.connections.size }, 'grace period over; closing remaining connections');
      for (const connection of this.connections) connection.destroy();
      await allClosed;
    }
    await closed;
    await Promise.all(this.unixSockets.splice(0).map((s) => removeOwnSocket(s, this.options.log)));
  }
}

export function listenOn(server: Server, options: Parameters<Server['listen']>[0], spec: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'the address is already in use'
          : err.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges; socket directories must be writable)'
            : err.code === 'EADDRNOTAVAIL'
              ? 'the address is not on this machine'
              : err.code === 'ENOENT'
                ? 'the directory does not exist'
                : err.message;
      reject(new ListenError(`cannot listen on ${spec}: ${why}`));
    };
    server.once('error', onError);
    server.listen(options, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
