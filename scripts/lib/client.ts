/**
 * A client connection for the scripts (fuzz, soak): decodes the server's reply netstrings, counts them
 * (and keeps them when asked), notes a close in the middle of a reply, and wakes whoever waits on it.
 */
import { connect, type Socket } from 'node:net';
import { NetstringDecoder } from '../../src/protocol/netstring.js';

export interface ClientOptions {
  /** Keep every reply's text (fuzz checks each); a soak of millions only counts them. */
  readonly keep?: boolean;
  /** Bytes from the server that are not netstrings; the connection is destroyed after. */
  readonly onMalformed?: (message: string) => void;
}

export class ScriptClient {
  replies = 0;
  readonly kept: string[] = [];
  closed = false;
  /** The server closed the connection in the middle of a reply. */
  partialAtClose = false;
  private readonly decoder = new NetstringDecoder(1_000_000);
  private wake: (() => void) | undefined;

  private constructor(
    readonly socket: Socket,
    options: ClientOptions,
  ) {
    const onReply = options.keep ? (p: Buffer) => void (this.replies++, this.kept.push(p.toString('latin1'))) : () => void this.replies++;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk, onReply);
      } catch (err) {
        options.onMalformed?.(`server sent bytes that are not a netstring: ${(err as Error).message}`);
        socket.destroy();
      }
      this.wake?.();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.partialAtClose = this.decoder.midFrame;
      this.wake?.();
    });
  }

  static open(port: number, options: ClientOptions = {}): Promise<ScriptClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' });
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(new ScriptClient(socket, options)));
      socket.once('error', reject);
    });
  }

  /** Resolves when `done` holds (re-checked on every reply and on close), or rejects after `ms`. */
  async until(done: () => boolean, ms: number): Promise<void> {
    const deadline = performance.now() + ms;
    while (!done()) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error('timeout');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}

/** The q-quantile of some measurements (q = 1 is the largest). */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}
