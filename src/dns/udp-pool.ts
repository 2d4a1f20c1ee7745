/**
 * UDP sockets for DNS queries, shared and short-lived. Creating, binding and closing a socket per query
 * took a fifth of the CPU of a cold decision; here a few sockets per DNS server carry many queries.
 *
 * Each socket is connected to its server: the kernel then drops datagrams from any other address or port
 * before we see them, a send needs no address (node resolves the address of every unconnected send, even
 * an IP literal), and a server on this host's loopback that refuses (ICMP port unreachable) fails its
 * queries at once instead of at their timeout. A refusal for any other server is not believed: anyone who
 * guesses one of our source ports can forge that ICMP message, and it would fail every query pending on the
 * socket; those queries wait for their reply or their timeout, as an unconnected socket's did. (Loopback
 * cannot be forged from off this host: the kernel drops such packets arriving on another interface.)
 *
 * Spoofing resistance stays that of a random source port and a random ID per query, checked with the
 * server's address and the question: each socket is bound by the kernel to a random port and retired
 * after RETIRE_AFTER queries or RETIRE_MS, whichever comes first, so a port is never guessable for long
 * (an off-path attacker must still match port, ID and question within one query's lifetime). Replies are
 * matched to their query by ID and then checked exactly as before; a socket idle for IDLE_MS is closed.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isLoopbackHost } from '../net/loopback.js';
import { type Expected, matchesQuery } from './message.js';

const SOCKETS_PER_SERVER = 4;
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
  readonly expected: Expected;
  readonly done: (outcome: UdpOutcome) => void;
}

class PooledSocket {
  readonly socket: Socket;
  readonly pending = new Map<number, Waiting>();
  private readonly born = performance.now();
  private sent = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Queries written before the connect completed, sent once it has. */
  private unsent: Buffer[] | undefined = [];
  closed = false;
  private readonly believesRefusals: boolean;

  constructor(
    readonly server: UdpServer,
    private readonly onClosed: (s: PooledSocket) => void,
  ) {
    this.believesRefusals = isLoopbackHost(server.host);
    this.socket = createSocket(server.family === 6 ? 'udp6' : 'udp4');
    this.socket.on('message', (message: Buffer, from: RemoteInfo) => this.onMessage(message, from));
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      // An error read from the socket (recvmsg) is an ICMP message about an earlier datagram.
      if (err.syscall === 'recvmsg' && !this.believesRefusals) return;
      this.fail(`${err.message}`);
    });
    this.socket.connect(server.port, server.host, () => {
      const unsent = this.unsent ?? [];
      this.unsent = undefined;
      for (const query of unsent) this.write(query);
    });
  }

  /**
   * No send callback: node would queue one per datagram. A send the kernel refuses at once is then not
   * reported and its query ends at its timeout; a refusal from the server comes as an 'error' (above).
   */
  private write(query: Buffer): void {
    if (this.closed) return;
    if (this.unsent) this.unsent.push(query);
    else this.socket.send(query);
  }

  /** Still taking new queries: young, not worn, open. */
  usable(now: number): boolean {
    return !this.closed && this.sent < RETIRE_AFTER && now - this.born < RETIRE_MS;
  }

  /** Sends a query whose ID is not in use on this socket (`encode` builds it for an ID). */
  send(expected: (id: number) => Expected, encode: (id: number) => Buffer, randomId: () => number, done: (outcome: UdpOutcome) => void): () => void {
    let id = randomId();
    while (this.pending.has(id)) id = randomId();
    const waiting: Waiting = { expected: expected(id), done };
    this.pending.set(id, waiting);
    this.sent++;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.socket.ref();
    this.write(encode(id));
    return () => this.settle(id, waiting, undefined);
  }

  private onMessage(message: Buffer, from: RemoteInfo): void {
    if (message.length < 2) return;
    const id = message.readUInt16BE(0);
    const waiting = this.pending.get(id);
    // From the server asked (the kernel checks too: the socket is connected to it), for our question.
    if (!waiting || from.port !== this.server.port || from.address !== this.server.host || !matchesQuery(message, waiting.expected)) return;
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
    for (const [id, waiting] of [...this.pending]) this.settle(id, waiting, { ok: false, detail: `${detail} (${this.server.host})` });
    this.close();
  }

  private closeIfDone(): void {
    if (this.pending.size > 0 || this.closed) return;
    if (!this.usable(performance.now())) {
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
  /** Sockets by server (the client's own server objects, the same for every query). */
  private readonly sockets = new Map<UdpServer, PooledSocket[]>();
  private next = 0;

  constructor(private readonly randomId: () => number) {}

  /** One exchange: resolves with the reply's bytes (already matched to the query), or a failure. */
  exchange(server: UdpServer, encode: (id: number) => Buffer, expected: (id: number) => Expected, timeoutMs: number): Promise<UdpOutcome> {
    return new Promise((resolve) => {
      const socket = this.pick(server);
      let timer: NodeJS.Timeout | undefined;
      const cancel = socket.send(expected, encode, this.randomId, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      timer = setTimeout(() => {
        cancel();
        resolve({ ok: false, timeout: true, detail: `timeout after ${timeoutMs} ms from ${server.host}` });
      }, timeoutMs);
    });
  }

  private pick(server: UdpServer): PooledSocket {
    let list = this.sockets.get(server);
    if (!list) {
      list = [];
      this.sockets.set(server, list);
    }
    // Worn sockets retire (closing once their last reply is in, which takes them off the list).
    const now = performance.now();
    let live = 0;
    for (let i = list.length - 1; i >= 0; i--) {
      if (list[i].usable(now)) live++;
      else list[i].retireWhenDone();
    }
    if (live < SOCKETS_PER_SERVER) {
      const sockets = list;
      const created = new PooledSocket(server, (closed) => {
        const i = sockets.indexOf(closed);
        if (i >= 0) sockets.splice(i, 1);
        if (sockets.length === 0 && this.sockets.get(server) === sockets) this.sockets.delete(server);
      });
      list.push(created);
      return created;
    }
    // Round robin over the usable ones.
    for (let tries = 0; tries < list.length; tries++) {
      this.next = (this.next + 1) % list.length;
      if (list[this.next].usable(now)) return list[this.next];
    }
    return list[0];
  }
}
