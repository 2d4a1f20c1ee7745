/**
 * The socketmap server: its listeners, the set of live connections, the connection cap and shutdown.
 */
import { createServer, Server, Socket, AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Endpoint, formatEndpoint, isLoopback } from '../protocol/endpoint.js';
import { ListenError } from '../errors.js';
import { Answer, Connection, ConnectionLimits } from './connection.js';
import { applySocketPermissions, clearStaleSocket } from './unix-socket.js';

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
}

/** Kernel accept backlog; also the most connections we hold unserved past the cap. */
const BACKLOG = 511;

export class SocketmapServer {
  private readonly listeners: Server[] = [];
  private readonly connections = new Set<Connection>();
  /** Accepted past the cap: held unread, served in arrival order as slots free up. */
  private readonly waiting: Socket[] = [];
  private nextId = 1;
  private stopping = false;
  private onEmpty: (() => void) | undefined;
  /** Bound addresses in socket-spec syntax, for logs and tests. */
  readonly bound: string[] = [];
  protocolErrors = 0;

  constructor(private readonly options: ServerOptions) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
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

  private async listenOne(endpoint: Endpoint): Promise<string> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) => this.onSocket(socket));
    this.listeners.push(server);
    if (endpoint.kind === 'unix') {
      await clearStaleSocket(endpoint.path);
      // The socket file is created with the umask's mode: keep it private until its own mode is applied.
      const oldMask = process.umask(0o177);
      try {
        await listenOn(server, { path: endpoint.path, backlog: BACKLOG }, endpoint.spec);
      } finally {
        process.umask(oldMask);
      }
      await applySocketPermissions(endpoint.path, this.options.socketMode, this.options.socketGroup);
      return formatEndpoint(endpoint);
    }
    await listenOn(server, { host: endpoint.host, port: endpoint.port, backlog: BACKLOG, ipv6Only: endpoint.family === 6 }, endpoint.spec);
    if (!isLoopback(endpoint)) {
      this.options.log.warn({ evt: 'listen-exposed', listen: endpoint.spec }, 'listening on a non-loopback address: the socketmap protocol has no authentication');
    }
    return formatEndpoint(endpoint, (server.address() as AddressInfo).port);
  }

  private onSocket(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    if (this.connections.size < this.options.limits().maxConnections) {
      this.serve(socket);
      return;
    }
    if (this.waiting.length >= BACKLOG) {
      this.options.log.warn({ evt: 'connection-refused', connections: this.connections.size }, 'connection cap and wait queue full; closing new connection');
      socket.destroy();
      return;
    }
    // Past the cap the client waits as it would in the kernel backlog: connected, unread, unanswered.
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      const i = this.waiting.indexOf(socket);
      if (i >= 0) this.waiting.splice(i, 1);
    });
    this.waiting.push(socket);
  }

  private serve(socket: Socket): void {
    const id = this.nextId++;
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    const log = this.options.log.child({ conn: id, peer });
    const connection = new Connection(socket, this.options.answer, this.options.limits, log, {
      onProtocolError: () => this.protocolErrors++,
    });
    this.connections.add(connection);
    log.debug({ evt: 'connect' }, 'connection opened');
    socket.once('close', () => {
      this.connections.delete(connection);
      log.debug({ evt: 'disconnect' }, 'connection closed');
      this.admitWaiting();
      if (this.connections.size === 0) this.onEmpty?.();
    });
    socket.resume();
  }

  private admitWaiting(): void {
    while (!this.stopping && this.waiting.length > 0 && this.connections.size < this.options.limits().maxConnections) {
      const socket = this.waiting.shift() as Socket;
      socket.removeAllListeners('close');
      socket.removeAllListeners('error');
      if (!socket.destroyed) this.serve(socket);
    }
  }

  /**
   * Stops accepting, lets every connection answer what it has in flight, and closes them; whatever is still
   * open after `graceMs` is destroyed. Resolves when every socket is closed.
   */
  async close(graceMs: number): Promise<void> {
    this.stopping = true;
    const closed = Promise.all(this.listeners.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const socket of this.waiting.splice(0)) socket.destroy();
    for (const connection of this.connections) connection.drain();
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
  }
}

function listenOn(server: Server, options: Parameters<Server['listen']>[0], spec: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const why =
        err.code === 'EADDRINUSE' ? 'the address is already in use'
        : err.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges; socket directories must be writable)'
        : err.code === 'EADDRNOTAVAIL' ? 'the address is not on this machine'
        : err.code === 'ENOENT' ? 'the directory does not exist'
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
