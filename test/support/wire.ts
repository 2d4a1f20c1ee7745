/** Raw-socket helpers: talk to a server byte by byte, as sendmail, Postfix or a person at netcat would. */
import { connect, type Socket } from 'node:net';
import { NetstringDecoder } from '../../src/protocol/netstring.js';

export type Target = { port: number; host?: string } | { path: string };

export function open(target: Target): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in target ? connect({ path: target.path }) : connect({ port: target.port, host: target.host ?? '127.0.0.1' });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** A connection that collects reply netstrings and notices when the server closes it. */
export class WireClient {
  readonly replies: string[] = [];
  private readonly chunks: Buffer[] = [];
  closed = false;
  private readonly decoder = new NetstringDecoder(1_000_000);
  private waiters: Array<() => void> = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.decoder.push(chunk, (p) => {
        this.replies.push(p.toString('utf8'));
      });
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async open(target: Target): Promise<WireClient> {
    return new WireClient(await open(target));
  }

  /** Every byte received so far. */
  get raw(): Buffer {
    return Buffer.concat(this.chunks);
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `n` replies have arrived (or rejects if the connection closes first / time runs out). */
  async replyCount(n: number, ms = 5000): Promise<string[]> {
    await this.until(() => this.replies.length >= n || this.closed, ms);
    if (this.replies.length < n) throw new Error(`expected ${n} replies, got ${this.replies.length}: ${JSON.stringify(this.replies)}`);
    return this.replies.slice(0, n);
  }

  async closedByServer(ms = 5000): Promise<void> {
    await this.until(() => this.closed, ms);
    if (!this.closed) throw new Error('server did not close the connection');
  }

  /** Waits for `check` to hold: re-checked on every socket event and every few milliseconds. */
  until(check: () => boolean, ms: number): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => {
      const poll = setInterval(waiter, 5);
      const timer = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        clearInterval(poll);
        self.waiters = self.waiters.filter((w) => w !== waiter);
        resolve();
      }
      function waiter(): void {
        if (check()) done();
      }
      this.waiters.push(waiter);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** One request on a connection of its own: its reply, then the connection closed. */
export async function askOnce(target: Target, request: string): Promise<string> {
  const c = await WireClient.open(target);
  try {
    c.send(ns(request));
    return (await c.replyCount(1))[0];
  } finally {
    c.destroy();
  }
}

export function ns(text: string): string {
  return `${Buffer.byteLength(text)}:${text},`;
}
