/**
 * UDP sockets for DNS queries, shared and short-lived. Creating, binding and closing a socket per query
 * took a fifth of the CPU of a cold decision; here a few sockets per address family carry many queries.
 *
 * Spoofing resistance stays that of a random source port and a random ID per query, checked with the
 * server's address and the question: each socket is bound by the kernel to a random port and retired
 * after RETIRE_AFTER queries or RETIRE_MS, whichever comes first, so a port is never guessable for long
 * (an off-path attacker must still match port, ID and question within one query's lifetime). Replies are
 * matched to their query by ID and then checked exactly as before; a socket idle for IDLE_MS is closed.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { type Expected, matchesQuery } from './message.js';

const SOCKETS_PER_FAMILY = 4;
const RETIRE_AFTER = 128;
const RETIRE_MS = 10_000;
const IDLE_MS = 1000;

export interface UdpServer {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export type UdpOutcome = { readonly ok: true; readonly bytes: Buffer } | { readonly ok: false; readonly timeout?: true; readonly detail: string };

interface Waiting {
  readonly server: UdpServer;
  readonly expected: Expected;
  readonly done: (outcome: UdpOutcome) => void;
}

class PooledSocket {
  readonly socket: Socket;
  readonly pending = new Map<number, Waiting>();
  private readonly born = performance.now();
  private sent = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  closed = false;

  constructor(
    family: 4 | 6,
    private readonly onClosed: (s: PooledSocket) => void,
  ) {
    this.socket = createSocket(family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (message: Buffer, from: RemoteInfo) => this.onMessage(message, from));
    this.socket.on('error', (err) => this.fail(`${err.message}`));
  }

  /** Still taking new queries: young, not worn, open. */
  get usable(): boolean {
    return !this.closed && this.sent < RETIRE_AFTER && performance.now() - this.born < RETIRE_MS;
  }

  /** Sends a query whose ID is not in use on this socket (`encode` builds it for an ID). */
  send(
    server: UdpServer,
    expected: (id: number) => Expected,
    encode: (id: number) => Buffer,
    randomId: () => number,
    done: (outcome: UdpOutcome) => void,
  ): () => void {
    let id = randomId();
    while (this.pending.has(id)) id = randomId();
    const waiting: Waiting = { server, expected: expected(id), done };
    this.pending.set(id, waiting);
    this.sent++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.socket.ref();
    this.socket.send(encode(id), server.port, server.host, (err) => {
      if (err) this.settle(id, waiting, { ok: false, detail: `${err.message} (${server.host})` });
    });
    return () => this.settle(id, waiting, undefined);
  }

  private onMessage(message: Buffer, from: RemoteInfo): void {
    if (message.length < 2) return;
    const id = message.readUInt16BE(0);
    const waiting = this.pending.get(id);
    // From the server asked (its address as node writes it), for our question: anything else is ignored.
    if (!waiting || from.port !== waiting.server.port || from.address !== waiting.server.host || !matchesQuery(message, waiting.expected)) return;
    this.settle(id, waiting, { ok: true, bytes: message });
  }

  /** Ends one query (with an outcome, or quietly when its owner gave up). */
  private settle(id: number, waiting: Waiting, outcome: UdpOutcome | undefined): void {
    if (this.pending.get(id) !== waiting) return;
    this.pending.delete(id);
    if (outcome) waiting.done(outcome);
    this.closeIfDone();
  }

  private fail(detail: string): void {
    for (const [id, waiting] of [...this.pending]) this.settle(id, waiting, { ok: false, detail: `${detail} (${waiting.server.host})` });
    this.close();
  }

  private closeIfDone(): void {
    if (this.pending.size > 0 || this.closed) return;
    if (!this.usable) {
      this.close();
      return;
    }
    // Kept for the next query, but an idle socket does not keep the process alive (`lookup` exits at once).
    this.socket.unref();
    this.idleTimer ??= setTimeout(() => this.close(), IDLE_MS).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.socket.close();
    this.onClosed(this);
  }

  /** Retires a worn socket once its last reply is in. */
  retireWhenDone(): void {
    if (this.pending.size === 0) this.close();
  }
}

export class UdpPool {
  private readonly sockets: Record<4 | 6, PooledSocket[]> = { 4: [], 6: [] };
  private next = 0;

  constructor(private readonly randomId: () => number) {}

  /** One exchange: resolves with the reply's bytes (already matched to the query), or a failure. */
  exchange(server: UdpServer, encode: (id: number) => Buffer, expected: (id: number) => Expected, timeoutMs: number): Promise<UdpOutcome> {
    return new Promise((resolve) => {
      const socket = this.pick(server.family);
      let timer: NodeJS.Timeout | undefined;
      const cancel = socket.send(server, expected, encode, this.randomId, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      timer = setTimeout(() => {
        cancel();
        resolve({ ok: false, timeout: true, detail: `timeout after ${timeoutMs} ms from ${server.host}` });
      }, timeoutMs);
    });
  }

  private pick(family: 4 | 6): PooledSocket {
    const list = this.sockets[family];
    for (const s of [...list]) if (!s.usable) s.retireWhenDone();
    const live = list.filter((s) => s.usable);
    if (live.length < SOCKETS_PER_FAMILY) {
      const created = new PooledSocket(family, (closed) => {
        const i = list.indexOf(closed);
        if (i >= 0) list.splice(i, 1);
      });
      list.push(created);
      return created;
    }
    this.next = (this.next + 1) % live.length;
    return live[this.next];
  }
}
