/**
 * A socketmap client over one connection, for `query` and `replay`: the same codec as the server, requests
 * pipelined, replies matched to requests in order.
 */
import { connect, type Socket } from 'node:net';
import type { Endpoint } from '../protocol/endpoint.js';
import { NetstringDecoder, NetstringError } from '../protocol/netstring.js';
import { type Reply, encodeRequest, parseReply } from '../protocol/socketmap.js';
import { ClientError } from '../errors.js';
import { showMs } from '../text/values.js';

/** Postfix's reply limit (socketmap_table(5)); nothing we answer comes near it. */
const MAX_REPLY_BYTES = 100_000;

interface Waiter {
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

export class SocketmapClient {
  private readonly decoder = new NetstringDecoder(MAX_REPLY_BYTES);
  private readonly waiters: Waiter[] = [];
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
    private readonly spec: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new ClientError(`connection to ${spec} failed: ${err.message}`)));
    socket.on('close', () => this.fail(new ClientError(`${spec} closed the connection`)));
  }

  static connect(endpoint: Endpoint, timeoutMs: number): Promise<SocketmapClient> {
    return new Promise((resolve, reject) => {
      const socket = endpoint.kind === 'unix' ? connect({ path: endpoint.path }) : connect({ host: endpoint.host, port: endpoint.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ClientError(`no connection to ${endpoint.spec} within ${showMs(timeoutMs)}`));
      }, timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          err.code === 'ECONNREFUSED' ? 'connection refused (is mx4map serve running there?)' : err.code === 'ENOENT' ? 'no such socket file' : err.message;
        reject(new ClientError(`cannot connect to ${endpoint.spec}: ${why}`));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new SocketmapClient(socket, timeoutMs, endpoint.spec));
      });
    });
  }

  /** Sends one request; resolves with its reply. Requests may be issued without waiting (pipelining). */
  request(map: string, key: string): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.socket.write(encodeRequest(map, key));
      this.armTimer();
    });
  }

  close(): void {
    this.failure ??= new ClientError('client closed');
    clearTimeout(this.timer);
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk, (payload) => {
        const waiter = this.waiters.shift();
        const reply = parseReply(payload);
        if (!waiter) throw new ClientError(`${this.spec} sent a reply nobody asked for`);
        if (reply) waiter.resolve(reply);
        else
          waiter.reject(new ClientError(`${this.spec} sent a reply that is not a socketmap reply: ${JSON.stringify(payload.toString('latin1').slice(0, 80))}`));
      });
    } catch (err) {
      const message = err instanceof NetstringError ? `${this.spec} sent a malformed netstring: ${err.message}` : (err as Error).message;
      this.fail(new ClientError(message));
      this.socket.destroy();
      return;
    }
    this.armTimer();
  }

  /** One timer for the oldest outstanding request. */
  private armTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.waiters.length === 0) return;
    this.timer = setTimeout(() => {
      this.fail(new ClientError(`no reply from ${this.spec} within ${showMs(this.timeoutMs)}`));
      this.socket.destroy();
    }, this.timeoutMs);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    clearTimeout(this.timer);
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}
